"""The media of an evidence bundle: clips of the original footage and annotated stills.

A clip is cut WITHOUT re-encoding where possible: the packets of the video stream are copied unchanged from the
keyframe at or before the wanted start up to the wanted end (a decoder can only start at a keyframe, so the clip
may begin earlier than asked; :class:`Clip` records the exact span it covers). Only when the stream cannot be
copied into any container we write does the clip fall back to a re-encode (H.264 MP4), and says so.
Audio and data streams are not copied: the bundle is the picture evidence.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from vigil.footage.video import open_container, video_stream

# Output container for a stream copy, by the source demuxer name (first that accepts the codec wins).
COPY_FORMATS: dict[str, tuple[tuple[str, str], ...]] = {
    "mov,mp4,m4a,3gp,3g2,mj2": (("mp4", ".mp4"), ("matroska", ".mkv")),
    "matroska,webm": (("matroska", ".mkv"), ("mp4", ".mp4")),
    "avi": (("avi", ".avi"), ("matroska", ".mkv"), ("mp4", ".mp4")),
    # Raw elementary streams carry no timestamps (nor B-frame order) a container could be given: keep them raw.
    "h264": (("h264", ".h264"),),
    "hevc": (("hevc", ".hevc"),),
}
DEFAULT_COPY_FORMATS = (("mp4", ".mp4"), ("matroska", ".mkv"))


@dataclass(frozen=True)
class Clip:
    """A clip written for a bundle: the span of the footage it covers (seconds from the footage start)."""

    path: Path
    start_s: float  # the first frame shown (a keyframe for a stream copy)
    end_s: float  # the end of the last frame
    frames: int  # packets (stream copy) or frames (re-encode) written
    method: str  # "stream copy" or "re-encode"
    codec: str
    container: str
    note: str = ""  # why a re-encode was needed


class ClipError(Exception):
    """The footage could not be cut (unreadable file, no video, nothing in the span)."""


def cut_clip(source: Path, dest_stem: Path, *, start_s: float, end_s: float, stream_copy: bool = True) -> Clip:
    """Cut ``start_s``..``end_s`` (seconds from the footage start) of ``source`` into ``dest_stem`` + suffix.

    Stream copy into the source's own container type (or MP4/Matroska); a re-encode only if no copy works (or
    ``stream_copy`` is False: a frame-exact H.264 copy, e.g. for a player that cannot play the original codec).
    """
    if end_s <= start_s:
        raise ClipError("the clip must end after it starts")
    problems: list[str] = []
    for fmt, suffix in _copy_formats(source) if stream_copy else ():
        target = dest_stem.with_suffix(suffix)
        try:
            return _stream_copy(source, target, fmt, start_s, end_s)
        except (av.FFmpegError, ValueError) as exc:
            target.unlink(missing_ok=True)
            problems.append(f"{fmt}: {exc}")
    try:
        clip = _reencode(source, dest_stem.with_suffix(".mp4"), start_s, end_s)
    except (av.FFmpegError, ValueError) as exc:
        dest_stem.with_suffix(".mp4").unlink(missing_ok=True)
        raise ClipError(f"the footage could not be cut: {exc}") from None
    note = (
        "Stream copy impossible (" + "; ".join(problems) + "), so the clip was re-encoded"
        if stream_copy
        else "Re-encoded on request (a frame-exact H.264 copy, not the original's packets)"
    )
    return Clip(clip.path, clip.start_s, clip.end_s, clip.frames, clip.method, clip.codec, clip.container, note)


def _copy_formats(source: Path) -> tuple[tuple[str, str], ...]:
    try:
        with open_container(source) as container:
            return COPY_FORMATS.get(container.format.name, DEFAULT_COPY_FORMATS)
    except av.FFmpegError as exc:
        raise ClipError(f"the footage cannot be opened: {exc}") from None


def _stream_copy(source: Path, target: Path, fmt: str, start_s: float, end_s: float) -> Clip:
    with open_container(source) as container:
        stream = video_stream(container)
        if stream is None or stream.time_base is None:
            raise ValueError("no video stream with timestamps to copy")
        time_base = stream.time_base
        origin = stream.start_time or 0
        start_pts = origin + int(start_s / time_base)
        end_pts = origin + int(end_s / time_base)
        packets = _packets_between(container, stream, start_pts, end_pts, _index_ticks(stream))
        if not packets:
            raise ValueError("no keyframe found before the end of the span")
        with av.open(str(target), "w", format=fmt) as out:
            out_stream = out.add_stream_from_template(stream)
            first_dts = packets[0].dts if packets[0].dts is not None else packets[0].pts
            for packet in packets:
                packet.stream = out_stream
                packet.pts = None if packet.pts is None else packet.pts - first_dts
                packet.dts = None if packet.dts is None else packet.dts - first_dts
                out.mux(packet)
        shown = sorted((_shown(p) + first_dts, p.duration or 0) for p in packets if _shown(p) is not None)
        key_pts, end_pts = first_dts + (_shown(packets[0]) or 0), _contiguous_end(shown)
        return Clip(
            path=target,
            start_s=float((key_pts - origin) * time_base),
            end_s=float((max(end_pts, key_pts) - origin) * time_base),
            frames=len(packets),
            method="stream copy",
            codec=stream.codec_context.name,
            container=fmt,
        )


def _shown(packet: Any) -> int | None:
    """When a packet's frame is shown (its pts; its dts where the container stores no pts, as AVI)."""
    stamp = packet.pts if packet.pts is not None else packet.dts
    return None if stamp is None else int(stamp)


def _contiguous_end(frames: list[tuple[int, int]]) -> int:
    """The end of the unbroken run of frames from the first (later frames copied past a gap are not counted)."""
    if not frames:
        return 0
    end = frames[0][0] + frames[0][1]
    for pts, duration in frames[1:]:
        if pts > end + max(1, duration // 2):
            break
        end = max(end, pts + duration)
    return end


def _index_ticks(stream: Any) -> int:
    """For a raw elementary stream (no timestamps): the time-base ticks of one frame, timing frames by their
    index at the frame rate analysis used; 0 for a stream with timestamps."""
    if stream.start_time is not None:
        return 0
    rate = stream.average_rate or stream.guessed_rate
    if not rate:
        raise ValueError("the stream has neither timestamps nor a frame rate")
    ticks: int = round(Fraction(1) / (Fraction(rate) * Fraction(stream.time_base)))
    return max(1, ticks)


def _packets_between(container: Any, stream: Any, start_pts: int, end_pts: int, index_ticks: int = 0) -> list[Any]:
    """The packets from the last keyframe at or before ``start_pts`` up to ``end_pts``, in decode order.

    With ``index_ticks`` (a raw stream) packets are stamped by their index instead, and read from the start."""
    if not index_ticks:
        with contextlib.suppress(av.FFmpegError):
            container.seek(max(start_pts, stream.start_time or 0), stream=stream, backward=True, any_frame=False)
    packets: list[Any] = []
    index = 0
    for packet in container.demux(stream):
        if packet.size == 0:  # the demuxer's end-of-stream flush
            continue
        if index_ticks:
            packet.pts = packet.dts = index * index_ticks
            packet.duration = index_ticks
            index += 1
        stamp = packet.dts if packet.dts is not None else packet.pts
        if stamp is not None and stamp > end_pts and packets:
            break
        shown = _shown(packet)
        if packet.is_keyframe and (shown is None or shown <= start_pts or not packets):
            packets = [packet]  # a later keyframe still at or before the start: begin there instead
        elif packets:
            packets.append(packet)
    return packets


def _reencode(source: Path, target: Path, start_s: float, end_s: float) -> Clip:
    """Decode the span and encode it as H.264 in MP4 (only when a stream copy is impossible)."""
    written, first_t, last_t = 0, None, 0.0
    with open_container(source) as container, av.open(str(target), "w", format="mp4") as out:
        stream = video_stream(container)
        if stream is None:
            raise ValueError("no video stream")
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        out_stream = out.add_stream("libx264", rate=rate)
        out_stream.width, out_stream.height, out_stream.pix_fmt = stream.width, stream.height, "yuv420p"
        frame_s = float(1 / rate)
        origin, time_base = stream.start_time, float(stream.time_base or 0)
        for index, picture in enumerate(container.decode(stream)):
            origin = picture.pts if origin is None else origin
            if picture.pts is None or origin is None or not time_base:
                t = index * frame_s
            else:
                t = (picture.pts - origin) * time_base
            if t + frame_s <= start_s:  # the frame is over before the span starts
                continue
            if t > end_s:
                break
            first_t = t if first_t is None else first_t
            last_t = t
            picture.pts = None
            out.mux(out_stream.encode(picture.reformat(format="yuv420p")))
            written += 1
        out.mux(out_stream.encode(None))
    if not written or first_t is None:
        raise ValueError("no frames in the span")
    return Clip(target, first_t, last_t + frame_s, written, "re-encode", "h264", "mp4")


def frame_at(source: Path, t: float) -> NDArray[np.uint8]:
    """The decoded frame (BGR) shown at ``t`` seconds from the footage start (nearest frame at or after)."""
    try:
        return _frame_at(source, t)
    except av.FFmpegError as exc:
        raise ClipError(f"the frame at {t:.2f} s could not be decoded: {exc}") from None


def _frame_at(source: Path, t: float) -> NDArray[np.uint8]:
    with open_container(source) as container:
        stream = video_stream(container)
        if stream is None:
            raise ClipError("the footage has no video stream")
        rate = stream.average_rate or stream.guessed_rate
        frame_s = float(1 / rate) if rate else 0.0
        origin, time_base = stream.start_time, stream.time_base
        seekable = time_base is not None and origin is not None and container.format.name != "avi"
        if seekable and time_base is not None and origin is not None:
            with contextlib.suppress(av.FFmpegError):
                container.seek(origin + int(t / time_base), stream=stream, backward=True, any_frame=False)
        last = None
        for index, picture in enumerate(container.decode(stream)):
            if seekable and picture.pts is not None and time_base is not None and origin is not None:
                shown = float((picture.pts - origin) * time_base)
            else:
                shown = index * frame_s
            last = picture
            if shown + frame_s / 2 >= t:
                break
        if last is None:
            raise ClipError(f"no frame could be decoded at {t:.2f} s")
        return np.asarray(last.to_ndarray(format="bgr24"), dtype=np.uint8)


BOX_COLOUR = (0, 0, 255)  # BGR red
PATH_COLOUR = (0, 255, 255)  # BGR yellow


def annotated_still(
    image: NDArray[np.uint8],
    *,
    box: tuple[float, float, float, float],
    path: list[tuple[float, float]],
    labels: list[str],
) -> bytes:
    """A PNG of ``image`` with the track's box and path drawn and ``labels`` (time, camera) written on a band."""
    canvas = image.copy()
    height, width = canvas.shape[:2]
    thickness = max(1, round(min(width, height) / 240))
    if len(path) >= 2:
        points = np.array([[round(x), round(y)] for x, y in path], dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [points], False, PATH_COLOUR, thickness, cv2.LINE_AA)
    x0, y0, x1, y1 = (round(v) for v in box)
    cv2.rectangle(canvas, (x0, y0), (x1, y1), BOX_COLOUR, thickness + 1)
    scale = max(0.35, min(width, height) / 700)
    line_h = round(22 * scale) + 4
    band = np.zeros((line_h * len(labels) + 6, width, 3), dtype=np.uint8)
    for row, label in enumerate(labels):
        origin = (4, line_h * (row + 1))
        cv2.putText(band, label, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    ok, encoded = cv2.imencode(".png", np.vstack([canvas, band]))
    if not ok:
        raise ClipError("the still could not be encoded")
    return bytes(encoded.tobytes())
