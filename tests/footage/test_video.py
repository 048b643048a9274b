from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest

from tests.conftest import shared_data_dir
from tests.footage.builders import SQUARE, make_video, square_left
from vigil.footage.video import iter_frames, open_video


@pytest.mark.parametrize(("name", "codec"), [("clip.avi", "mpeg4"), ("clip.mp4", "libx264")])
def test_frames_are_bgr_in_order_with_their_times(tmp_path: Path, name: str, codec: str) -> None:
    path = make_video(tmp_path / name, codec=codec, fps=10, seconds=2, size=(64, 48))
    frames = list(iter_frames(path))
    assert [f.index for f in frames] == list(range(20))
    assert [f.timestamp for f in frames] == pytest.approx([i / 10 for i in range(20)])
    for frame in frames:
        assert frame.image.shape == (48, 64, 3)
        # the square is red in BGR order, where the builder drew it
        blue, green, red = frame.image[4 + SQUARE // 2, square_left(frame.index, 64) + SQUARE // 2]
        assert red > 180 and blue < 90 and green < 90


def test_every_nth_frame(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.avi", fps=10, seconds=2)
    assert [f.index for f in iter_frames(path, every=5)] == [0, 5, 10, 15]
    with open_video(path) as video, pytest.raises(ValueError, match="at least 1"):
        next(video.frames(every=0))


def test_open_video_reports_rate_and_size(tmp_path: Path) -> None:
    with open_video(make_video(tmp_path / "clip.mkv", fps=10, size=(64, 48))) as video:
        assert (video.fps, video.size) == (10.0, (64, 48))


@pytest.mark.data
@pytest.mark.skipif(not shared_data_dir().is_dir(), reason="../shared/data is absent")
def test_avi_with_b_frames_is_timed_by_frame_index() -> None:
    # vtest.avi is H.264 with B-frames in AVI: FFmpeg's guessed timestamps come out of order there.
    with open_video(shared_data_dir() / "pets09-s2l1/vtest.avi") as video:
        frames = list(islice(video.frames(), 30))
    assert [f.timestamp for f in frames] == pytest.approx([i / 10 for i in range(30)])
