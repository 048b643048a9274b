"""The readers of open views: one short-lived process per view, started when the officer's page asks for a
picture, and stopped by a watcher thread within a second or two of the view ending (its time limit, the officer
closing it, the owner pausing, stopping or leaving) or of the officer's page going quiet.

The pool belongs to the web app (built in its lifespan, closed with it); routes hand it a view's id, deadline and
URL after their database work, so no process is started or stopped while a request holds a database lock.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from vigil.db.session import session_scope
from vigil.registry.live_views import close_due, live_ids
from vigil.settings import Settings

WATCH_EVERY_S = 1.0
log = logging.getLogger(__name__)


@dataclass
class Reader:
    process: subprocess.Popen[bytes]
    picture: Path
    last_asked: float = field(default_factory=time.monotonic)


class ViewerPool:
    def __init__(self, *, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings, self.sessions = settings, sessions
        self.folder = settings.data_dir / "views"
        self._readers: dict[int, Reader] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def ensure(self, view_id: int, *, url: str, seconds: float) -> None:
        """Start the view's reader unless it runs (called only for a view the caller found live)."""
        with self._lock:
            reader = self._readers.get(view_id)
            if reader is not None and reader.process.poll() is None:
                reader.last_asked = time.monotonic()
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            picture = self.folder / f"view-{view_id}.jpg"
            command = [sys.executable, "-m", "vigil.registry.viewer", "--picture", str(picture)]
            command += ["--fps", f"{self.settings.registry.live_frames_per_second:g}", "--seconds", f"{seconds:.1f}"]
            command += ["--timeout", f"{self.settings.registry.live_connect_timeout_seconds:g}"]
            process = subprocess.Popen(command, stdin=subprocess.PIPE)  # noqa: S603 (our own module, fixed args)
            assert process.stdin is not None
            process.stdin.write(url.encode() + b"\n")
            process.stdin.close()
            self._readers[view_id] = Reader(process, picture)
        self.start()

    def start(self) -> None:
        """Start the watcher (the web app's lifespan does, so due views end even when nobody is watching)."""
        with self._lock:
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="vigil-view-watcher", daemon=True)
                self._watcher.start()

    def is_running(self, view_id: int) -> bool:
        with self._lock:
            reader = self._readers.get(view_id)
            return reader is not None and reader.process.poll() is None

    def picture(self, view_id: int) -> bytes | None:
        """The latest picture of a running view's reader (None before the first one arrives)."""
        with self._lock:
            reader = self._readers.get(view_id)
            if reader is None:
                return None
            reader.last_asked = time.monotonic()
        with contextlib.suppress(OSError):
            return reader.picture.read_bytes()
        return None

    def running(self) -> list[int]:
        with self._lock:
            return [view_id for view_id, r in self._readers.items() if r.process.poll() is None]

    def stop(self, view_ids: list[int] | set[int]) -> None:
        with self._lock:
            readers = [self._readers.pop(view_id) for view_id in view_ids if view_id in self._readers]
        for reader in readers:
            reader.process.terminate()
        for reader in readers:
            try:
                reader.process.wait(5)
            except subprocess.TimeoutExpired:
                reader.process.kill()
                reader.process.wait()
            reader.picture.unlink(missing_ok=True)

    def sweep(self) -> None:
        """One watcher pass: end due views in the database, then stop every reader whose view is not live."""
        with session_scope(self.sessions) as db:
            close_due(db, settings=self.settings)
        ids = list(self._readers)
        with session_scope(self.sessions) as db:
            live = live_ids(db, settings=self.settings, view_ids=ids)
        idle_after = self.settings.registry.live_idle_seconds
        now = time.monotonic()
        with self._lock:
            quiet = {
                i for i, r in self._readers.items() if now - r.last_asked > idle_after or r.process.poll() is not None
            }
        self.stop((set(ids) - live) | quiet)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY_S):
            try:
                self.sweep()
            except Exception:  # a busy database must not end the watcher: it tries again next pass
                log.exception("the view watcher's pass failed")

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(10)
        self.stop(list(self._readers))
