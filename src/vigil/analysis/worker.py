"""Where analysis jobs run: in the caller (CLI), a local pool of worker processes (web), or a thread.

The :class:`JobExecutor` Protocol is the seam a later deployment can back with Ray or a queue; the
default :class:`LocalExecutor` runs each job in a spawned process so the web server stays responsive.
:class:`ThreadExecutor` runs jobs in a background thread of the caller's process (tests, and machines
where starting a process per job costs too much). Jobs run by either record their frame count about once a
second (:class:`ProgressWriter`), so pages can show a live progress bar between checkpoints.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vigil.analysis.jobs import JobRunner, JobStatus
from vigil.analysis.liveness import owner_is_alive
from vigil.db.base import utcnow
from vigil.db.database import Backend, open_database
from vigil.db.models import AnalysisJob
from vigil.settings import Settings

log = logging.getLogger(__name__)


def make_runner(
    system: Backend, *, on_progress: Callable[[int, int], None] | None = None, checkpoint_seconds: float | None = None
) -> JobRunner:
    """A runner using the configured detector and the threaded PyAV frame source."""
    from vigil.analysis.decode import frames
    from vigil.analysis.pipeline import build_analyser

    return JobRunner(
        sessions=system.sessions,
        data_dir=system.settings.data_dir,
        make_analyser=partial(build_analyser, system.settings),
        frames=frames,
        checkpoint_seconds=checkpoint_seconds or system.settings.analysis.checkpoint_seconds,
        on_progress=on_progress,
        zone=system.settings.zone,
    )


class JobExecutor(Protocol):
    def submit(self, job_id: int) -> None: ...

    def shutdown(self) -> None: ...


class JobInterrupted(BaseException):
    """Raised inside a running job when its executor shuts down.

    A BaseException, so the runner does not mark the job failed: it stays 'running' with its last checkpoint
    and :func:`unfinished_jobs` resumes it at the next start.
    """


class ProgressWriter:
    """A runner's ``on_progress``: records the frames read on the job row about every ``interval_s``.

    Checkpoints (every ten seconds or so) save the analyser's whole state; this writes one small row update,
    so a page polling the job sees it advance each second. The row is written by a thread of its own: the
    analysis only notes the count and goes on to the next frame, never waiting for the database (whose write lock
    a busy web app may hold). With ``stop`` set, the job is interrupted. :meth:`close` writes the last count.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        job_id: int,
        *,
        interval_s: float = 1.0,
        stop: threading.Event | None = None,
    ) -> None:
        self._sessions, self._job_id, self._interval_s, self._stop = sessions, job_id, interval_s, stop
        self._changed = threading.Condition()
        self._done: int | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._write_loop, name=f"vigil-progress-{job_id}", daemon=True)
        self._thread.start()

    def __call__(self, done: int, total: int) -> None:
        if self._stop is not None and self._stop.is_set():
            raise JobInterrupted(f"analysis job {self._job_id} interrupted by shutdown")
        with self._changed:
            self._done = done

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join(timeout=60)

    def _write_loop(self) -> None:
        written: int | None = None
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closed, timeout=self._interval_s)
                done, closed = self._done, self._closed
            if done is not None and done != written:
                self._write(done)
                written = done
            if closed:
                return

    def _write(self, done: int) -> None:
        try:
            with self._sessions() as db:
                db.execute(
                    update(AnalysisJob)
                    .where(AnalysisJob.id == self._job_id, AnalysisJob.status == JobStatus.RUNNING)
                    .values(progress_frames=done, heartbeat_at=utcnow())
                )
                db.commit()
        except OperationalError as exc:  # e.g. SQLite busy for longer than its timeout: progress is best-effort
            log.warning("analysis job %s: progress not recorded (%s)", self._job_id, exc.orig)


class JobRun(Protocol):
    """Runs one analysis job to the end on a database; the number of tracks it wrote."""

    def __call__(self, system: Backend, job_id: int, /, *, stop: threading.Event | None = None) -> int: ...


RESUMES_FROM_CHECKPOINT = "from its last checkpoint"


def run_job(system: Backend, job_id: int, *, stop: threading.Event | None = None) -> int:
    """Run one job to the end with live progress; the number of tracks it wrote."""
    writer = ProgressWriter(system.sessions, job_id, stop=stop)
    try:
        return make_runner(system, on_progress=writer).run(job_id).tracks_written
    finally:
        writer.close()


def run_job_in_worker(settings: Settings, job_id: int) -> int:
    """Entry point of a worker process: its own engine and sessions, closed when the job ends."""
    database = open_database(settings)
    try:
        return run_job(database, job_id)
    finally:
        database.close()


def give_way(increment: int) -> None:
    """A worker process's initializer: lower its CPU priority so the web server's requests come first."""
    if increment > 0 and hasattr(os, "nice"):
        os.nice(increment)


class LocalExecutor:
    """Runs jobs in spawned worker processes (one by default: analysis already uses both cores).

    The processes run at a lower CPU priority (``settings.analysis.nice``): an analysis takes whatever CPU the
    people using the web app leave, so a page answers as fast during an analysis as without one.
    """

    def __init__(self, settings: Settings, *, workers: int = 1) -> None:
        self._settings = settings
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=give_way,
            initargs=(settings.analysis.nice,),
        )
        self._running: dict[int, Future[int]] = {}

    def submit(self, job_id: int) -> None:
        if job_id in self._running and not self._running[job_id].done():
            return
        future = self._pool.submit(run_job_in_worker, self._settings, job_id)
        future.add_done_callback(partial(_log_outcome, job_id))
        self._running[job_id] = future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ThreadExecutor:
    """Runs jobs one at a time in a background thread of this process, on its own database engine.

    Shutting down interrupts the running job at its next frame (it resumes from its last checkpoint at
    the next start) and drops the queued ones, which stay queued in the database.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        run: JobRun = run_job,
        thread_name: str = "vigil-analysis",
        resumes: str = RESUMES_FROM_CHECKPOINT,
    ) -> None:
        self._database = open_database(settings)
        self._run, self._resumes = run, resumes
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._running: dict[int, Future[int]] = {}
        self._stop = threading.Event()

    def submit(self, job_id: int) -> None:
        if job_id in self._running and not self._running[job_id].done():
            return
        future = self._pool.submit(self._run, self._database, job_id, stop=self._stop)
        future.add_done_callback(partial(_log_outcome, job_id, resumes=self._resumes))
        self._running[job_id] = future

    def shutdown(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._database.close()


def _log_outcome(job_id: int, future: Future[int], *, resumes: str = RESUMES_FROM_CHECKPOINT) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if isinstance(error, JobInterrupted):
        log.info("analysis job %s interrupted; it resumes %s at the next start", job_id, resumes)
    elif error is not None:
        log.error("analysis job %s failed: %s", job_id, error)


ALIVE_WITHIN = timedelta(seconds=60)


def unfinished_jobs(db: Session, *, now: datetime | None = None) -> list[int]:
    """Jobs that were queued or running when the system last stopped (resumed from their checkpoints).

    A running job whose owner process (see :mod:`vigil.analysis.liveness`) is known to be dead is resumed
    whatever its heartbeat; one whose owner still runs, such as a `vigil analyse` in a terminal, is left
    alone. When the owner cannot be checked (another machine, or a job from before owners were recorded),
    a heartbeat (written every second or so) under a minute old means alive.
    """
    alive_since = (now or utcnow()) - ALIVE_WITHIN
    stmt = select(AnalysisJob.id, AnalysisJob.status, AnalysisJob.owner, AnalysisJob.heartbeat_at).where(
        AnalysisJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))
    )
    resume = []
    for job_id, status, owner, heartbeat in db.execute(stmt.order_by(AnalysisJob.id)):
        if status == JobStatus.RUNNING:
            alive = owner_is_alive(owner)
            if alive is None:
                alive = heartbeat is not None and heartbeat >= alive_since
            if alive:
                continue
        resume.append(job_id)
    return resume


def resume_unfinished(sessions: sessionmaker[Session], executor: JobExecutor) -> list[int]:
    """Submit every unfinished job to ``executor`` (at start-up, after a crash or restart); their ids."""
    with sessions() as db:
        job_ids = unfinished_jobs(db)
    for job_id in job_ids:
        executor.submit(job_id)
    if job_ids:
        log.info("resuming unfinished analysis jobs %s", job_ids)
    return job_ids
