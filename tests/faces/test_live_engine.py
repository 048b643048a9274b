"""The live engine: distinct-face counting and watchlist matching that keeps only matches (the camera worker's
frames reach it through :mod:`vigil.faces.live_watch`, tested in tests/faces/test_live_watch.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from tests.faces.live_builders import face_video, grace_hopper
from vigil.errors import InvalidInput
from vigil.faces.live_engine import FaceCounter, LiveMatcher, WatchlistVectors
from vigil.vision.faces.embed import l2_normalise
from vigil.vision.faces.recognizer import FaceRecognizer, default_recognizer


@pytest.fixture(scope="module")
def recognizer() -> FaceRecognizer:
    return default_recognizer(threads=1)


def _watchlist(*embeddings: np.ndarray) -> WatchlistVectors:
    n = len(embeddings)
    return WatchlistVectors(
        entry_ids=np.arange(10, 10 + n, dtype=np.int64),
        subject_ids=np.arange(100, 100 + n, dtype=np.int64),
        embeddings=np.stack(embeddings).astype(np.float32),
        model="mobilefacenet",
    )


def _strangers(n: int, dim: int = 192) -> list[np.ndarray]:
    return list(l2_normalise(np.random.default_rng(0).normal(size=(n, dim))))


def _frames(video: Path) -> Iterator[tuple[np.ndarray, float]]:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            yield np.asarray(frame.to_ndarray(format="bgr24"), np.uint8), float(frame.time or 0.0)


def test_a_face_followed_across_frames_counts_once() -> None:
    counter = FaceCounter(max_gap_s=1.0)
    box = np.array([[100, 100, 150, 160]], np.float32)
    assert counter.update(box, 0.0) == 1
    assert counter.update(box + 5, 0.2) == 0, "moved a little: the same face"
    two = np.vstack([box + 10, [[400, 100, 450, 160]]]).astype(np.float32)
    assert counter.update(two, 0.4) == 1, "a second face appears"
    assert counter.update(np.zeros((0, 4), np.float32), 0.6) == 0
    assert counter.update(box, 3.0) == 1, "after a long gap a face in the same place counts as new"
    assert counter.total == 3


def test_the_enrolled_face_matches_and_strangers_leave_no_crop(recognizer: FaceRecognizer) -> None:
    portrait = grace_hopper()
    enrolled = recognizer.analyse(portrait)
    assert len(enrolled) == 1
    frame = np.full((480, 800, 3), 90, np.uint8)
    small = portrait[::2, ::2]
    frame[100 : 100 + small.shape[0], 300 : 300 + small.shape[1]] = small

    matcher = LiveMatcher(
        recognizer=recognizer, watchlist=_watchlist(*_strangers(3), enrolled.embeddings[0]), threshold=0.5
    )
    outcome = matcher.process(frame, 0.0)
    assert (outcome.faces, outcome.new_faces) == (1, 1)
    [match] = outcome.matches
    assert (match.entry_id, match.subject_id) == (13, 103)
    assert match.score > 0.8 and match.crop.size > 0
    assert 300 <= match.box[0] < match.box[2] <= 300 + small.shape[1]
    assert matcher.process(frame, 2.0).matches == (), "the same subject again within the cooldown: one alert"
    assert len(matcher.process(frame, 12.5).matches) == 1, "after the cooldown a new alert"

    strangers = LiveMatcher(recognizer=recognizer, watchlist=_watchlist(*_strangers(5)), threshold=0.5)
    outcome = strangers.process(frame, 0.0)
    assert (outcome.faces, outcome.matches) == (1, ())
    assert strangers.counter.total == 1, "only a count is kept of a face that matches no one"


@pytest.mark.parametrize(
    ("threshold", "entries", "message"),
    [(0.5, 0, "watchlist is empty"), (1.2, 1, "between 0 and 1"), (0.0, 1, "between 0 and 1")],
)
def test_a_matcher_refuses_an_empty_list_or_a_bad_threshold(
    recognizer: FaceRecognizer, threshold: float, entries: int, message: str
) -> None:
    watchlist = _watchlist(*_strangers(entries)) if entries else _watchlist(*_strangers(1))
    if not entries:
        watchlist = WatchlistVectors(
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 192), np.float32), "mobilefacenet"
        )
    with pytest.raises(InvalidInput, match=message):
        LiveMatcher(recognizer=recognizer, watchlist=watchlist, threshold=threshold)


def test_a_video_is_matched_frame_by_frame_with_one_alert_per_subject(
    recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    portrait = grace_hopper()
    video = face_video(tmp_path / "live.mp4", portrait=portrait, present=range(10, 25), frames=30)
    enrolled = recognizer.analyse(portrait).embeddings[0]
    matcher = LiveMatcher(recognizer=recognizer, watchlist=_watchlist(enrolled), threshold=0.5)
    matches, times = [], []
    for image, stream_s in _frames(video):
        times.append(stream_s)
        matches.extend(matcher.process(image, stream_s).matches)
    assert len(times) == 30
    assert len(matches) == 1, "one alert for the one subject (cooldown)"
    assert 1.0 <= matches[0].stream_s <= 2.5, "raised while the face is in view (frames 10-24)"
    assert matcher.counter.total >= 1
