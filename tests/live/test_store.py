"""Recorded segments follow the footage retention: deleting an expired segment's footage removes its segment row
and leaves the next segment's chain pointing at nothing (its custody event still names the deleted SHA-256)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.retention import aged_footage
from vigil.db.base import utcnow
from vigil.db.live_models import LiveGap, LiveSegment
from vigil.db.models import Footage
from vigil.governance.retention import run_retention
from vigil.live.store import close_gap, open_gap
from vigil.settings import Settings
from vigil.system import default_rules


def test_retention_deletes_expired_segments_with_their_footage(db: Session, settings: Settings) -> None:
    old = aged_footage(db, settings, "OLD", age_days=40)
    new = aged_footage(db, settings, "NEW", age_days=1)
    start = utcnow() - timedelta(days=40)
    db.add(LiveSegment(footage_id=old.id, camera_code="CAM-1", started_at=start, ended_at=start + timedelta(minutes=1)))
    db.add(
        LiveSegment(
            footage_id=new.id,
            camera_code="CAM-1",
            started_at=start + timedelta(minutes=1),
            ended_at=start + timedelta(minutes=2),
            previous_footage_id=old.id,
            previous_sha256=old.sha256,
        )
    )
    db.flush()
    run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir, actor="system")
    db.expire_all()
    assert db.get(Footage, old.id) is None and db.get(LiveSegment, old.id) is None
    kept = db.get(LiveSegment, new.id)
    assert kept is not None and kept.previous_footage_id is None and kept.previous_sha256 == old.sha256


def test_a_gap_opens_at_the_end_of_the_last_segment_once_and_closes_when_recording_resumes(
    db: Session, settings: Settings
) -> None:
    footage = aged_footage(db, settings, "SEG", age_days=0)
    end = utcnow() - timedelta(seconds=30)
    db.add(
        LiveSegment(footage_id=footage.id, camera_code="CAM-2", started_at=end - timedelta(seconds=60), ended_at=end)
    )
    db.flush()
    first = open_gap(db, camera_code="CAM-2", reason="the stream ended")
    assert first is not None and first.started_at == end
    assert open_gap(db, camera_code="CAM-2", reason="unreachable") is None  # still the same outage
    resumed = end + timedelta(seconds=12)
    closed = close_gap(db, camera_code="CAM-2", resumed_at=resumed, reason="ignored: a gap was open")
    assert closed is first and closed.ended_at == resumed and closed.reason == "the stream ended"
    # a restart that resumes within half a second of the last segment is no gap at all
    assert close_gap(db, camera_code="CAM-3", resumed_at=resumed, reason="x") is None
    assert len(db.execute(select(LiveGap).where(LiveGap.camera_code == "CAM-2")).all()) == 1
