"""Opening video files safely and decoding them into BGR frames (PyAV, threaded decoding).

Every open goes through :func:`open_container`: only local files, and only demuxers of real video
containers. FFmpeg otherwise also accepts playlists (``ffconcat``, HLS) that pull in other files or URLs,
so a crafted "video" could read files from the server; the allow-list refuses them before any is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream
from numpy.typing import NDArray

from vigil.domain import Frame

# FFmpeg demuxer names of the containers CCTV exports come in (mov covers .mp4/.mov/.m4v/.3gp,
# matroska covers .mkv/.webm, mpeg covers .mpg/.vob, asf covers .asf/.wmv, dhav is Dahua's .dav).
ACCEPTED_FORMATS = ("avi", "mov", "matroska", "mpegts", "mpeg", "flv", "asf", "h264", "hevc", "m4v", "mjpeg", "dhav")

_STILL = Disposition.attached_pic | Disposition.still_image


def open_container(path: Path) -> InputContainer:
    """Open a local file with FFmpeg, allowing only the accepted video demuxers and the file protocol.

    Raises av.error.FFmpegError (``ArgumentError`` when FFmpeg recognises a format that is not accepted).
    """
    return av.open(
        str(path.resolve()),
        "r",
        container_options={"format_whitelist": ",".join(ACCEPTED_FORMATS), "protocol_whitelist": "file"},
        metadata_errors="replace",
    )


def video_stream(container: InputContainer) -> VideoStream | None:
    """The first moving-picture stream (not cover art or a still image), or None."""
    for stream in container.streams.video:
        if not stream.disposition & _STILL:
            return stream
    return None


@dataclass
class OpenVideo:
    """A video opened for decoding; use :func:`open_video` to get one."""

    container: InputContainer
    stream: VideoStream

    @property
    def fps(self) -> float:
        rate = self.stream.average_rate or self.stream.guessed_rate
        return float(rate) if rate else 0.0

    @property
    def size(self) -> tuple[int, int]:
        return self.stream.width, self.stream.height

    def frames(self, *, every: int = 1) -> Iterator[Frame]:
        """Decode every frame, yielding each ``every``-th as a BGR :class:`Frame` (converting is the costly part)."""
        if every < 1:
            raise ValueError("every must be at least 1")
        stream = self.stream
        # AVI stores no presentation times (FFmpeg's guesses come out of order with B-frames), so its
        # frames are timed by index; other containers by their timestamps, falling back to the index.
        by_index = self.container.format.name == "avi" or stream.time_base is None
        time_base = float(stream.time_base or 0)
        frame_s = 1.0 / self.fps if self.fps > 0 else 0.0
        origin = stream.start_time
        for index, frame in enumerate(self.container.decode(stream)):
            if index % every:
                continue
            pts = frame.pts
            origin = pts if origin is None else origin
            t = index * frame_s
            if not by_index and pts is not None and origin is not None:
                t = (pts - origin) * time_base
            image = cast(NDArray[np.uint8], frame.to_ndarray(format="bgr24"))  # bgr24 is always uint8
            yield Frame(image=image, timestamp=t, index=index)


@contextmanager
def open_video(path: Path, *, threads: int = 0) -> Iterator[OpenVideo]:
    """Open a video for decoding with FFmpeg's threaded decoding (``threads`` 0 lets FFmpeg choose)."""
    container = open_container(path)
    try:
        stream = video_stream(container)
        if stream is None:
            raise ValueError(f"{path.name} has no video stream")
        stream.thread_type = "AUTO"
        stream.thread_count = threads
        yield OpenVideo(container, stream)
    finally:
        container.close()


def iter_frames(path: Path, *, every: int = 1, threads: int = 0) -> Iterator[Frame]:
    """Every ``every``-th frame of a video file as a :class:`Frame` (BGR image, seconds, index)."""
    with open_video(path, threads=threads) as video:
        yield from video.frames(every=every)
