"""What live-camera workers write and status readers read: health, gaps and recorded segments.

Services flush; the caller (a worker's unit of work, a command, a request) commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.live_models import LiveGap, LiveHealth, LiveSegment
from vigil.db.models import Footage, User
from vigil.footage.custody import add_custody_event
from vigil.footage.ingest import ingest_footage
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.roles import Permission
from vigil.settings import Settings

SEGMENT_RECORDED = "live segment recorded"
GAP_TOLERANCE = timedelta(seconds=0.5)  # a reconnection closer than this to the last segment is no gap


@dataclass(frozen=True)
class RecordedSegment:
    camera_code: str
    path: Path
    started_at: datetime
    ended_at: datetime


def write_health(db: Session, *, camera_code: str, **fields: Any) -> LiveHealth:
    """Create or update a camera's health row (``since`` moves only when the state changes)."""
    row = db.get(LiveHealth, camera_code)
    now = fields.pop("now", None) or utcnow()
    if row is None:
        row = LiveHealth(camera_code=camera_code, state=fields.get("state", "connecting"), since=now, reason="")
        row.codec, row.width, row.height, row.fps, row.drops, row.lag_s = "", 0, 0, 0.0, 0, 0.0
        row.segments, row.worker_pid, row.restarts, row.recording, row.node = 0, 0, 0, "continuous", ""
        db.add(row)
    elif "state" in fields and fields["state"] != row.state:
        row.since = now
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = now
    db.flush()
    return row


def last_segment(db: Session, camera_code: str) -> LiveSegment | None:
    stmt = select(LiveSegment).where(LiveSegment.camera_code == camera_code)
    return db.execute(stmt.order_by(LiveSegment.ended_at.desc()).limit(1)).scalar_one_or_none()


def open_gap(db: Session, *, camera_code: str, reason: str, at: datetime | None = None) -> LiveGap | None:
    """Open a gap from the end of the camera's last segment (or ``at``), unless one is open already."""
    if _open_gap(db, camera_code) is not None:
        return None
    previous = last_segment(db, camera_code)
    started = previous.ended_at if previous is not None else (at or utcnow())
    gap = LiveGap(camera_code=camera_code, started_at=started, ended_at=None, reason=reason)
    db.add(gap)
    db.flush()
    return gap


def close_gap(db: Session, *, camera_code: str, resumed_at: datetime, reason: str) -> LiveGap | None:
    """Recording resumed at ``resumed_at``: close the open gap, or record one if the last segment ended earlier."""
    gap = _open_gap(db, camera_code)
    if gap is None:
        previous = last_segment(db, camera_code)
        if previous is None or resumed_at - previous.ended_at <= GAP_TOLERANCE:
            return None
        gap = LiveGap(camera_code=camera_code, started_at=previous.ended_at, reason=reason)
        db.add(gap)
    gap.ended_at = max(resumed_at, gap.started_at)
    db.flush()
    return gap


def _open_gap(db: Session, camera_code: str) -> LiveGap | None:
    stmt = select(LiveGap).where(LiveGap.camera_code == camera_code, LiveGap.ended_at.is_(None))
    return db.execute(stmt.order_by(LiveGap.id.desc()).limit(1)).scalar_one_or_none()


def ingest_segment(db: Session, *, settings: Settings, user: User, segment: RecordedSegment) -> Footage:
    """Ingest a finished segment as footage, with a custody event naming the camera's previous segment."""
    previous = last_segment(db, segment.camera_code)
    result = ingest_footage(
        db,
        settings=settings,
        user=user,
        source_path=segment.path,
        camera_code=segment.camera_code,
        original_name=segment.path.name,
        start=segment.started_at,
        source="live recording",
    )
    footage = result.footage
    if result.duplicate:  # the same bytes again (a restart re-offering a spooled file): never chain it twice
        return footage
    previous_footage = db.get(Footage, previous.footage_id) if previous is not None else None
    details = {
        "camera": segment.camera_code,
        "segment_start": segment.started_at.isoformat(),
        "segment_end": segment.ended_at.isoformat(),
        "previous_footage_id": previous_footage.id if previous_footage else None,
        "previous_sha256": previous_footage.sha256 if previous_footage else None,
    }
    add_custody_event(
        db,
        footage=footage,
        actor=user.username,
        action=SEGMENT_RECORDED,
        sha256=footage.sha256,
        details=details,
        at=utcnow(),
    )
    db.add(
        LiveSegment(
            footage_id=footage.id,
            camera_code=segment.camera_code,
            started_at=segment.started_at,
            ended_at=segment.ended_at,
            previous_footage_id=details["previous_footage_id"],
            previous_sha256=details["previous_sha256"],
        )
    )
    db.flush()
    return footage


def already_ingested(db: Session, sha256: str) -> bool:
    return db.execute(select(Footage.id).where(Footage.sha256 == sha256)).first() is not None


def camera_health(db: Session, *, user: User, codes: list[str], context: str) -> list[LiveHealth]:
    """The health of the given cameras (a row in state 'unknown' for one no worker has reported), audited."""
    require_permission(db, user=user, permission=Permission.VIEW_CAMERAS, action="live.status")
    rows = {row.camera_code: row for row in db.execute(select(LiveHealth)).scalars()}
    now = utcnow()
    result = [rows.get(code) or LiveHealth(camera_code=code, state="unknown", since=now, reason="") for code in codes]
    result += [row for code, row in sorted(rows.items()) if code not in codes]
    audit.record(
        db, actor=user.username, action="live.status", details={"cameras": len(result), "via": context}, now=now
    )
    return result


def list_gaps(db: Session, camera_code: str) -> list[LiveGap]:
    stmt = select(LiveGap).where(LiveGap.camera_code == camera_code).order_by(LiveGap.started_at, LiveGap.id)
    return list(db.execute(stmt).scalars())


def list_segments(db: Session, camera_code: str) -> list[LiveSegment]:
    stmt = select(LiveSegment).where(LiveSegment.camera_code == camera_code).order_by(LiveSegment.started_at)
    return list(db.execute(stmt).scalars())
