"""The live engine: distinct-face counting, watchlist matching that keeps only matches, and stream replay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.faces.live_builders import face_video, grace_hopper
from tests.support.webapp import free_port
from vigil.errors import InvalidInput
from vigil.faces.live_engine import FaceCounter, LatestFrameReader, LiveMatcher, WatchlistVectors
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


def _frames(reader: LatestFrameReader) -> Iterator[tuple[np.ndarray, float]]:
    for frame in reader.frames():
        yield frame.image, frame.stream_s


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


def test_a_file_is_replayed_at_its_own_pace_and_matched_as_a_stream(recognizer: FaceRecognizer, tmp_path: Path) -> None:
    portrait = grace_hopper()
    video = face_video(tmp_path / "live.mp4", portrait=portrait, present=range(10, 25), frames=30)
    enrolled = recognizer.analyse(portrait).embeddings[0]
    matcher = LiveMatcher(recognizer=recognizer, watchlist=_watchlist(enrolled), threshold=0.5)
    reader = LatestFrameReader(str(video), realtime=True).start()
    began = time.monotonic()
    matches, times = [], []
    try:
        for image, stream_s in _frames(reader):
            times.append(stream_s)
            matches.extend(matcher.process(image, stream_s).matches)
    finally:
        reader.stop()
    assert reader.error is None and reader.decoded == 30
    assert time.monotonic() - began >= 2.5, "30 frames at 10 fps are replayed over about 3 seconds, not at once"
    assert times == sorted(times) and len(times) <= 30
    assert len(matches) == 1, "one alert for the one subject (cooldown)"
    assert 1.0 <= matches[0].stream_s <= 2.5, "raised while the face is in view (frames 10-24)"
    assert matcher.counter.total >= 1


def test_a_slow_consumer_gets_the_newest_frame_and_skips_the_rest(tmp_path: Path) -> None:
    video = face_video(tmp_path / "fast.mp4", portrait=np.zeros((20, 20, 3), np.uint8), present=range(0), frames=40)
    reader = LatestFrameReader(str(video), realtime=False).start()
    seen = []
    for frame in reader.frames():
        seen.append(frame.stream_s)
        time.sleep(0.05)
    reader.stop()
    assert reader.decoded == 40 and seen == sorted(seen)
    assert len(seen) < 40 and seen[-1] == pytest.approx(3.9), "frames decoded meanwhile were dropped, not queued"


def test_a_stream_that_cannot_connect_says_so_without_its_credentials(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there: the connection is refused
    url, label = f"rtsp://viewer:hunter2@127.0.0.1:{port}/live", f"rtsp://***@127.0.0.1:{port}/live"
    reader = LatestFrameReader(url, label=label, open_timeout_s=3.0).start()
    assert list(reader.frames()) == []
    assert reader.error is not None and label in reader.error and "hunter2" not in reader.error
    assert "hunter2" not in caplog.text
    with pytest.raises(InvalidInput, match="needs a source"):
        LatestFrameReader("  ")


def test_a_broken_stream_ends_with_an_error_not_a_crash(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    reader = LatestFrameReader(str(junk)).start()
    assert list(reader.frames()) == []
    assert reader.error is not None and "failed" in reader.error
