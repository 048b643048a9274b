"""Playable copies: every stored footage plays in a browser, while the original stays untouched as evidence.

Browsers play H.264, VP9 and AV1 in MP4 (and VP8/VP9/AV1 in WebM), 8-bit 4:2:0 only. CCTV exports often
come as AVI, MKV, TS, DAV or in codecs browsers cannot decode (MPEG-4 Part 2, HEVC, MJPEG). For those a copy
is made in the footage's derived folder (``derived/<id>/playable.mp4``, deleted with the footage by
retention): a *remux* into MP4 (faststart) with the same compressed frames when the codec allows, which takes
seconds, else a *transcode* to H.264. The original file, its SHA-256 and its chain of custody are not touched.

The copy is planned at ingest (or on the first view of footage ingested earlier) as a :class:`PlayableCopy`
row, and made in the background by a :class:`CopyMaker` (one thread, owned by the web app), which records its
progress on the row so the video and review pages can say "preparing a playable copy (NN%)".
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
from av.error import FFmpegError
from av.video.stream import VideoStream
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.base import utcnow
from vigil.db.models import Footage, PlayableCopy
from vigil.footage.storage import sha256_of
from vigil.footage.video import open_container, video_stream
from vigil.governance import audit

log = logging.getLogger(__name__)

ORIGINAL, QUEUED, PREPARING, READY, FAILED = "original", "queued", "preparing", "ready", "failed"
REMUX, TRANSCODE = "remux", "transcode"
COPY_NAME = "playable.mp4"
_MP4_CODECS = frozenset({"h264", "vp9", "av1"})
_BROWSER_PIXELS = frozenset({"yuv420p", "yuvj420p"})
_MP4_SUFFIXES = frozenset({".mp4", ".m4v", ".mov"})
_PROGRESS_EVERY_S = 0.5
Progress = Callable[[int], None]


class CopyInterrupted(Exception):
    """The app is shutting down: the copy is abandoned and made again at the next start."""


def plan_copy(path: Path, *, suffix: str | None = None) -> str:
    """:data:`ORIGINAL` if browsers play the file as it is, else :data:`REMUX` or :data:`TRANSCODE`.

    ``suffix`` is the extension the file is (or will be) stored and served with, if not ``path``'s own.
    """
    suffix = (suffix if suffix is not None else path.suffix).lower()
    with open_container(path) as container:
        stream = video_stream(container)
        if stream is None:
            raise ValueError(f"{path.name} has no video stream")
        family, codec = container.format.name, stream.codec_context.name
        pixels = stream.codec_context.format.name if stream.codec_context.format else ""
    webm = family.startswith("matroska") and suffix == ".webm"
    if codec in _MP4_CODECS and pixels in _BROWSER_PIXELS:
        if family.startswith("mov") and suffix in _MP4_SUFFIXES:
            return ORIGINAL
        return ORIGINAL if webm and codec != "h264" else REMUX
    return ORIGINAL if webm and codec == "vp8" and pixels in _BROWSER_PIXELS else TRANSCODE


def plan_playable_copy(db: Session, *, footage: Footage, path: Path, now: datetime | None = None) -> PlayableCopy:
    """The footage's copy record, planned from the file at ``path`` (the stored original, or the staged copy
    during ingest) if there is none yet; flushed, not committed."""
    existing = db.get(PlayableCopy, footage.id)
    if existing is not None:
        return existing
    now = now or utcnow()
    try:
        method = plan_copy(path, suffix=Path(footage.stored_path).suffix)
        status, error = (ORIGINAL, None) if method == ORIGINAL else (QUEUED, None)
    except (FFmpegError, OSError, ValueError) as exc:
        method, status, error = "", FAILED, f"the stored file could not be examined ({type(exc).__name__}: {exc})"
    record = PlayableCopy(
        footage_id=footage.id,
        status=status,
        method="" if method == ORIGINAL else method,
        percent=100.0 if status == ORIGINAL else 0.0,
        error=error,
        requested_at=now,
        updated_at=now,
    )
    db.add(record)
    db.flush()
    return record


def copy_path(data_dir: Path, record: PlayableCopy) -> Path | None:
    """The ready copy's file (inside the data folder), or None."""
    if record.status != READY or not record.stored_path:
        return None
    root = data_dir.resolve()
    path = (root / record.stored_path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


# --- making a copy ------------------------------------------------------------------------------------------


def remux(source: Path, target: Path, *, progress: Progress) -> None:
    """The same compressed frames in an MP4 with its index first (faststart), so playback starts at once.

    Timestamps are shifted so the first frame is shown at 0 s, as analysis times it (``t = pts - start``).
    """
    with open_container(source) as container, av.open(str(target), "w", format="mp4", options=_FASTSTART) as out:
        stream = video_stream(container)
        assert stream is not None
        copied = out.add_stream_from_template(stream)
        shift, done = stream.start_time or 0, 0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is None:
                raise ValueError("a frame has no timestamp, so it cannot be placed in an MP4 without re-encoding")
            packet.pts = pts - shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = copied
            out.mux(packet)
            done += 1
            progress(done)
    _check_decodes(target)


def transcode(source: Path, target: Path, *, progress: Progress) -> None:
    """Re-encode to H.264 (8-bit 4:2:0, even size) in a faststart MP4, keeping each frame's time."""
    with open_container(source) as container, av.open(str(target), "w", format="mp4", options=_FASTSTART) as out:
        stream = video_stream(container)
        assert stream is not None
        stream.thread_type = "AUTO"
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25).limit_denominator(1001)
        encoder = out.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "23"})
        assert isinstance(encoder, VideoStream)
        width, height = stream.width // 2 * 2, stream.height // 2 * 2
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.codec_context.time_base = Fraction(1, 90_000)
        times = _frame_times(container.format.name, stream, rate)
        last = -1
        for index, frame in enumerate(container.decode(stream)):
            pts = max(last + 1, round(times(index, frame.pts) * 90_000))
            picture = frame.reformat(width=width, height=height, format="yuv420p")
            picture.pts, picture.time_base, last = pts, Fraction(1, 90_000), pts
            out.mux(encoder.encode(picture))
            progress(index + 1)
        out.mux(encoder.encode(None))
    _check_decodes(target)


def _frame_times(family: str, stream: VideoStream, rate: Fraction) -> Callable[[int, int | None], float]:
    """Seconds from the start for each frame, as analysis times them (AVI by index, others by timestamp)."""
    by_index = family == "avi" or stream.time_base is None
    time_base, origin = float(stream.time_base or 0), stream.start_time

    def seconds(index: int, pts: int | None) -> float:
        nonlocal origin
        if by_index or pts is None:
            return float(index / rate)
        origin = pts if origin is None else origin
        return max(0.0, (pts - origin) * time_base)

    return seconds


_FASTSTART = {"movflags": "+faststart"}


def _check_decodes(path: Path) -> None:
    with av.open(str(path)) as made:
        if next(iter(made.decode(video=0)), None) is None:
            raise ValueError("the copy holds no decodable frame")


def make_copy(source: Path, target: Path, *, method: str, progress: Progress) -> str:
    """Write a playable copy of ``source`` to ``target``; the method used (a failed remux falls back)."""
    if method == REMUX:
        try:
            remux(source, target, progress=progress)
            return REMUX
        except (FFmpegError, ValueError) as exc:
            log.info("remuxing %s failed (%s); transcoding instead", source.name, exc)
            target.unlink(missing_ok=True)
    transcode(source, target, progress=progress)
    return TRANSCODE


class _ProgressRecorder:
    """Writes a copy's percentage on its row about twice a second (and stops the copy at shutdown)."""

    def __init__(self, sessions: sessionmaker[Session], footage_id: int, total: int, stop: threading.Event) -> None:
        self._sessions, self._id, self._total, self._stop = sessions, footage_id, max(1, total), stop
        self._last = time.monotonic()

    def __call__(self, done: int) -> None:
        if self._stop.is_set():
            raise CopyInterrupted(f"the playable copy of footage {self._id} was interrupted by shutdown")
        if time.monotonic() - self._last < _PROGRESS_EVERY_S:
            return
        self._last = time.monotonic()
        with self._sessions() as db:
            record = db.get(PlayableCopy, self._id)
            if record is not None:
                record.percent, record.updated_at = round(min(99.0, 100.0 * done / self._total), 1), utcnow()
                db.commit()


def prepare_copy(
    sessions: sessionmaker[Session], *, data_dir: Path, footage_id: int, stop: threading.Event | None = None
) -> str | None:
    """Make the footage's planned copy (a no-op unless it is queued or was interrupted); its final status."""
    stop = stop or threading.Event()
    with sessions() as db:
        record, footage = db.get(PlayableCopy, footage_id), db.get(Footage, footage_id)
        if record is None or footage is None or record.status not in (QUEUED, PREPARING):
            return record.status if record is not None else None
        source, method, total = data_dir / footage.stored_path, record.method or TRANSCODE, footage.frame_count or 0
        record.status, record.percent, record.error, record.updated_at = PREPARING, 0.0, None, utcnow()
        db.commit()
    folder = data_dir / "derived" / str(footage_id)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".playable-{os.getpid()}-{threading.get_ident()}.partial.mp4"
    try:
        used = make_copy(source, partial, method=method, progress=_ProgressRecorder(sessions, footage_id, total, stop))
        os.replace(partial, folder / COPY_NAME)
    except CopyInterrupted:
        partial.unlink(missing_ok=True)
        return PREPARING
    except Exception as exc:
        partial.unlink(missing_ok=True)
        log.warning("footage %s: no playable copy could be made: %s", footage_id, exc)
        return _finish(sessions, footage_id, status=FAILED, error=f"{type(exc).__name__}: {exc}"[:1000])
    return _finish(sessions, footage_id, status=READY, method=used, path=folder / COPY_NAME, data_dir=data_dir)


def _finish(
    sessions: sessionmaker[Session],
    footage_id: int,
    *,
    status: str,
    method: str = "",
    error: str | None = None,
    path: Path | None = None,
    data_dir: Path | None = None,
) -> str:
    with sessions() as db:
        record = db.get(PlayableCopy, footage_id)
        if record is None:  # the footage was deleted meanwhile (its derived folder goes with it)
            return status
        record.status, record.error, record.updated_at = status, error, utcnow()
        details: dict[str, object] = {"status": status}
        if path is not None and data_dir is not None:
            record.method, record.percent = method, 100.0
            record.stored_path, record.size_bytes = str(path.relative_to(data_dir)), path.stat().st_size
            details.update(method=method, sha256=sha256_of(path), size_bytes=record.size_bytes)
        else:
            details["error"] = error
        audit.record(
            db,
            actor=audit.SYSTEM_ACTOR,
            action="footage.playable_copy",
            outcome=audit.Outcome.OK if status == READY else audit.Outcome.FAILED,
            subject_type="footage",
            subject_id=footage_id,
            details=details,
        )
        db.commit()
    return status


class CopyMaker:
    """Makes playable copies one at a time in a background thread; owned by the web app (started and shut
    down with it). :meth:`resume` submits every copy a restart left queued or half-made."""

    def __init__(self, sessions: sessionmaker[Session], data_dir: Path) -> None:
        self._sessions, self._data_dir = sessions, data_dir
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-playable")
        self._running: dict[int, Future[str | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def submit(self, footage_id: int) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            running = self._running.get(footage_id)
            if running is not None and not running.done():
                return
            self._running[footage_id] = self._pool.submit(
                prepare_copy, self._sessions, data_dir=self._data_dir, footage_id=footage_id, stop=self._stop
            )

    def resume(self) -> list[int]:
        with self._sessions() as db:
            pending = list(
                db.execute(
                    select(PlayableCopy.footage_id)
                    .where(PlayableCopy.status.in_((QUEUED, PREPARING)))
                    .order_by(PlayableCopy.footage_id)
                ).scalars()
            )
        for footage_id in pending:
            self.submit(footage_id)
        return pending

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the copies submitted so far are made (or ``timeout`` seconds pass)."""
        with self._lock:
            running = list(self._running.values())
        futures_wait(running, timeout=timeout)

    def shutdown(self) -> None:
        """Stop: a copy being made is abandoned (made again at the next start), queued ones wait for it."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
