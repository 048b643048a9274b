"""Where analysis jobs run: in the caller (CLI) or a local pool of worker processes (web).

The :class:`JobExecutor` Protocol is the seam a later deployment can back with Ray or a queue; the
default :class:`LocalExecutor` runs each job in a spawned process so the web server stays responsive.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.analysis.jobs import JobRunner, JobStatus
from vigil.db.models import AnalysisJob
from vigil.settings import Settings
from vigil.system import System, open_system

log = logging.getLogger(__name__)


def make_runner(
    system: System, *, on_progress: Callable[[int, int], None] | None = None, checkpoint_seconds: float = 10.0
) -> JobRunner:
    """A runner using the configured detector and the threaded PyAV frame source."""
    from vigil.analysis.decode import frames
    from vigil.analysis.pipeline import build_analyser

    return JobRunner(
        sessions=system.sessions,
        data_dir=system.settings.data_dir,
        make_analyser=partial(build_analyser, system.settings),
        frames=frames,
        checkpoint_seconds=checkpoint_seconds,
        on_progress=on_progress,
    )


class JobExecutor(Protocol):
    def submit(self, job_id: int) -> None: ...

    def shutdown(self) -> None: ...


def run_job_in_worker(settings: Settings, job_id: int) -> int:
    """Entry point of a worker process: its own engine and sessions, closed when the job ends."""
    system = open_system(settings)
    try:
        return make_runner(system).run(job_id).tracks_written
    finally:
        system.close()


class LocalExecutor:
    """Runs jobs in spawned worker processes (one by default: analysis already uses both cores)."""

    def __init__(self, settings: Settings, *, workers: int = 1) -> None:
        self._settings = settings
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self._running: dict[int, Future[int]] = {}

    def submit(self, job_id: int) -> None:
        if job_id in self._running and not self._running[job_id].done():
            return
        future = self._pool.submit(run_job_in_worker, self._settings, job_id)
        future.add_done_callback(partial(_log_outcome, job_id))
        self._running[job_id] = future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _log_outcome(job_id: int, future: Future[int]) -> None:
    error = future.exception()
    if error is not None:
        log.error("analysis job %s failed: %s", job_id, error)


def unfinished_jobs(db: Session) -> list[int]:
    """Jobs that were queued or running when the system last stopped (resumed from their checkpoints)."""
    stmt = select(AnalysisJob.id).where(AnalysisJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    return list(db.execute(stmt.order_by(AnalysisJob.id)).scalars())
