"""Correcting a footage's recording time (taken from file metadata, which cameras often get wrong).

An investigator of the case the footage is held for gives the true start and a reason; the footage, its tracks
(first and last seen, and the local-time search column) move by the same amount (observations are relative).
The old and new values and the reason go to the audit trail and the footage's chain of custody.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.analysis.columns import local_minute
from vigil.db.base import utcnow
from vigil.db.models import Footage, Track, User
from vigil.errors import InvalidInput, NotFound
from vigil.footage.custody import add_custody_event
from vigil.governance import audit
from vigil.governance.access import authorise
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.settings import Settings

ACTION = "footage.correct_time"
TIME_CORRECTED = "recording time corrected"
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
MAX_REASON_CHARS = 500


def correct_start_time(
    db: Session,
    *,
    settings: Settings,
    user: User,
    context: AuditContext,
    footage_id: int,
    start_time: datetime,
    reason: str,
    now: datetime | None = None,
) -> Footage:
    """Set a footage's true recording start (only within its own case); its tracks' times follow."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.ANALYTICS, action=ACTION, context=context, now=now)
    footage = db.get(Footage, footage_id)
    if footage is None or footage.case is None or footage.case.reference != context.case_ref:
        raise NotFound(f"case {context.case_ref} holds no footage {footage_id}")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("give the reason for correcting the recording time")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"the reason is limited to {MAX_REASON_CHARS} characters")
    if start_time.tzinfo is None:
        raise InvalidInput("give the recording time with its zone")
    if not EARLIEST <= start_time <= now:
        raise InvalidInput("the recording time must be between 1990 and now")
    old = footage.start_time
    shift = start_time - old
    footage.start_time, footage.start_time_source = start_time, "correction"
    moved = _shift_tracks(db, footage_id=footage.id, shift=shift, settings=settings)
    details = {"old": old.isoformat(), "new": start_time.isoformat(), "reason": reason, "tracks": moved}
    add_custody_event(
        db, footage=footage, actor=user.username, action=TIME_CORRECTED, sha256=footage.sha256, details=details, at=now
    )
    audit.record(
        db,
        actor=user.username,
        action=ACTION,
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="footage",
        subject_id=footage.id,
        details=details,
        now=now,
    )
    db.flush()
    return footage


def _shift_tracks(db: Session, *, footage_id: int, shift: timedelta, settings: Settings) -> int:
    tracks = list(db.execute(select(Track).where(Track.footage_id == footage_id)).scalars())
    for track in tracks:
        track.first_seen += shift
        track.last_seen += shift
        track.start_minute = local_minute(track.first_seen, settings.zone)
    return len(tracks)
