"""A camera whose recording fails (disk full, no permission, segments that cannot be ingested) tells the
supervisors once per episode, and shows them a notice until recording resumes.

An episode opens at the first failure (the camera's health row keeps since when and why, so a restarted worker
that fails again is still in the same episode): every active supervisor with an email address gets one email
through the mail outbox (delivered after the worker's transaction commits, by the web app's outbox loop or any
delivery pass), and the opening is audited with who was told. It closes in the transaction that stores the
camera's next segment (audited too); a failure after that is a new episode and a new email.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.live_models import LiveHealth
from vigil.db.models import User
from vigil.governance import audit
from vigil.governance.audit import SYSTEM_ACTOR
from vigil.governance.mail import Email
from vigil.governance.outbox import enqueue
from vigil.governance.roles import Role
from vigil.live.store import write_health

RECORDING_FAILED = "live.recording_failed"
RECORDING_RESUMED = "live.recording_resumed"
MAIL_SUBJECT = "live_recording"


def supervisors(db: Session) -> list[User]:
    """The active users who hold the supervisor role."""
    stmt = select(User).where(User.role == Role.SUPERVISOR.value, User.is_active.is_(True)).order_by(User.username)
    return list(db.execute(stmt).scalars())


def recording_failed(
    db: Session, *, camera_code: str, reason: str, force_name: str, now: datetime | None = None
) -> list[str] | None:
    """Open the camera's recording-failure episode: queue one email to each supervisor and audit it.

    Returns the usernames emailed, or None when the episode was already open (nothing is sent again).
    """
    now = now or utcnow()
    row = db.get(LiveHealth, camera_code) or write_health(db, camera_code=camera_code, state="error", reason=reason)
    if row.recording_failed_at is not None:
        return None
    row.recording_failed_at, row.recording_failure = now, reason
    people = supervisors(db)
    told = [user for user in people if user.email]
    for user in told:
        email = _email(user, camera_code=camera_code, reason=reason, at=now, force_name=force_name)
        enqueue(db, email=email, subject_type=MAIL_SUBJECT, now=now)
    audit.record(
        db,
        actor=SYSTEM_ACTOR,
        action=RECORDING_FAILED,
        subject_type="camera",
        subject_id=camera_code,
        details={
            "reason": reason,
            "emailed": [user.username for user in told],
            "without_email": [user.username for user in people if not user.email],
        },
        now=now,
    )
    db.flush()
    return [user.username for user in told]


def recording_resumed(db: Session, *, camera_code: str, now: datetime | None = None) -> bool:
    """Close the camera's episode (a segment was stored again): the notice goes, and it is audited."""
    row = db.get(LiveHealth, camera_code)
    if row is None or row.recording_failed_at is None:
        return False
    audit.record(
        db,
        actor=SYSTEM_ACTOR,
        action=RECORDING_RESUMED,
        subject_type="camera",
        subject_id=camera_code,
        details={"failed_since": row.recording_failed_at.isoformat(), "reason": row.recording_failure},
        now=now,
    )
    row.recording_failed_at, row.recording_failure = None, ""
    db.flush()
    return True


def recording_notices(db: Session, *, user: User) -> list[LiveHealth]:
    """The cameras whose recording is failing now, for a supervisor (nobody else is shown the notice)."""
    if user.role != Role.SUPERVISOR.value:
        return []
    stmt = select(LiveHealth).where(LiveHealth.recording_failed_at.is_not(None)).order_by(LiveHealth.camera_code)
    return list(db.execute(stmt).scalars())


def _email(user: User, *, camera_code: str, reason: str, at: datetime, force_name: str) -> Email:
    body = (
        f"Dear {user.display_name},\n\n"
        f"Camera {camera_code} stopped recording at {at:%Y-%m-%d %H:%M:%S} UTC:\n\n    {reason}\n\n"
        "Its stream is still watched, but nothing is being kept as evidence until this is fixed (e.g. free disk "
        "space in the live spool and footage folders). Nothing half-written was stored. The gap is recorded, and "
        "vigil shows supervisors a notice until recording resumes; you will not be emailed again about this "
        "episode.\n\n"
        f"{force_name} - vigil\n"
    )
    return Email(user.email, f"vigil: camera {camera_code} stopped recording", body)
