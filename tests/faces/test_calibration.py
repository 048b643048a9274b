from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import shared_data_dir
from tests.faces.builders import KNN_TRAIN, fr_user
from tests.support.builders import make_user
from vigil.db.models import AuditEntry
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.faces.calibration import (
    THRESHOLDS,
    Calibration,
    ImpostorModel,
    csv_photos,
    estimate_false_alerts,
    folder_photos,
    fpir_warning,
    load_calibration,
    one_in,
    run_calibration,
    save_calibration,
)
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer


def model_of(impostor: list[float]) -> ImpostorModel:
    return ImpostorModel.fit(np.asarray(impostor, dtype=np.float64))


def calibration_with(model: ImpostorModel) -> Calibration:
    return Calibration("mobilefacenet", "2026-11-22T00:00:00", 10, 3, [], 3, 4, 10, 5, 40, model, [], [])


def test_impostor_rate_is_measured_below_the_tail_and_exponential_above() -> None:
    scores = np.random.default_rng(1).normal(0.0, 0.12, 4000)
    model = model_of(scores.tolist())
    assert model.tail_from == pytest.approx(np.quantile(scores, 0.95), abs=1e-5)
    assert model.rate(0.1) == pytest.approx(float(np.mean(scores >= 0.1)), abs=0.01)
    rates = [model.rate(t) for t in np.linspace(-0.5, 1.0, 301)]
    assert all(a >= b for a, b in itertools.pairwise(rates)), "p(T) never rises with the threshold"
    above = model.tail_from + 0.2
    expected = model.tail_rate * np.exp(-0.2 / model.tail_scale)
    assert model.rate(above) == pytest.approx(expected, rel=1e-6)


def test_expected_fpir_grows_with_the_watchlist_and_falls_with_the_threshold() -> None:
    calibration = calibration_with(model_of(np.random.default_rng(2).normal(0.0, 0.12, 4000).tolist()))
    by_size = [calibration.expected_fpir(0.6, n) for n in (1, 10, 100, 1000, 10000)]
    assert by_size == sorted(by_size) and by_size[0] < by_size[-1] < 1
    assert calibration.expected_fpir(0.6, 1) == pytest.approx(calibration.impostor.rate(0.6))
    assert calibration.expected_fpir(0.6, 100) == pytest.approx(1 - (1 - calibration.impostor.rate(0.6)) ** 100)
    assert calibration.expected_fpir(0.6, 0) == 0.0
    by_threshold = [calibration.expected_fpir(t, 1000) for t in (0.4, 0.5, 0.6, 0.7)]
    assert by_threshold == sorted(by_threshold, reverse=True)
    with pytest.raises(InvalidInput):
        calibration.expected_fpir(0.6, -1)


def test_warning_only_above_the_ceiling() -> None:
    calibration = calibration_with(model_of(np.random.default_rng(3).normal(0.0, 0.12, 4000).tolist()))
    small, large = calibration.expected_fpir(0.9, 10), calibration.expected_fpir(0.5, 10000)
    assert fpir_warning(calibration, threshold=0.9, watchlist_size=10, ceiling=max(small, 1e-12) * 2) is None
    warning = fpir_warning(calibration, threshold=0.5, watchlist_size=10000, ceiling=large / 2)
    assert warning is not None and "10,000-person watchlist" in warning and "above the ceiling" in warning


@pytest.mark.parametrize(
    ("rate", "words"),
    [(1 / 6000, "1 in 6,000"), (1 / 6123, "1 in 6,100"), (1 / 37, "1 in 37"), (0.0, "none expected"), (0.94, "94%")],
)
def test_rates_in_words(rate: float, words: str) -> None:
    assert one_in(rate) == words


def test_layouts_are_read_with_identities(tmp_path: Path) -> None:
    for person, count in (("ann", 2), ("bob", 1)):
        (tmp_path / "set" / person).mkdir(parents=True)
        for k in range(count):
            (tmp_path / "set" / person / f"{k}.jpg").write_bytes(b"x")
    (tmp_path / "set" / "loose.png").write_bytes(b"x")
    (tmp_path / "set" / "notes.txt").write_text("not a photo")
    found = sorted((p.path.name, p.identity) for p in folder_photos(tmp_path / "set", "s/"))
    assert found == [("0.jpg", "s/ann"), ("0.jpg", "s/bob"), ("1.jpg", "s/ann"), ("loose.png", "s/loose")]
    (tmp_path / "labels.csv").write_text("image,identity\nset/ann/0.jpg,id1\n")
    assert [(p.path, p.identity) for p in csv_photos(tmp_path / "labels.csv")] == [(tmp_path / "set/ann/0.jpg", "id1")]
    (tmp_path / "bad.csv").write_text("file,who\na,b\n")
    with pytest.raises(InvalidInput, match="'image' and 'identity' columns"):
        csv_photos(tmp_path / "bad.csv")
    with pytest.raises(InvalidInput, match="is not a folder"):
        folder_photos(tmp_path / "missing")


def test_deployment_estimate_reads_the_saved_calibration(settings: Settings) -> None:
    assert estimate_false_alerts(settings, threshold=0.6, watchlist_size=100) is None, "no calibration yet"
    calibration = calibration_with(model_of(np.random.default_rng(4).normal(0.0, 0.12, 4000).tolist()))
    save_calibration(settings, calibration)
    low = estimate_false_alerts(settings, threshold=0.5, watchlist_size=5000)
    high = estimate_false_alerts(settings, threshold=0.95, watchlist_size=5)
    assert low is not None and high is not None
    assert low.expected == pytest.approx(calibration.expected_fpir(0.5, 5000)) and low.in_words == one_in(low.expected)
    assert low.warning is not None and "1 in 10,000" in low.warning, "above the default ceiling of 1 in 10,000"
    assert high.expected < 1e-4 and high.warning is None


def test_no_calibration_yet_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(NotFound, match="vigil fr calibrate"):
        load_calibration(settings)


def test_calibrating_needs_a_trained_user(db: Session, settings: Settings, recognizer: FaceRecognizer) -> None:
    with pytest.raises(NotPermitted):
        run_calibration(db, settings=settings, user=make_user(db, "ned"), recognizer=recognizer, photos=[])


@pytest.mark.data
def test_calibration_on_the_shared_faces(db: Session, settings: Settings, recognizer: FaceRecognizer) -> None:
    data = shared_data_dir()
    if not (data / KNN_TRAIN).is_dir():
        pytest.skip(f"shared data absent: {data}")
    photos = folder_photos(data / KNN_TRAIN, "fr/") + csv_photos(data / "faces-deepface/_derived_identities.csv", "df/")
    user = fr_user(db, "sue", role="supervisor", trained="live_fr")
    calibration, path = run_calibration(db, settings=settings, user=user, recognizer=recognizer, photos=photos)
    assert path == settings.data_dir / "faces" / "calibration.json"
    assert calibration.photos >= 65 and calibration.identities >= 15 and calibration.gallery_size >= 15
    tpir = [p.tpir for p in calibration.curve]
    fpir = [p.fpir for p in calibration.curve]
    assert [p.threshold for p in calibration.curve] == list(THRESHOLDS)
    assert tpir == sorted(tpir, reverse=True) and fpir == sorted(fpir, reverse=True), "curves fall as T rises"
    assert tpir[0] == fpir[0] == 1.0 and fpir[-1] == 0.0
    at_one_percent = {round(p["target_fpir"], 3): p for p in calibration.operating_points}[0.01]
    assert at_one_percent["tpir"] > 0.9, "MobileFaceNet's TPIR at FPIR 1% on these photos is about 98%"
    sizes = [calibration.expected_fpir(0.6, n) for n in (10, 100, 1000, 10000)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    # The tail model agrees with what was measured at the labelled set's own list size where both can be seen.
    for point in calibration.curve:
        if 0.05 <= point.fpir <= 0.5:
            assert point.predicted_at_gallery == pytest.approx(point.fpir, rel=0.35), point
    saved = load_calibration(settings)
    assert saved == calibration and json.loads(path.read_text())["model"] == "mobilefacenet"
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "fr.calibrate")).scalar_one()
    assert entry.actor == "sue" and entry.capability == "live_fr"
