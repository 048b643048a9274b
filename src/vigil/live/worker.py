"""A camera worker: one process per camera that keeps its stream connected, records it, analyses it and reports
health. Recording copies the packets; live analysis (:mod:`vigil.live.analysis`) decodes the same packets (one
connection, one decode per camera) and hands the analysed frames to the camera's observers.

The worker reconnects with exponential backoff after any failure (unreachable host, wrong path, a stream
that stalls longer than the connect timeout, undecodable data), records the gap, and keeps going until told
to stop. Nothing it meets can crash another camera's worker: each runs in its own process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.synchronize
import os
import signal
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.base import utcnow
from vigil.db.session import make_engine, make_session_factory, session_scope
from vigil.errors import VigilError
from vigil.footage.storage import sha256_of
from vigil.governance.users import get_user
from vigil.live.analysis import LiveAnalysis
from vigil.live.health import HealthMeter
from vigil.live.motion import NO_MOTION, MotionGate
from vigil.live.observers import FrameObserver, ObserverFactory, build_observers
from vigil.live.recording_notice import recording_failed, recording_resumed
from vigil.live.segments import (
    FormatWatch,
    PictureFormat,
    Recorder,
    RecordingFailed,
    StreamClock,
    clear_partials,
)
from vigil.live.sources import StreamSource
from vigil.live.store import RecordedSegment, already_ingested, close_gap, ingest_segment, open_gap, write_health
from vigil.live.tracks import OpenSegment, adopt_reserved
from vigil.settings import Settings

Stop = multiprocessing.synchronize.Event
log = logging.getLogger(__name__)


class StreamEnded(Exception):
    """The stream stopped sending (it ended, or the connection dropped)."""


class CameraWorker:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        source: StreamSource,
        restart_reason: str = "",
        registered: Sequence[ObserverFactory] = (),
    ) -> None:
        self.settings, self.sessions, self.source = settings, sessions, source
        self.registered = tuple(registered)
        """Observers the system registered (e.g. live FR deployments), built with the camera's own."""
        self.code = source.camera_code
        self.folder = self.settings.live_spool_dir / self.code
        self.restart_reason = restart_reason or "the stream was disconnected"
        self.meter = HealthMeter()
        self.recording_error = ""
        """Why recording stopped (shown as the camera's 'error' state); cleared when a segment is stored again."""
        self.retry_at: float | None = None
        """While recording is failing: when (monotonic) the next segment is tried."""
        self.segments = 0
        self.motion = MotionGate(keep=self._ingest, drop=self._drop) if source.recording == "motion" else None
        """Recording policy 'motion': sees the decoded frames (an observer) and decides which segments to keep."""
        self.analysis: LiveAnalysis | None = None
        self.recorder: Recorder | None = None
        self.clock: StreamClock | None = None

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self, stop: Stop) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            clear_partials(self.folder)
        except OSError as exc:  # the spool cannot be written: stay connected (health, wall) but record nothing
            if self.source.recording != "off":
                self._recording_failed(f"the spool folder cannot be written ({exc.strerror or exc})")
        if not self.recording_error:
            self._ingest_spooled()
        analysis = LiveAnalysis(
            settings=self.settings, sessions=self.sessions, source=self.source, observers=self.observers()
        )
        self.analysis = analysis if analysis.active else None
        try:
            self._run(stop)
        finally:
            if self.analysis is not None:
                self.analysis.close(self._open_segment())

    def _run(self, stop: Stop) -> None:
        backoff = self.settings.live.backoff_initial_seconds
        self._health(state="connecting", reason="")
        while not stop.is_set():  # while it reconnects, an offline camera stays 'offline since' its failure
            started = time.monotonic()
            reason = self._connect_and_record(stop)
            if stop.is_set():
                break
            if time.monotonic() - started > 2 * self.settings.live.backoff_max_seconds:
                backoff = self.settings.live.backoff_initial_seconds  # it worked for a while: start afresh
            state = "error" if self.recording_error else "offline"
            self._health(state=state, reason=self.recording_error or reason)
            with session_scope(self.sessions) as db:
                if self.source.recording != "off":
                    open_gap(db, camera_code=self.code, reason=self.recording_error or reason)
            self.restart_reason = reason
            stop.wait(backoff)
            backoff = min(backoff * 2, self.settings.live.backoff_max_seconds)
        self._health(state="stopped", reason="the worker was stopped")

    def _connect_and_record(self, stop: Stop) -> str:
        """Read the stream until it fails or ``stop`` is set; return why it ended, in plain words."""
        timeout = self.settings.live.connect_timeout_seconds
        options = {"analyzeduration": "1000000"}  # a second of probing: less backlog to catch up on connecting
        if self.source.url.lower().startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        recorder = self.recorder = self._recorder()
        try:
            with av.open(self.source.url, options=options, timeout=(timeout, timeout)) as container:
                assert isinstance(container, InputContainer)
                if not container.streams.video:
                    return "the stream has no video"
                self._stream(container, container.streams.video[0], recorder, stop)
            if recorder is not None:
                recorder.close()
                self._settle_motion()
            return "the stream ended"
        except RecordingFailed as exc:  # the segment cut when the stream ended could not be kept
            self._recording_failed(str(exc))
            return self.recording_error
        except (av.FFmpegError, OSError, StreamEnded, UnicodeDecodeError, ValueError) as exc:
            if recorder is not None:
                try:
                    recorder.close()  # what arrived before the failure is a whole, playable segment
                    self._settle_motion()
                except RecordingFailed as failed:
                    self._recording_failed(str(failed))
            return describe_failure(exc, self.source, timeout=timeout)
        finally:
            if recorder is not None:
                recorder.abandon()

    def _recorder(self) -> Recorder | None:
        if self.source.recording == "off":
            return None
        seconds = self.settings.live.segment_seconds
        sink = self.motion.offer if self.motion is not None else self._ingest
        return Recorder(folder=self.folder, camera_code=self.code, seconds=seconds, on_segment=sink)

    def observers(self) -> list[FrameObserver]:
        """What the decoded frames are handed to: the camera's observers (the wall picture, ...) and, for the
        'motion' recording policy, the motion gate that decides which segments are kept."""
        built = build_observers(
            settings=self.settings, sessions=self.sessions, camera_code=self.code, registered=self.registered
        )
        return [*built, self.motion] if self.motion is not None else built

    def _settle_motion(self) -> None:
        """The connection ended: a motion camera's last held segment is decided now (nothing follows it)."""
        if self.motion is not None:
            self.motion.flush()

    def _stream(self, container: InputContainer, stream: VideoStream, recorder: Recorder | None, stop: Stop) -> None:
        tb = stream.time_base
        if tb is None:
            raise StreamEnded("the stream has no time base")
        clock = self.clock = StreamClock(tb)
        pace = RealTime(stop) if "://" not in self.source.url else None  # a file stands for a camera: play it live
        self.meter.connected(stream)
        formats = FormatWatch(stream.codec_context.name)
        if self.analysis is not None:
            self.analysis.connected()
        last_report = 0.0
        for packet in container.demux(stream):
            if stop.is_set():
                return
            if packet.pts is None or packet.size == 0:
                continue
            if pace is not None and not pace.wait(float(packet.pts * tb)):
                return
            now = utcnow()
            if clock.anchor is None:
                self._health(**self._connected_state(), **self.meter.facts())
            clock.observe(packet.pts, now)
            self.meter.frame(
                at=clock.at(packet.pts), now=now, pts_seconds=float(packet.pts * tb), corrupt=packet.is_corrupt
            )
            picture = formats.keyframe(bytes(packet)) if packet.is_keyframe else None
            if picture is not None:  # e.g. a new resolution: a new segment, and the wall shows the new size
                self.meter.width, self.meter.height = picture.width, picture.height
                self._health(**self._connected_state(), **self.meter.facts())
            if recorder is not None and self._may_record():
                self._record(recorder, packet, pts=packet.pts, stream=stream, picture=picture, clock=clock)
            if self.analysis is not None:
                self.analysis.packet(packet, clock=clock, segment=self._open_segment())
            if time.monotonic() - last_report >= self.settings.live.health_every_seconds:
                last_report = time.monotonic()
                self._health(**self._connected_state(), **self.meter.facts())
        raise StreamEnded("the stream ended")

    def _record(
        self,
        recorder: Recorder,
        packet: Packet[Any],
        *,
        pts: int,
        stream: VideoStream,
        picture: PictureFormat | None,
        clock: StreamClock,
    ) -> None:
        """Hand a packet to the recorder; a failure (disk full, ...) stops recording, never the stream."""
        try:
            if picture is not None:
                recorder.new_format(picture, pts=pts)
            recorder.packet(packet, stream=stream, pts=pts, clock=clock)
        except RecordingFailed as exc:
            recorder.abandon()  # its partial file is deleted: nothing half-written is kept
            self._recording_failed(str(exc))

    def _may_record(self) -> bool:
        """Whether packets go to the recorder: not until the retry time after recording failed."""
        if self.retry_at is None:
            return True
        if time.monotonic() < self.retry_at:
            return False
        self.retry_at = None
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
        return True

    def _recording_failed(self, why: str) -> None:
        """Recording stopped: show it, record the gap, tell the supervisors (once per episode), retry later."""
        self.recording_error = why if why.startswith("recording stopped") else f"recording stopped: {why}"
        self.retry_at = time.monotonic() + self.settings.live.recording_retry_seconds
        with session_scope(self.sessions) as db:
            open_gap(db, camera_code=self.code, reason=self.recording_error)
            recording_failed(
                db, camera_code=self.code, reason=self.recording_error, force_name=self.settings.force_name
            )
        self._health(**self._connected_state())

    def _open_segment(self) -> OpenSegment | None:
        """The segment being recorded, dated as the recorder will date it when it is closed."""
        recorder, clock = self.recorder, self.clock
        writer = recorder.writer if recorder is not None else None
        if recorder is None or writer is None or writer.base is None or clock is None or clock.anchor is None:
            return None
        meter = self.meter
        fps = 1.0 / meter.nominal_step if meter.nominal_step > 0 else meter.fps
        return OpenSegment(recorder.continues or clock.at(writer.base), meter.width, meter.height, fps, meter.codec)

    def _connected_state(self) -> dict[str, object]:
        """Connected: 'online', or 'error' while recording is stopped (e.g. the disk is full)."""
        return (
            {"state": "error", "reason": self.recording_error}
            if self.recording_error
            else {"state": "online", "reason": ""}
        )

    # -- ingest ---------------------------------------------------------------------------------------------
    def _ingest(self, segment: RecordedSegment) -> None:
        try:
            with session_scope(self.sessions) as db:
                user = get_user(db, self.settings.live.recorder_user)
                close_gap(db, camera_code=self.code, resumed_at=segment.started_at, reason=self.restart_reason)
                footage = ingest_segment(db, settings=self.settings, user=user, segment=segment)
                adopt_reserved(db, footage=footage, ended_at=segment.ended_at, data_dir=self.settings.data_dir)
                recording_resumed(db, camera_code=self.code)  # stored again: the supervisors' notice goes
        except VigilError as exc:
            raise RecordingFailed(
                f"segments cannot be ingested: {exc.message} (kept in {segment.path.parent})"
            ) from exc
        segment.path.unlink(missing_ok=True)
        self.segments += 1
        self.recording_error = ""
        self._health(segments=self.segments, **self._connected_state())

    def _drop(self, segment: RecordedSegment) -> None:
        """A motion camera's segment in which nothing moved (nor just before or after): deleted, and a gap."""
        segment.path.unlink(missing_ok=True)
        with session_scope(self.sessions) as db:
            open_gap(db, camera_code=self.code, reason=NO_MOTION, at=segment.started_at)

    def _ingest_spooled(self) -> None:
        """Ingest finished segments a stopped worker left unsent (each once: a stored one is just deleted)."""
        for path in sorted(self.folder.glob(f"{self.code}-*.mp4")):
            with session_scope(self.sessions) as db:
                if already_ingested(db, sha256_of(path)):
                    path.unlink()
                    continue
            started = _start_from_name(path, self.code)
            if started is not None:
                try:
                    self._ingest(RecordedSegment(self.code, path, started, started + _duration(path)))
                except RecordingFailed as exc:  # kept in the spool for the next start; recording is retried
                    self._recording_failed(str(exc))
                    return

    def _health(self, **fields: object) -> None:
        with session_scope(self.sessions) as db:
            extra: dict[str, object] = {"recording": self.source.recording, "worker_pid": os.getpid()}
            if self.analysis is not None:
                extra |= self.analysis.facts()
            write_health(db, camera_code=self.code, **extra, **fields)


class RealTime:
    """Paces a file source (tests and demonstrations only) as a camera would send it: each packet when its time
    comes, counted from the first."""

    def __init__(self, stop: Stop) -> None:
        self.stop = stop
        self.start: tuple[float, float] | None = None  # (monotonic, stream seconds) of the first packet

    def wait(self, seconds: float) -> bool:
        """Wait until the packet at ``seconds`` is due; False if the worker was told to stop meanwhile."""
        if self.start is None:
            self.start = (time.monotonic(), seconds)
        delay = self.start[0] + seconds - self.start[1] - time.monotonic()
        return not (delay > 0 and self.stop.wait(delay))


def describe_failure(exc: BaseException, source: StreamSource, *, timeout: float) -> str:
    """A failure in plain words, never with the stream's credentials."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = text.replace(source.url, source.shown)
    if isinstance(exc, StreamEnded):
        return "the stream ended: the camera closed the connection"
    if isinstance(exc, av.error.HTTPNotFoundError) or "404" in text:
        return f"the camera has no stream at {source.shown} (404 not found)"
    if isinstance(exc, av.error.ConnectionRefusedError):
        return f"unreachable: connection refused by {source.shown}"
    if isinstance(exc, (av.error.ExitError, TimeoutError)) or "timed out" in text.lower():
        return (
            f"no video from {source.shown} for {timeout:g} s: the stream stalled, sent data that is not video, "
            "or the host does not answer"
        )
    if isinstance(exc, av.error.InvalidDataError):
        return f"the stream sent data that is not video ({text})"
    return f"stream failed: {text}"


def _start_from_name(path: Path, code: str) -> datetime | None:
    stamp = path.stem.removeprefix(f"{code}-").removesuffix("Z")
    try:
        return datetime.strptime(stamp + "+0000", "%Y%m%dT%H%M%S.%f%z")
    except ValueError:
        return None


def _duration(path: Path) -> timedelta:
    with av.open(str(path)) as container:
        return timedelta(microseconds=container.duration or 0)


def orphaned_stops(stop: Stop, *, every_seconds: float = 1.0) -> threading.Thread:
    """Stop this worker (as the supervisor would) if the supervisor's process dies, e.g. ``kill -9`` of the server.

    An orphan would go on recording beside the worker a restarted supervisor starts for the same camera.
    """
    parent = os.getppid()

    def watch() -> None:
        # Never waits on ``stop``: a process killed inside a multiprocessing Event's wait leaves its lock taken, and
        # the supervisor's next ``stop.set()`` would hang. Only an orphan (no supervisor left to hang) sets it.
        while os.getppid() == parent:
            time.sleep(every_seconds)
        log.warning("the live supervisor (pid %s) is gone: this camera worker stops", parent)
        stop.set()

    thread = threading.Thread(target=watch, name="vigil-orphan-watch", daemon=True)
    thread.start()
    return thread


def worker_main(
    settings: Settings,
    source: StreamSource,
    restart_reason: str,
    stop: Stop,
    registered: Sequence[ObserverFactory] = (),
) -> None:
    """Entry point of a camera's worker process (``registered``: the system's observer factories)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor stops workers through ``stop``
    orphaned_stops(stop)
    engine = make_engine(settings)
    try:
        worker = CameraWorker(
            settings=settings,
            sessions=make_session_factory(engine),
            source=source,
            restart_reason=restart_reason,
            registered=registered,
        )
        worker.run(stop)
    finally:
        engine.dispose()
