"""Recording by stream copy: packets go unchanged into fixed-length MP4 segments cut at keyframes.

A segment is written under a temporary name (``.partial-...``), and only when it is complete is it closed,
fsynced and renamed to its final name; a write error or a killed worker leaves only a partial file, which
is deleted and never ingested. A stream that changes its picture format mid-way (new H.264 parameter sets, e.g.
another resolution) has its segment cut at that keyframe and a new one started with the new format.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
from av.container import OutputContainer
from av.packet import Packet
from av.video.codeccontext import VideoCodecContext
from av.video.stream import VideoStream

from vigil.live.store import RecordedSegment

PARTIAL_PREFIX = ".partial-"
MIN_PACKETS = 2  # a single frame is a still picture, not footage: a stop just after a cut keeps nothing more


class RecordingFailed(Exception):
    """A segment could not be written (disk full, no permission, ...); its partial file was deleted."""


@dataclass
class _Pending:
    packet: Packet[Any]
    pts: int


class SegmentWriter:
    """One segment: a temporary MP4 that packets are copied into, then renamed when finished."""

    def __init__(
        self,
        *,
        folder: Path,
        camera_code: str,
        template: VideoStream,
        opened_at: datetime,
        picture: PictureFormat | None = None,
    ) -> None:
        self.folder, self.camera_code = folder, camera_code
        self.partial = folder / f"{PARTIAL_PREFIX}{camera_code}-{opened_at:%Y%m%dT%H%M%S.%f}Z.mp4"
        self.time_base: Fraction = template.time_base or Fraction(1, 90_000)
        self.base: int | None = None
        self.last_step = 0
        self.pending: _Pending | None = None
        self.end_pts = 0
        self.packets = 0
        try:
            self.container: OutputContainer = av.open(
                str(self.partial),
                "w",
                format="mp4",
                options={"movflags": "+faststart"},  # plays while loading
            )
            self.stream = self.container.add_stream_from_template(template)
            if picture is not None:  # the stream changed format since it was opened: the file says the new one
                context = self.stream.codec_context
                context.width, context.height, context.extradata = picture.width, picture.height, picture.extradata
            # The camera and the moment the segment was opened travel in the file: no two segments are equal bytes.
            self.container.metadata["title"] = f"vigil live recording of camera {camera_code}"
            self.container.metadata["comment"] = f"camera {camera_code}; segment opened {opened_at.isoformat()}"
        except (OSError, av.FFmpegError) as exc:
            self.abandon()
            raise RecordingFailed(f"cannot start a segment: {exc}") from exc

    def write(self, packet: Packet[Any], pts: int) -> None:
        """Copy a packet (its pts in the input time base); it is muxed when the next one gives its duration."""
        if self.base is None:
            self.base = pts
        self._flush(next_pts=pts)
        self.pending = _Pending(packet, pts)

    def _flush(self, *, next_pts: int | None) -> None:
        if self.pending is None or self.base is None:
            return
        packet, pts = self.pending.packet, self.pending.pts
        step = next_pts - pts if next_pts is not None and next_pts > pts else self.last_step
        self.last_step = step or self.last_step
        packet.pts = packet.dts = pts - self.base
        packet.duration = step
        packet.time_base = self.time_base
        packet.stream = self.stream
        try:
            self.container.mux(packet)
        except (OSError, av.FFmpegError) as exc:
            self.abandon()
            raise RecordingFailed(f"writing {self.partial.name} failed: {exc}") from exc
        self.end_pts = pts + step
        self.packets += 1
        self.pending = None

    def elapsed(self, pts: int) -> float:
        """Seconds from the segment's first packet to a packet at ``pts``."""
        return float((pts - self.base) * self.time_base) if self.base is not None else 0.0

    @property
    def seconds(self) -> float:
        return float((self.end_pts - (self.base or 0)) * self.time_base) if self.base is not None else 0.0

    def finish(self, *, started_at: datetime, next_pts: int | None = None) -> RecordedSegment | None:
        """Close, fsync and rename the segment; None (and nothing kept) if it is too short to be video."""
        self._flush(next_pts=next_pts)
        if self.packets < MIN_PACKETS:
            self.abandon()
            return None
        final = self.folder / f"{self.camera_code}-{started_at:%Y%m%dT%H%M%S.%f}Z.mp4"
        try:
            self.container.close()
            _fsync(self.partial)
            os.replace(self.partial, final)
            _fsync(self.folder)
        except (OSError, av.FFmpegError) as exc:
            self.abandon()
            raise RecordingFailed(f"finishing {self.partial.name} failed: {exc}") from exc
        ended = started_at + timedelta(seconds=self.seconds)
        return RecordedSegment(self.camera_code, final, started_at, ended)

    def abandon(self) -> None:
        """Drop the segment: close quietly and delete the partial file."""
        container = getattr(self, "container", None)
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class PictureFormat:
    """A stream's picture format as its parameter sets give it (Annex B SPS + PPS) and the size they describe."""

    extradata: bytes
    width: int
    height: int


H264_PARAMETER_SETS = (7, 8)  # SPS, PPS


def parameter_sets(data: bytes) -> bytes:
    """The H.264 SPS and PPS NAL units of an Annex B access unit, start codes included ('' if none)."""
    found = b""
    for nal in data.split(b"\x00\x00\x01")[1:]:
        nal = nal.rstrip(b"\x00")  # the next start code's leading zero
        if nal and nal[0] & 0x1F in H264_PARAMETER_SETS:
            found += b"\x00\x00\x00\x01" + nal
    return found


def picture_size(data: bytes, codec: str) -> tuple[int, int] | None:
    """The picture size of a keyframe, by decoding it alone (done once per format change)."""
    try:
        context = cast(VideoCodecContext, av.CodecContext.create(codec, "r"))
        frames = [*context.decode(av.Packet(data)), *context.decode(None)]
    except (av.FFmpegError, ValueError):
        return None
    if frames:
        return int(frames[0].width), int(frames[0].height)
    return None


class FormatWatch:
    """Notices when an H.264 stream's keyframes start carrying other parameter sets than before."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.sets: bytes | None = None

    def keyframe(self, data: bytes) -> PictureFormat | None:
        """The new format if this keyframe changes it; None when it is the same (or the first one seen)."""
        if self.codec != "h264":
            return None
        sets = parameter_sets(data)
        if not sets or sets == self.sets:
            return None
        first, self.sets = self.sets is None, sets
        size = None if first else picture_size(data, self.codec)
        return PictureFormat(sets, *size) if size is not None else None


class StreamClock:
    """Maps a stream's timestamps to UTC. The anchor is the earliest ``arrival - offset`` seen, so frames that
    arrive in a burst (buffered while the connection was probed) are not dated in the future."""

    def __init__(self, time_base: Fraction) -> None:
        self.time_base = time_base
        self.first_pts: int | None = None
        self.anchor: datetime | None = None

    def observe(self, pts: int, now: datetime) -> None:
        if self.first_pts is None:
            self.first_pts = pts
        candidate = now - self._offset(pts)
        if self.anchor is None or candidate < self.anchor:
            self.anchor = candidate

    def at(self, pts: int) -> datetime:
        assert self.anchor is not None, "observe a packet first"
        return self.anchor + self._offset(pts)

    def _offset(self, pts: int) -> timedelta:
        return timedelta(seconds=float((pts - (self.first_pts or 0)) * self.time_base))


class Recorder:
    """Cuts a camera's packets into segments of at least ``seconds``, each starting at a keyframe.

    A segment's start is fixed when it is finished (by then the stream clock has settled); a segment cut from
    the one before starts exactly where that one ended, so an unbroken recording has no seams.
    """

    def __init__(
        self, *, folder: Path, camera_code: str, seconds: float, on_segment: Callable[[RecordedSegment], None]
    ) -> None:
        self.folder, self.camera_code, self.seconds, self.on_segment = folder, camera_code, seconds, on_segment
        self.writer: SegmentWriter | None = None
        self.clock: StreamClock | None = None
        self.continues: datetime | None = None  # the end of the segment the current one follows without a break
        self.segments = 0
        self.picture: PictureFormat | None = None  # a format the stream changed to since it was opened

    def new_format(self, picture: PictureFormat, *, pts: int) -> None:
        """The stream changed format at this keyframe: the segment so far ends here; the next one has the new format."""
        if self.writer is not None:
            self._finish(next_pts=pts)
        self.picture = picture

    def packet(self, packet: Packet[Any], *, stream: VideoStream, pts: int, clock: StreamClock) -> None:
        """Record one packet of the stream (``clock`` has observed it)."""
        self.clock = clock
        keyframe = bool(packet.is_keyframe)
        if self.writer is not None and keyframe and self.writer.elapsed(pts) >= self.seconds:
            self._finish(next_pts=pts)
        if self.writer is None:
            if not keyframe:
                return  # a segment must start with a keyframe to decode on its own
            self.writer = SegmentWriter(
                folder=self.folder,
                camera_code=self.camera_code,
                template=stream,
                opened_at=clock.at(pts),
                picture=self.picture,
            )
        self.writer.write(packet, pts)

    def close(self) -> None:
        """The stream ended: keep what was recorded as a (shorter) final segment."""
        if self.writer is not None:
            self._finish(next_pts=None)
        self.continues = None

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.abandon()
            self.writer = None
        self.continues = None

    def _finish(self, *, next_pts: int | None) -> None:
        writer, self.writer = self.writer, None
        assert writer is not None and writer.base is not None and self.clock is not None
        started = self.continues or self.clock.at(writer.base)
        segment = writer.finish(started_at=started, next_pts=next_pts)
        self.continues = segment.ended_at if segment is not None and next_pts is not None else None
        if segment is not None:
            self.segments += 1
            self.on_segment(segment)


def clear_partials(folder: Path) -> int:
    """Delete partial segments a killed worker left behind; return how many."""
    count = 0
    for path in folder.glob(f"{PARTIAL_PREFIX}*"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            count += 1
    return count
