"""The live supervisor: starts a worker process per camera, restarts one that dies, and stops them all.

Every ``sources_every_seconds`` (10 s) it re-reads the cameras' sources: a camera registered since gets a
worker, one whose source was cleared has its worker stopped, and one whose source changed (address or recording
policy) has its worker restarted with the new source.

A worker that dies (a crash, ``kill -9``) is restarted after a backoff that doubles while it keeps dying;
the supervisor opens a gap for the camera at once (from the end of its last recorded segment), which the new
worker closes when recording resumes. Workers are started with the ``spawn`` method: a fresh interpreter,
never a fork of the web server with its threads and database connections.

Work that must run beside the cameras, once, in whichever process runs them (the watches), is given to the
supervisor as a :class:`Companion` where the system is assembled (:func:`vigil.system.open_system`): it starts after
the workers and stops before them.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from vigil.db.live_models import LiveHealth
from vigil.db.session import session_scope
from vigil.live.observers import ObserverFactory
from vigil.live.sources import SourceResolver, StreamSource
from vigil.live.store import open_gap, write_health
from vigil.live.worker import worker_main
from vigil.settings import Settings

log = logging.getLogger("vigil.live")


class Companion(Protocol):
    """Work that runs beside the live cameras, in the process that runs them: started and stopped with them."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


STABLE_SECONDS = 60.0  # a worker that lived this long is healthy again: its restart backoff starts afresh


@dataclass
class _Slot:
    source: StreamSource
    process: SpawnProcess
    stop: Event
    started: float
    restarts: int = 0
    backoff: float = 0.0
    restart_at: float | None = None
    reason: str = ""


@dataclass
class LiveSupervisor:
    settings: Settings
    sessions: sessionmaker[Session]
    resolver: SourceResolver
    poll_seconds: float = 0.5
    companions: tuple[Companion, ...] = ()
    """Started after the workers, stopped before them (e.g. the watches' runner)."""
    sources_every_seconds: float = 10.0
    """How often the registered sources are re-read (a camera registered, changed or cleared since is followed)."""
    observers: tuple[ObserverFactory, ...] = ()
    """Observers the system registers on every camera (built in each worker process)."""
    _slots: dict[str, _Slot] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return bool(self._slots) and not self._stopping.is_set()

    def start(self) -> None:
        """Start a worker for every source, a thread that watches them (it never touches frames), and the
        companions."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            for source in self.resolver.sources():
                self._slots[source.camera_code] = self._spawn(source, reason="", restarts=0)
            self._thread = threading.Thread(target=self._watch, name="vigil-live-supervisor", daemon=True)
            self._thread.start()
        for companion in self.companions:
            companion.start()

    def workers(self) -> dict[str, int | None]:
        """Camera code -> the pid of its worker process (None while it waits to be restarted)."""
        with self._lock:
            return {code: slot.process.pid if slot.restart_at is None else None for code, slot in self._slots.items()}

    def poll(self) -> None:
        """Notice dead workers and restart those whose backoff has passed."""
        with self._lock:
            for slot in self._slots.values():
                if self._stopping.is_set():
                    return
                if slot.restart_at is None and not slot.process.is_alive():
                    self._died(slot)
                elif slot.restart_at is not None and time.monotonic() >= slot.restart_at:
                    code = slot.source.camera_code
                    self._slots[code] = self._spawn(slot.source, reason=slot.reason, restarts=slot.restarts + 1)
                    self._slots[code].backoff = slot.backoff

    def stop(self, timeout: float = 20.0) -> None:
        """Ask every worker to finish its segment and stop; terminate those that do not in ``timeout``."""
        self._stopping.set()
        for companion in self.companions:
            companion.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            for slot in self._slots.values():
                slot.stop.set()
            deadline = time.monotonic() + timeout
            for slot in self._slots.values():
                _end(slot, timeout=max(deadline - time.monotonic(), 0.1))
            self._slots.clear()

    def refresh(self) -> None:
        """Follow the registered sources: start, stop or restart workers whose camera's source appeared, went or
        changed. A failure to read the sources (e.g. the database is busy) keeps the workers as they are."""
        try:
            wanted = {source.camera_code: source for source in self.resolver.sources()}
        except Exception:
            log.exception("the cameras' sources could not be read; the running workers are kept")
            return
        with self._lock:
            if self._stopping.is_set():
                return
            gone = [slot for code, slot in self._slots.items() if wanted.get(code) != slot.source]
            for slot in gone:
                del self._slots[slot.source.camera_code]
        for slot in gone:  # outside the lock: a worker takes a moment to finish its segment
            _end(slot, timeout=20.0)
        with self._lock:
            for code, source in wanted.items():
                if code not in self._slots and not self._stopping.is_set():
                    self._slots[code] = self._spawn(source, reason="", restarts=0)

    def _watch(self) -> None:
        every = self.sources_every_seconds
        next_refresh = time.monotonic() + every
        while not self._stopping.wait(self.poll_seconds):
            self.poll()
            if time.monotonic() >= next_refresh:
                self.refresh()
                next_refresh = time.monotonic() + every

    def _spawn(self, source: StreamSource, *, reason: str, restarts: int) -> _Slot:
        context = multiprocessing.get_context("spawn")
        stop = context.Event()
        process = context.Process(
            target=worker_main,
            args=(self.settings, source, reason, stop, self.observers),
            name=f"vigil-live-{source.camera_code}",
            daemon=True,
        )
        process.start()
        with session_scope(self.sessions) as db:
            write_health(
                db,
                camera_code=source.camera_code,
                state="connecting",
                worker_pid=process.pid or 0,
                node="",
                restarts=restarts,
                reason=reason,
            )
        return _Slot(source=source, process=process, stop=stop, started=time.monotonic(), restarts=restarts)

    def _died(self, slot: _Slot) -> None:
        code = slot.source.camera_code
        lived = time.monotonic() - slot.started
        initial, ceiling = self.settings.live.backoff_initial_seconds, self.settings.live.backoff_max_seconds
        slot.backoff = initial if lived >= STABLE_SECONDS or not slot.backoff else min(slot.backoff * 2, ceiling)
        slot.reason = f"the camera's worker process died ({_exit_text(slot.process.exitcode)}) and was restarted"
        slot.restart_at = time.monotonic() + slot.backoff
        with session_scope(self.sessions) as db:
            if slot.source.recording != "off":
                open_gap(db, camera_code=code, reason=slot.reason)
            health = db.get(LiveHealth, code)
            write_health(
                db,
                camera_code=code,
                state="error",
                reason=f"worker died ({_exit_text(slot.process.exitcode)}); restarting in {slot.backoff:g} s",
                restarts=health.restarts if health else 0,
            )


def _end(slot: _Slot, *, timeout: float) -> None:
    """Ask a worker to stop; terminate it if it has not within ``timeout``."""
    slot.stop.set()
    slot.process.join(timeout)
    if slot.process.is_alive():
        slot.process.terminate()
        slot.process.join(5)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
