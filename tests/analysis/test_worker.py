from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy.orm import Session

from tests.support.analysis_store import footage_with_job
from vigil.analysis.liveness import owner_is_alive, process_identity
from vigil.analysis.worker import unfinished_jobs
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
