"""Synopsis renders running in background threads, followed by polling their status (one registry per running
system, :attr:`vigil.system.Services.synopsis_renders`).

The request has already been authorised and audited by :func:`vigil.search.synopsis.service.prepare_synopsis` in the
request's own session; the thread only computes and writes the derived files (it needs no database session).
Renders are CPU-heavy, so only ``running`` of them run at once; the others wait their turn. A render is known to
the user who asked for it only; the registry forgets the oldest finished renders beyond ``keep``.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Literal

from vigil.errors import NotFound, VigilError
from vigil.search.synopsis.service import PreparedSynopsis

log = logging.getLogger("vigil.synopsis")
Status = Literal["waiting", "running", "done", "failed"]


@dataclass
class RenderJob:
    owner: int  # the user id who asked for it
    status: Status = "waiting"
    key: str = ""  # the synopsis, once done
    error: str = ""  # why it failed, fit to show the user


class SynopsisRenders:
    """The renders of one app (see the module docstring)."""

    def __init__(self, *, running: int = 1, keep: int = 200) -> None:
        self._jobs: dict[str, RenderJob] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(running)
        self._keep = keep
        self._threads: list[threading.Thread] = []

    def start(self, prepared: PreparedSynopsis, *, owner: int) -> str:
        """Queue the render in a new thread; returns its id (16 hex digits)."""
        job_id, job = secrets.token_hex(8), RenderJob(owner=owner)
        with self._lock:
            self._jobs[job_id] = job
            self._forget_old()
        thread = threading.Thread(target=self._run, args=(job, prepared), name="vigil-synopsis", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job_id

    def close(self, *, timeout_s: float = 30.0) -> None:
        """Wait (up to ``timeout_s`` in all) for the renders still running, so none is cut off half-written."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=timeout_s / max(1, len(threads)))

    def get(self, job_id: str, *, owner: int) -> RenderJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise NotFound("no such synopsis render (renders are forgotten when vigil restarts)")
        return job

    def _run(self, job: RenderJob, prepared: PreparedSynopsis) -> None:
        with self._slots:
            job.status = "running"
            try:
                job.key = prepared.render().key
                job.status = "done"
            except VigilError as exc:
                job.error, job.status = exc.message, "failed"
            except Exception:
                log.exception("synopsis render %s failed", prepared.key)
                job.error, job.status = "the render failed unexpectedly; the error is in the server log", "failed"

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
        for job_id in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job_id]
