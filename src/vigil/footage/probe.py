"""Probing: prove a file is decodable video and read its facts (format, codec, size, rate, length, start).

The probe reads every packet of the video stream (cheap: no decoding) to count frames and measure the
span of timestamps, then decodes the first frames and the last group of pictures. A truncated file is
caught three ways: the container's own frame count exceeds the packets present, the last packet is cut
short, or its end will not decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from av.container import InputContainer
from av.error import ArgumentError, FFmpegError
from av.video.stream import VideoStream

from vigil.errors import InvalidInput
from vigil.footage.video import open_container, video_stream

# Leading bytes of still-image formats, so that a photo gets a plain refusal naming what it is.
_IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"GIF87a": "a GIF image",
    b"GIF89a": "a GIF image",
    b"BM": "a BMP image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}
# Leading bytes of archives: FFmpeg would otherwise scan one for something that looks like a video stream
# (a ZIP holding an MP4 was read as raw H.264 at an assumed 25 frames/s).
_ARCHIVE_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive",
    b"PK\x05\x06": "a ZIP archive",
    b"PK\x07\x08": "a ZIP archive",
    b"Rar!\x1a\x07": "a RAR archive",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"\x1f\x8b": "a gzip archive",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ\x00": "an xz archive",
    b"\x28\xb5\x2f\xfd": "a Zstandard archive",
}
_TAR_MAGIC_OFFSET = 257
# FFmpeg demuxers that read a bare elementary stream: no container, so no frame rate or length of its own
# (FFmpeg assumes 25 frames/s). A damaged AVI or MP4 header also falls back to one of these.
RAW_STREAM_FORMATS = {"h264": "H.264", "hevc": "H.265", "mjpeg": "MJPEG"}
MAX_FPS = 1000.0


@dataclass(frozen=True)
class VideoProbe:
    """The facts of a video file, as stored on its Footage record."""

    container: str
    codec: str
    width: int
    height: int
    fps: float
    duration_s: float
    frame_count: int
    creation_time: datetime | None  # the container's creation_time tag (UTC), when present and readable


@dataclass
class _PacketSurvey:
    total: int = 0  # every packet with data, including those an edit list discards
    frames: int = 0  # packets that become displayed frames
    first_pts: int | None = None
    end_pts: int | None = None  # presentation end of the latest frame
    last_key_pts: int | None = None
    last_corrupt: bool = False


def probe_video(path: Path, *, name: str | None = None) -> VideoProbe:
    """Read a video's facts, refusing with :class:`InvalidInput` anything that is not decodable video."""
    label = repr(name or path.name)
    _refuse_by_signature(path, label)
    try:
        container = open_container(path)
    except ArgumentError:
        raise InvalidInput(
            f"{label} is not video in a format vigil accepts (FFmpeg recognised it as something else, such as "
            "an image, a playlist or audio); accepted containers: AVI, MP4/MOV, MKV, MPEG-TS/PS, FLV, ASF/WMV, "
            "Dahua DAV"
        ) from None
    except (FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{label} is not a video file vigil can read ({_reason(exc)})") from None
    with container:
        _refuse_raw_stream(container, label)
        stream = video_stream(container)
        if stream is None:
            kinds = sorted({s.type for s in container.streams})
            if not kinds:
                raise InvalidInput(f"{label} holds no streams at all: it is damaged, truncated or not a video")
            raise InvalidInput(f"{label} contains no video stream (it holds only {' and '.join(kinds)})")
        survey = _survey_packets(container, stream, label)
        probe = _facts(container, stream, survey, label)
    _decode_start_and_end(path, survey, label)
    return probe


def _refuse_by_signature(path: Path, label: str) -> None:
    """Refuse still images and archives by their leading bytes, before FFmpeg guesses at their content."""
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        raise InvalidInput(f"cannot read {label}: {exc.strerror or exc}") from None
    if not head:
        raise InvalidInput(f"{label} is empty (0 bytes)")
    for signature, kind in _IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            raise InvalidInput(f"{label} is {kind}, not a video")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise InvalidInput(f"{label} is a WebP image, not a video")
    archive = next((kind for sig, kind in _ARCHIVE_SIGNATURES.items() if head.startswith(sig)), None)
    if archive is None and head[_TAR_MAGIC_OFFSET : _TAR_MAGIC_OFFSET + 5] == b"ustar":
        archive = "a tar archive"
    if archive is not None:
        raise InvalidInput(f"{label} is {archive}, not a video: unpack it and submit the video files inside")


def _refuse_raw_stream(container: InputContainer, label: str) -> None:
    """Refuse a bare elementary stream: its frame rate and length would be FFmpeg's guesses, not facts."""
    kind = RAW_STREAM_FORMATS.get(container.format.name)
    if kind is not None:
        raise InvalidInput(
            f"{label} has no video container that vigil can read (FFmpeg found only a bare {kind} stream, "
            "which records no frame rate or length): the file's header may be damaged, or it is an archive or "
            "a raw export; export it from the recorder as AVI, MP4, MKV or the recorder's own format"
        )


def _survey_packets(container: InputContainer, stream: VideoStream, label: str) -> _PacketSurvey:
    survey = _PacketSurvey()
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet at the end
                continue
            survey.total += 1
            survey.last_corrupt = packet.is_corrupt
            if packet.is_discard:  # before an edit list's start: decoded but never shown
                continue
            survey.frames += 1
            if packet.pts is None:
                continue
            if survey.first_pts is None or packet.pts < survey.first_pts:
                survey.first_pts = packet.pts
            end = packet.pts + (packet.duration or 0)
            if survey.end_pts is None or end > survey.end_pts:
                survey.end_pts = end
            if packet.is_keyframe:
                survey.last_key_pts = packet.pts
    except FFmpegError as exc:
        raise InvalidInput(
            f"{label} is damaged: reading stopped after {survey.total} frames ({_reason(exc)})"
        ) from None
    interrupted = "(was the copy or download interrupted?)"
    if survey.last_corrupt:
        raise InvalidInput(f"{label} is truncated or damaged: its last frame is cut short {interrupted}")
    if 0 < survey.total < stream.frames:
        raise InvalidInput(
            f"{label} is truncated or damaged: its container lists {stream.frames} frames but only "
            f"{survey.total} are present {interrupted}"
        )
    return survey


def _facts(container: InputContainer, stream: VideoStream, survey: _PacketSurvey, label: str) -> VideoProbe:
    if not stream.width or not stream.height:
        raise InvalidInput(f"{label}: the video stream has no picture size, so it cannot be decoded")
    if survey.frames < 2:
        raise InvalidInput(f"{label} holds {survey.frames} frame(s): a still picture, not video")
    fps = _frame_rate(stream, survey)
    duration = _duration(container, stream, survey, fps)
    if fps <= 0 < duration:  # no rate could be read: derive it from the count and the length
        fps = survey.frames / duration
    if duration <= 0 or fps <= 0:
        raise InvalidInput(f"{label} has no usable timing (duration {duration:g} s, {fps:g} frames/s)")
    return VideoProbe(
        container=container.format.name,
        codec=stream.codec_context.name,
        width=stream.width,
        height=stream.height,
        fps=round(fps, 6),
        duration_s=round(duration, 6),
        frame_count=survey.frames,
        creation_time=_creation_time(container, stream),
    )


def _plausible_rate(rate: Fraction | None) -> float | None:
    return float(rate) if rate is not None and 0 < rate <= MAX_FPS else None


def _frame_rate(stream: VideoStream, survey: _PacketSurvey) -> float:
    rate = _plausible_rate(stream.average_rate) or _plausible_rate(stream.guessed_rate)
    if rate is not None:
        return rate
    span = _measured_span(stream, survey)
    return survey.frames / span if span else 0.0


def _measured_span(stream: VideoStream, survey: _PacketSurvey) -> float | None:
    if survey.first_pts is None or survey.end_pts is None or stream.time_base is None:
        return None
    span = float((survey.end_pts - survey.first_pts) * stream.time_base)
    return span if span > 0 else None


def _duration(container: InputContainer, stream: VideoStream, survey: _PacketSurvey, fps: float) -> float:
    """The span of the frames' timestamps; else the stream's or container's declared length; else count / rate."""
    span = _measured_span(stream, survey)
    if span is not None:
        return span
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return survey.frames / fps if fps > 0 else 0.0


def _creation_time(container: InputContainer, stream: VideoStream) -> datetime | None:
    raw = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _decode_start_and_end(path: Path, survey: _PacketSurvey, label: str) -> None:
    """Decode the first two frames, then seek to the last keyframe and decode one frame there."""
    try:
        with open_container(path) as container:
            stream = video_stream(container)
            assert stream is not None  # the survey found it
            decoded = 0
            for _frame in container.decode(stream):
                decoded += 1
                if decoded == 2:
                    break
            if decoded < 2:
                raise InvalidInput(f"{label}: its frames cannot be decoded")
            if survey.last_key_pts is not None:
                container.seek(survey.last_key_pts, stream=stream)
                if next(iter(container.decode(stream)), None) is None:
                    raise InvalidInput(f"{label}: the end of the video cannot be decoded (is it truncated?)")
    except FFmpegError as exc:
        raise InvalidInput(f"{label} cannot be decoded ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, FFmpegError) and exc.strerror:
        return f"FFmpeg: {exc.strerror}"
    return type(exc).__name__
