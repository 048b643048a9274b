"""Training records: a capability is usable only with a current record for it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import TrainingRecord, User
from vigil.errors import InvalidInput
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.roles import Capability, Permission
from vigil.governance.users import get_user


def parse_capability(name: str) -> Capability:
    try:
        return Capability(name.strip().lower())
    except ValueError:
        choices = ", ".join(c.value for c in Capability)
        raise InvalidInput(f"unknown capability {name!r}; choose one of {choices}") from None


def record_training(
    db: Session,
    *,
    actor: User,
    username: str,
    capability: str,
    course: str,
    completed_on: date,
    expires_on: date,
) -> TrainingRecord:
    """Record that ``username`` completed a course for a capability (by a supervisor or administrator)."""
    require_permission(db, user=actor, permission=Permission.RECORD_TRAINING, action="training.add")
    trainee = get_user(db, username)
    cap = parse_capability(capability)
    if trainee.id == actor.id:
        raise InvalidInput("training must be recorded by someone other than the trainee")
    if not course.strip():
        raise InvalidInput("course name is required")
    if expires_on <= completed_on:
        raise InvalidInput("expiry date must be after the completion date")
    if completed_on > utcnow().date():
        raise InvalidInput("completion date cannot be in the future")
    record = TrainingRecord(
        user_id=trainee.id,
        capability=cap.value,
        course=course.strip()[:200],
        completed_on=completed_on,
        expires_on=expires_on,
        recorded_by_id=actor.id,
        recorded_at=utcnow(),
    )
    db.add(record)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="training.add",
        capability=cap.value,
        subject_type="user",
        subject_id=trainee.username,
        details={
            "course": record.course,
            "completed_on": completed_on.isoformat(),
            "expires_on": expires_on.isoformat(),
        },
    )
    return record


def training_roster(db: Session, *, actor: User) -> list[User]:
    """Every account with its training records, for those who record training (supervisors, administrators)."""
    require_permission(db, user=actor, permission=Permission.RECORD_TRAINING, action="user.list")
    stmt = select(User).options(selectinload(User.training)).order_by(User.username)
    return list(db.execute(stmt).scalars())
