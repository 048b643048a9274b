"""The appearance index and search by example: exact top-k (by a full scan, or pruned by the reduced copy of a
large index), staying in step with the database, filters, photos."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.analysed import SCENE_START, analysed_footage, make_footage, make_track
from tests.support.builders import make_camera, make_user
from tests.support.scenes import BlobDetector, crossing_scene
from vigil.db.models import AuditEntry, Footage, Track
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.search.query.track_query import TrackQuery
from vigil.search.similarity.by_example import similar_to_image, similar_to_track
from vigil.search.similarity.index import SimilarityIndex
from vigil.search.similarity.vectors import DIM, REDUCED, fit_components, pruned_top, reduce_rows, scanned_top
from vigil.settings import Settings

CONTEXT = AuditContext(case_ref="CUM-2026-000303", purpose="find the robbery suspect on other cameras")


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _clustered(rng: np.random.Generator, n: int, *, outfits: int = 40) -> np.ndarray:
    """Unit vectors in clusters spread over a 16-dimensional subspace plus a little noise in every dimension: like
    appearance vectors, most of their spread lies in a few principal directions (the reduced copy's premise)."""
    plane = _unit(np.random.default_rng(777), 16)
    centres = np.random.default_rng(778).standard_normal((outfits, 16))
    which = rng.integers(0, outfits, n)
    rows = (centres[which] + 0.35 * rng.standard_normal((n, 16))) @ plane + 0.03 * rng.standard_normal((n, DIM))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _synthetic(
    db: Session, tmp_path: Path, n: int, *, seed: int = 0, vectors: np.ndarray | None = None
) -> tuple[Footage, list[Track], np.ndarray]:
    user = make_user(db, "ingester", trained_for=("analytics",))
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded by these tests")
    footage = make_footage(db, camera=make_camera(db, "PEN-09"), user=user, video=video, data_dir=tmp_path / "data")
    vectors = _unit(np.random.default_rng(seed), n) if vectors is None else vectors
    tracks = []
    for vector in vectors:
        track = make_track(db, footage)
        track.appearance = vector.tobytes()
        tracks.append(track)
    db.flush()
    return footage, tracks, vectors


def _exact(vectors: np.ndarray, ids: list[int], query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    order = sorted(range(len(ids)), key=lambda i: (-scores[i], ids[i]))
    return [ids[i] for i in order[:k]]


def test_the_index_returns_the_exact_top_k(db: Session, tmp_path: Path) -> None:
    _, tracks, vectors = _synthetic(db, tmp_path, 300)
    ids = [t.id for t in tracks]
    index = SimilarityIndex(tmp_path / "index")
    assert index.sync(db) == 300
    queries = _unit(np.random.default_rng(1), 5)
    for query in queries:
        found = index.search(db, query, k=25)
        assert [n.track_id for n in found] == _exact(vectors, ids, query, 25)
        expected_scores = np.sort(vectors @ query)[::-1][:25]
        np.testing.assert_allclose([n.score for n in found], expected_scores, rtol=1e-5)
        assert [i for i, _ in index.top_k(query, k=25)] == _exact(vectors, ids, query, 25)


def test_new_tracks_are_indexed_on_the_next_search_and_files_survive_a_new_instance(
    db: Session, tmp_path: Path
) -> None:
    footage, tracks, vectors = _synthetic(db, tmp_path, 40)
    index = SimilarityIndex(tmp_path / "index")
    index.sync(db)
    newcomer = make_track(db, footage)
    newcomer.appearance = vectors[3].tobytes()  # a twin of track 3
    db.flush()
    found = index.search(db, vectors[3], k=2)
    assert {n.track_id for n in found} == {tracks[3].id, newcomer.id}
    reopened = SimilarityIndex(tmp_path / "index")
    assert reopened.sync(db) == 0 and len(reopened) == 41


def test_deleted_tracks_are_never_returned(db: Session, tmp_path: Path) -> None:
    _, tracks, vectors = _synthetic(db, tmp_path, 60)
    index = SimilarityIndex(tmp_path / "index")
    index.sync(db)
    doomed = [tracks[i].id for i in range(0, 60, 2)]  # half, including the best matches below
    for track_id in doomed:
        db.delete(db.get(Track, track_id))
    db.flush()
    for i in (0, 2, 4):
        found = index.search(db, vectors[i], k=20)
        assert len(found) == 20
        assert not {n.track_id for n in found} & set(doomed)
    assert len(index.search(db, vectors[0], k=50)) == 30  # only the live ones, however many are asked for


def test_a_changed_or_reused_id_is_detected_and_the_index_rebuilt(db: Session, tmp_path: Path) -> None:
    _, tracks, vectors = _synthetic(db, tmp_path, 10)
    index = SimilarityIndex(tmp_path / "index")
    index.sync(db)
    # SQLite gives the next row the id of the highest one if that was deleted: the index sees the same id with
    # another vector, as here.
    tracks[-1].appearance = vectors[0].tobytes()
    db.flush()
    found = index.search(db, vectors[0], k=2)
    assert {n.track_id for n in found} == {tracks[0].id, tracks[-1].id}
    assert all(n.score == pytest.approx(1.0, abs=1e-5) for n in found)
    assert [i for i, _ in index.top_k(vectors[0], k=2)] == [tracks[0].id, tracks[-1].id]  # rebuilt, not re-scored


def test_a_rebuild_by_another_process_is_picked_up(db: Session, tmp_path: Path) -> None:
    _, tracks, vectors = _synthetic(db, tmp_path, 30)
    web, cli = SimilarityIndex(tmp_path / "index"), SimilarityIndex(tmp_path / "index")
    web.sync(db)
    assert web.top_k(vectors[4], k=1) == [(tracks[4].id, pytest.approx(1.0, abs=1e-5))]
    db.delete(db.get(Track, tracks[4].id))
    db.flush()
    assert cli.rebuild(db) == 29
    assert web.search(db, vectors[4], k=1)[0].track_id != tracks[4].id
    assert len(web) == 29 and tracks[4].id not in [i for i, _ in web.top_k(vectors[4], k=29)]


def test_allowed_ids_are_respected(db: Session, tmp_path: Path) -> None:
    _, tracks, vectors = _synthetic(db, tmp_path, 200)
    ids = [t.id for t in tracks]
    index = SimilarityIndex(tmp_path / "index")
    allowed = ids[1::7]
    rows = [ids.index(i) for i in allowed]
    found = index.search(db, vectors[0], k=10, allowed_ids=np.array([*allowed, 10**9]))
    assert [n.track_id for n in found] == _exact(vectors[rows], allowed, vectors[0], 10)
    assert index.search(db, vectors[0], k=10, allowed_ids=np.array([], dtype=np.int64)) == []


def test_a_large_index_prunes_with_its_reduced_copy_and_stays_exact(db: Session, tmp_path: Path) -> None:
    n = 1200
    footage, tracks, vectors = _synthetic(db, tmp_path, n, vectors=_clustered(np.random.default_rng(2), n, outfits=20))
    ids = [t.id for t in tracks]
    index = SimilarityIndex(tmp_path / "index", two_stage_from=1000)
    assert index.sync(db) == n and len(list((tmp_path / "index").glob("reduced-*.f32"))) == 1
    queries = _clustered(np.random.default_rng(3), 4, outfits=20)
    for query in queries:
        bounds = index.upper_bounds(query)
        assert bounds is not None and bounds.shape == (n,)
        exact_scores = vectors @ query
        assert np.all(bounds >= exact_scores - 1e-5)  # never below an exact score: nothing can be pruned wrongly
        kth = np.sort(exact_scores)[-25]
        assert np.count_nonzero(bounds >= kth - 1e-3) < n // 10  # and tight: few rows need their exact score
        found = index.search(db, query, k=25)
        assert [n.track_id for n in found] == _exact(vectors, ids, query, 25)
        np.testing.assert_allclose([n.score for n in found], np.sort(exact_scores)[::-1][:25], rtol=1e-5)
        allowed = [i for i in ids if i % 3]  # a filter keeping most rows is pruned too
        rows = [ids.index(i) for i in allowed]
        assert [i for i, _ in index.top_k(query, 25, allowed)] == _exact(vectors[rows], allowed, query, 25)
    # new tracks get reduced rows with the same components; deleted ones are never returned
    newcomer = make_track(db, footage)
    newcomer.appearance = queries[0].tobytes()
    for i in _exact(vectors, ids, queries[0], 3):
        db.delete(db.get(Track, i))
    db.flush()
    found = index.search(db, queries[0], k=10)
    live = [i for i in ids if i not in set(_exact(vectors, ids, queries[0], 3))]
    expected = _exact(
        np.vstack([vectors[[ids.index(i) for i in live]], queries[0][None]]), [*live, newcomer.id], queries[0], 10
    )
    assert [n.track_id for n in found] == expected and found[0].track_id == newcomer.id
    assert len(list((tmp_path / "index").glob("reduced-*.f32"))) == 1  # appended to, not refitted


def test_the_reduced_copy_is_refitted_as_the_index_grows_and_dropped_by_a_rebuild(tmp_path: Path) -> None:
    vectors = _clustered(np.random.default_rng(4), 5000)
    ids = np.arange(1, 5001, dtype=np.int64) * 2
    index = SimilarityIndex(tmp_path / "index", two_stage_from=1000)
    with index._writer():  # rows as sync appends them, without a database of thousands of tracks
        index._append(ids[:900], vectors[:900])
        assert not list((tmp_path / "index").glob("reduced-*"))  # small: exact scan only
        index._append(ids[900:1200], vectors[900:1200])
        first = {p.name for p in (tmp_path / "index").glob("*-*.f32")}
        index._append(ids[1200:4700], vectors[1200:4700])  # under 4 x 1,200 rows: the same components
        assert {p.name for p in (tmp_path / "index").glob("*-*.f32")} == first
        index._append(ids[4700:], vectors[4700:])  # 5,000 rows: refitted under a new name, the old files gone
        second = {p.name for p in (tmp_path / "index").glob("*-*.f32")}
    assert len(first) == len(second) == 2 and not first & second
    reader = SimilarityIndex(tmp_path / "index", two_stage_from=1000)  # another process maps the same files
    query = _clustered(np.random.default_rng(5), 1)[0]
    assert reader.upper_bounds(query) is None  # nothing mapped before its first search (a search syncs first)
    reader._load()
    assert [i for i, _ in reader.top_k(query, 40)] == _exact(vectors, ids.tolist(), query, 40)
    bounds = reader.upper_bounds(query)
    assert bounds is not None and np.all(bounds >= vectors @ query - 1e-5)
    with index._writer():
        index._clear()
    assert not list((tmp_path / "index").glob("*-*.f32")) and index.upper_bounds(query) is None


def test_pruning_scores_every_row_it_needs_or_gives_way_to_the_full_scan() -> None:
    rng = np.random.default_rng(6)
    ids = np.arange(10, 30_010, dtype=np.int64)
    dead = ids[::97]
    for vectors, tight in ((_clustered(rng, 30_000), True), (_unit(rng, 30_000), False)):
        components = fit_components(vectors)
        assert components.shape == (REDUCED, DIM)
        np.testing.assert_allclose(components @ components.T, np.eye(REDUCED), atol=1e-5)
        reduced = reduce_rows(components, vectors)
        for query in _clustered(rng, 3) if tight else _unit(rng, 3):
            bounds = reduced @ reduce_rows(components, query)[0]
            exact_rows, exact_scores = scanned_top(query, 50, vectors, ids, dead, None)
            pruned = pruned_top(query, 50, vectors, ids, dead, bounds, None)
            if tight:
                assert pruned is not None
                assert pruned[0].tolist() == exact_rows.tolist() and not set(ids[pruned[0]]) & set(dead)
                np.testing.assert_allclose(pruned[1], exact_scores, rtol=1e-6)
            else:  # random directions in 128 dimensions: 32 components bound nothing, so no pruning
                assert pruned is None


@pytest.mark.parametrize(
    ("vector", "message"),
    [(np.zeros(DIM), "no usable appearance"), (np.ones(5), "128 finite numbers"), ([np.nan] * DIM, "finite")],
)
def test_bad_query_vectors_are_refused(tmp_path: Path, vector: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        SimilarityIndex(tmp_path / "index").top_k(vector)  # type: ignore[arg-type]


def _two_copies(db: Session, settings: Settings) -> tuple[list[Track], list[Track]]:
    first = analysed_footage(db, settings, camera_code="PEN-01")
    second = analysed_footage(
        db, settings, camera_code="PEN-02", start=SCENE_START + timedelta(hours=2), scene_frames=64
    )  # another recording of the scene (not the same file)
    return [list(db.execute(select(Track).where(Track.footage_id == f.id)).scalars()) for f in (first, second)]


def _red(tracks: list[Track]) -> Track:
    return next(t for t in tracks if "red" in t.upper_colours.split(","))


def test_more_like_this_finds_the_same_clothed_figure_in_another_copy(db: Session, settings: Settings) -> None:
    here, there = _two_copies(db, settings)
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref,))
    index = SimilarityIndex.in_data_dir(settings.data_dir)
    source = _red(here)
    result = similar_to_track(
        db=db, user=user, context=CONTEXT, index=index, track_id=source.id, query=TrackQuery(cameras=["PEN-02"])
    )
    assert result.results, "the other copy's figures should be found"
    assert result.results[0].track.id == _red(there).id
    assert all(r.track.camera.code == "PEN-02" for r in result.results)
    unfiltered = similar_to_track(db=db, user=user, context=CONTEXT, index=index, track_id=source.id, k=50)
    assert source.id not in {r.track.id for r in unfiltered.results}
    assert unfiltered.results[0].track.id == _red(there).id
    entry = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    assert (entry.action, entry.case_ref, entry.purpose) == ("search.similar", CONTEXT.case_ref, CONTEXT.purpose)
    details = json.loads(entry.details)
    assert (details["source"], details["track"], details["count"]) == ("track", source.id, len(unfiltered.results))


def test_photo_search_on_a_crop_of_a_generated_figure(db: Session, settings: Settings) -> None:
    _two_copies(db, settings)
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref,))
    index = SimilarityIndex.in_data_dir(settings.data_dir)
    shot = next(s for s in crossing_scene(60) if s.boxes[0] is not None and s.boxes[1] is None)
    x0, y0, x1, y1 = (round(v) for v in shot.boxes[0])  # the red-topped figure, alone in view
    crop = shot.frame.image[max(0, y0 - 15) : y1 + 15, max(0, x0 - 15) : x1 + 15]
    photo = cv2.imencode(".png", crop)[1].tobytes()
    result = similar_to_image(
        db=db, user=user, context=CONTEXT, index=index, detector=BlobDetector(), photo=photo, k=10
    )
    assert result.photo is not None and result.photo.objects[0].class_name == "person"
    assert "red" in result.results[0].track.upper_colours.split(",")
    entry = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    details = json.loads(entry.details)
    assert (details["source"], details["sha256"]) == ("photo", result.photo.sha256)
    assert details["count"] == len(result.results) and details["used"]["class"] == "person"


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (b"", "the uploaded file is empty"),
        (b"%PDF-1.4 not a picture", "not an image vigil can read"),
        (cv2.imencode(".png", np.full((120, 80, 3), 110, np.uint8))[1].tobytes(), "no person or vehicle was found"),
    ],
)
def test_bad_photos_get_clear_errors(db: Session, tmp_path: Path, photo: bytes, message: str) -> None:
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref,))
    index = SimilarityIndex(tmp_path / "index")
    with pytest.raises(InvalidInput, match=message):
        similar_to_image(db=db, user=user, context=CONTEXT, index=index, detector=BlobDetector(), photo=photo)


def test_refusals_and_unknown_tracks(db: Session, tmp_path: Path) -> None:
    _, tracks, _ = _synthetic(db, tmp_path, 3)
    index = SimilarityIndex(tmp_path / "index")
    untrained = make_user(db, "una")
    with pytest.raises(NotPermitted):
        similar_to_track(db=db, user=untrained, context=CONTEXT, index=index, track_id=tracks[0].id)
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref,))
    with pytest.raises(NotFound, match="no track 999999"):
        similar_to_track(db=db, user=user, context=CONTEXT, index=index, track_id=999999)
    tracks[1].appearance = None
    db.flush()
    with pytest.raises(InvalidInput, match="has no appearance vector"):
        similar_to_track(db=db, user=user, context=CONTEXT, index=index, track_id=tracks[1].id)
