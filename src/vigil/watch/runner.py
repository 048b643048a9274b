"""The watches' runner: a thread that runs a watch pass every few seconds beside the live cameras.

It is a companion of the live cameras (:class:`vigil.live.supervisor.Companion`), assembled by
:func:`vigil.system.open_system`: it starts and stops with ``system.live``, so the watches run in whichever process
runs the cameras (the web app with ``VIGIL_LIVE__ENABLED``, or `vigil live run`), exactly once, and never in a web
app that leaves the cameras to another process.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from vigil.watch.evaluator import EVERY_S, run_pass

log = logging.getLogger("vigil.watch")


class WatchRunner:
    """Runs :func:`~vigil.watch.evaluator.run_pass` every ``every_seconds`` in one thread until stopped; a failed
    pass is logged and the next one tries again."""

    def __init__(self, *, sessions: sessionmaker[Session], data_dir: Path, every_seconds: float = EVERY_S) -> None:
        self.sessions, self.data_dir, self.every_seconds = sessions, data_dir, every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return  # started once: never two passes in parallel
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="vigil-watches", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_seconds):
            try:
                raised = run_pass(self.sessions, data_dir=self.data_dir)
            except Exception:
                log.exception("a watch pass failed")
                continue
            if raised:
                log.info("watches raised %d alert(s)", raised)
