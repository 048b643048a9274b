from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysis_store import footage_with_job
from vigil.analysis.liveness import owner_is_alive, process_identity
from vigil.analysis.worker import LocalExecutor, unfinished_jobs
from vigil.db.base import utcnow
from vigil.db.models import AnalysisJob


def test_only_abandoned_jobs_are_resumed(db: Session) -> None:
    footage, running = footage_with_job(db)
    now = utcnow()
    running.heartbeat_at = now - timedelta(minutes=5)  # its process died
    alive = AnalysisJob(
        footage_id=footage.id,
        status="running",
        created_by_id=running.created_by_id,
        heartbeat_at=now - timedelta(seconds=5),
    )  # e.g. a `vigil analyse` in a terminal
    queued = AnalysisJob(footage_id=footage.id, status="queued", created_by_id=running.created_by_id)
    done = AnalysisJob(footage_id=footage.id, status="done", created_by_id=running.created_by_id)
    db.add_all([alive, queued, done])
    db.flush()
    assert unfinished_jobs(db, now=now) == sorted([running.id, queued.id])


def _dead_process_identity() -> str:
    """The owner identity of a process that has since exited (as a killed server's)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        return process_identity(child.pid)
    finally:
        child.kill()
        child.wait()


def test_a_dead_owner_s_job_is_resumed_whatever_its_heartbeat_and_a_live_owner_s_is_not(db: Session) -> None:
    """F11: a server killed and restarted within a minute left its job 'running' for ever."""
    footage, dead = footage_with_job(db)
    now = utcnow()
    dead.owner, dead.heartbeat_at = _dead_process_identity(), now - timedelta(seconds=2)
    assert owner_is_alive(dead.owner) is False
    live = AnalysisJob(
        footage_id=footage.id,
        status="running",
        created_by_id=dead.created_by_id,
        owner=process_identity(),  # this process: alive, even with a heartbeat long stopped
        heartbeat_at=now - timedelta(hours=1),
    )
    elsewhere = AnalysisJob(
        footage_id=footage.id,
        status="running",
        created_by_id=dead.created_by_id,
        owner="another-host|boot|123|456",  # cannot be checked from here: the heartbeat decides
        heartbeat_at=now - timedelta(seconds=5),
    )
    db.add_all([live, elsewhere])
    db.flush()
    assert owner_is_alive(live.owner) is True and owner_is_alive(elsewhere.owner) is None
    assert unfinished_jobs(db, now=now) == [dead.id]
    assert unfinished_jobs(db, now=now + timedelta(minutes=2)) == [dead.id, elsewhere.id]


def _new_children(before: set[int | None]) -> list[multiprocessing.process.BaseProcess]:
    return [child for child in multiprocessing.active_children() if child.pid not in before]


def test_the_web_server_s_analysis_workers_give_way_to_people_s_requests(tmp_path: Path) -> None:
    """Issue 11: a background analysis takes the CPU the web app's users leave (a lower priority), not theirs."""
    settings = make_settings(tmp_path, analysis={"nice": 6})
    before = {child.pid for child in multiprocessing.active_children()}  # e.g. other tests' pools
    executor = LocalExecutor(settings)
    try:
        executor.submit(1)  # the worker process starts for it (the job itself does not matter here)
        deadline = time.monotonic() + 60
        while not (workers := _new_children(before)) and time.monotonic() < deadline:
            time.sleep(0.05)
        [worker] = workers
        assert worker.pid is not None
        pid = worker.pid
        expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 6)
        while os.getpriority(os.PRIO_PROCESS, pid) != expected and time.monotonic() < deadline:
            time.sleep(0.05)  # the initializer runs as the process starts
        assert os.getpriority(os.PRIO_PROCESS, pid) == expected
    finally:
        executor.shutdown()
