from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests.analysis.test_store import _footage
from vigil.analysis.worker import unfinished_jobs
from vigil.db.base import utcnow
from vigil.db.models import AnalysisJob


def test_only_abandoned_jobs_are_resumed(db: Session) -> None:
    footage, running = _footage(db)
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
