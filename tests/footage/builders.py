"""Builders of small real media files (made with PyAV in the test's tmp folder, never copied in)."""

from __future__ import annotations

import zipfile
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

SQUARE = 16  # side of the red square that moves right by 2 px a frame


def make_video(
    path: Path,
    *,
    codec: str = "mpeg4",
    fps: int = 10,
    seconds: float = 2,
    size: tuple[int, int] = (64, 48),
    creation_time: datetime | None = None,
    faststart: bool = False,
    container_format: str | None = None,
    pix_fmt: str = "yuv420p",
) -> Path:
    """A real video: a red square moving right over grey, above a band of noise (so files are not tiny).

    MJPEG needs ``pix_fmt="yuvj420p"``."""
    width, height = size
    rng = np.random.default_rng(7)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format=container_format, options=options) as container:
        if creation_time is not None:
            container.metadata["creation_time"] = creation_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stream = container.add_stream(codec, rate=Fraction(fps))
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for index in range(round(fps * seconds)):
            frame = av.VideoFrame.from_ndarray(draw_frame(index, width, height, rng), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def draw_frame(index: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    image = np.full((height, width, 3), 128, np.uint8)
    image[height // 2 :] = rng.integers(0, 256, (height - height // 2, width, 3), dtype=np.uint8)
    left = square_left(index, width)
    image[4 : 4 + SQUARE, left : left + SQUARE] = (0, 0, 255)
    return image


def square_left(index: int, width: int) -> int:
    return (index * 2) % (width - SQUARE)


def make_audio(path: Path, *, seconds: float = 1.0) -> Path:
    """An audio-only MP4 (AAC tone)."""
    rate = 44100
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        assert isinstance(stream, AudioStream)
        t = np.arange(int(rate * seconds)) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, samples.size, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncate(source: Path, dest: Path, fraction: float) -> Path:
    """The first ``fraction`` of a file, as an interrupted copy leaves it."""
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def damaged_header_avi(path: Path, *, seconds: float = 4, fps: int = 10) -> Path:
    """An H.264 AVI whose RIFF header is overwritten: FFmpeg can then only guess a bare H.264 stream."""
    source = make_video(path.with_name(f"whole-{path.name}"), codec="libx264", fps=fps, seconds=seconds)
    data = bytearray(source.read_bytes())
    assert data[:4] == b"RIFF" and data[8:12] == b"AVI "
    data[:12] = b"\0" * 12
    path.write_bytes(bytes(data))
    return path


def zipped_video(path: Path) -> Path:
    """A ZIP archive (stored, not compressed) holding an H.264 MP4, as a recorder's export bundle."""
    inner = make_video(path.with_name(f"inner-{path.stem}.mp4"), codec="libx264", seconds=4)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(inner, "export/camera1.mp4")
    return path
