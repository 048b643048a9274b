from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import shared_data_dir
from tests.footage.builders import damaged_header_avi, make_audio, make_video, truncate, zipped_video
from vigil.errors import InvalidInput
from vigil.footage.probe import probe_video

TAG = datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "codec", "container"),
    [
        ("clip.avi", "mpeg4", "avi"),
        ("clip.mp4", "libx264", "mov,mp4,m4a,3gp,3g2,mj2"),
        ("clip.mkv", "mpeg4", "matroska,webm"),
    ],
)
def test_probe_reads_the_facts_of_real_videos(tmp_path: Path, name: str, codec: str, container: str) -> None:
    probe = probe_video(make_video(tmp_path / name, codec=codec, fps=10, seconds=2, size=(64, 48)))
    assert (probe.container, probe.codec) == (container, codec.removeprefix("lib").replace("x264", "h264"))
    assert (probe.width, probe.height, probe.fps, probe.frame_count) == (64, 48, 10.0, 20)
    assert probe.duration_s == pytest.approx(2.0)
    assert probe.creation_time is None


def test_probe_reads_creation_time_tag(tmp_path: Path) -> None:
    probe = probe_video(make_video(tmp_path / "tagged.mp4", creation_time=TAG))
    assert probe.creation_time == TAG


def _text(path: Path) -> Path:
    path.write_text("this is a statement, not a video\n" * 50)
    return path


def _jpeg(path: Path) -> Path:
    ok, data = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))
    assert ok
    path.write_bytes(data.tobytes())
    return path


def _playlist(path: Path) -> Path:
    make_video(path.parent / "inner.mp4")
    path.write_text("ffconcat version 1.0\nfile 'inner.mp4'\n")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


BAD_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("empty.mp4", _empty, "'{name}' is empty"),
    ("statement.mp4", _text, "'{name}' is not a video file vigil can read"),
    ("photo.jpg", _jpeg, "'{name}' is a JPEG image, not a video"),
    ("photo.mp4", _jpeg, "'{name}' is a JPEG image, not a video"),
    ("tone.m4a", make_audio, r"'{name}' contains no video stream \(it holds only audio\)"),
    ("one-frame.mp4", lambda p: make_video(p, seconds=0.1), r"'{name}' holds 1 frame\(s\): a still picture"),
    ("playlist.mp4", _playlist, "'{name}' is not video in a format vigil accepts"),
    (
        "cut.mp4",
        lambda p: truncate(make_video(p.with_name("w.mp4")), p, 0.3),
        "'{name}' is not a video file vigil can read",
    ),
    (
        "cut-faststart.mp4",
        lambda p: truncate(make_video(p.with_name("w.mp4"), faststart=True), p, 0.3),
        "'{name}' is truncated or damaged",
    ),
    (
        "cut.avi",
        lambda p: truncate(make_video(p.with_name("w.avi"), size=(160, 120)), p, 0.3),
        "'{name}' is truncated or damaged",
    ),
    ("missing.mp4", lambda p: p, "cannot read '{name}': No such file"),
    # F12: these were read as bare H.264 at an assumed 25 frames/s (31.8 s instead of 79.5 s)
    ("damaged-header.avi", damaged_header_avi, "'{name}' has no video container that vigil can read"),
    ("export.zip", zipped_video, "'{name}' is a ZIP archive, not a video"),
    ("export-renamed.mp4", zipped_video, "'{name}' is a ZIP archive, not a video"),
    ("raw.h264", lambda p: make_video(p, codec="libx264", container_format="h264"), r"bare H\.264 stream"),
]


@pytest.mark.parametrize(("name", "make", "error"), BAD_FILES, ids=[row[0] for row in BAD_FILES])
def test_probe_refuses_what_is_not_decodable_video(
    tmp_path: Path, name: str, make: Callable[[Path], Path], error: str
) -> None:
    with pytest.raises(InvalidInput, match=error.format(name=re.escape(name))):
        probe_video(make(tmp_path / name))


SHARED_VIDEOS = [
    # file, frames, width, height, fps (from ../shared/data/README.md)
    ("pets09-s2l1/vtest.avi", 795, 480, 360, 10.0),
    ("intel-sample-videos/car-detection.mp4", 377, 768, 432, 12.5),
    ("intel-sample-videos/one-by-one-person-detection.mp4", 1394, 768, 432, 10.0),
    ("intel-sample-videos/person-bicycle-car-detection.mp4", 459, 768, 432, 12.0),
]


@pytest.mark.data
@pytest.mark.skipif(not shared_data_dir().is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize(("name", "frames", "width", "height", "fps"), SHARED_VIDEOS)
def test_probe_matches_the_shared_data_readme(name: str, frames: int, width: int, height: int, fps: float) -> None:
    probe = probe_video(shared_data_dir() / name)
    assert (probe.frame_count, probe.width, probe.height, probe.fps) == (frames, width, height, fps)
    # person-bicycle-car's container lists 467 frames: an edit list hides the first 8, so 459 are shown.
    assert probe.duration_s == pytest.approx(frames / fps)
