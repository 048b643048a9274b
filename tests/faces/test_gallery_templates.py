"""A watchlist subject enrolled from several photos is scored by one template, the mean of its embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.faces.identify import Gallery
from vigil.faces.live_engine import WatchlistVectors
from vigil.vision.faces.embed import subject_templates


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_each_subject_gets_the_normalised_mean_of_its_entries_in_order_of_first_appearance() -> None:
    vectors = np.stack([unit(1, 0, 0), unit(0, 0, 1), unit(0, 1, 0)])
    templates, subjects = subject_templates(vectors, ["A", "B", "A"])
    assert subjects == ("A", "B")
    np.testing.assert_allclose(templates, np.stack([unit(1, 1, 0), unit(0, 0, 1)]), atol=1e-6)
    assert np.allclose(np.linalg.norm(templates, axis=1), 1.0)


def test_a_stranger_close_to_one_enrolment_photo_scores_against_the_template_not_the_best_photo() -> None:
    # A was enrolled from two dissimilar photos; the probe resembles only the first. A best-photo rule gives it
    # 0.98 (one more photo, one more chance of a false alert); the template gives the mean's similarity.
    vectors = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)])
    templates, subjects = subject_templates(vectors, ["A", "A", "B"])
    gallery = Gallery(templates, subjects, {"A": "wanted", "B": "missing"})
    probe = unit(1, 0, 0.2)
    matches = gallery.best(probe, top=5)
    assert [m.subject for m in matches] == ["A", "B"]
    assert matches[0].score == pytest.approx(float(unit(1, 1, 0) @ probe), abs=1e-4)
    assert matches[0].score < 0.75 and matches[0].category == "wanted"


def test_an_empty_gallery_matches_no_one() -> None:
    templates, subjects = subject_templates(np.zeros((0, 4), np.float32), [])
    assert templates.shape == (0, 4) and subjects == ()
    assert Gallery(templates, subjects, {}).best(unit(1, 0, 0, 0), top=3) == ()


def test_live_matching_scores_the_subject_template_and_reports_its_closest_entry() -> None:
    watchlist = WatchlistVectors(
        entry_ids=np.array([10, 11, 12], np.int64),
        subject_ids=np.array([100, 100, 200], np.int64),
        embeddings=np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)]),
        model="mobilefacenet",
    )
    probes = np.stack([unit(0.2, 1, 0), unit(0, 0.1, 1)])
    rows, scores = watchlist.best(probes)
    assert watchlist.entry_ids[rows].tolist() == [11, 12]  # subject 100's second photo is the closer one
    assert scores[0] == pytest.approx(float(unit(1, 1, 0) @ probes[0]), abs=1e-5)  # not 0.98, the best photo's
    assert scores[1] == pytest.approx(float(unit(0, 0, 1) @ probes[1]), abs=1e-5)
