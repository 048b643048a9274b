"""Training records: a capability is usable only with a current record for it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import TrainingRecord, User
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import refuse, require_permission
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
    _require_independent_recorder(db, actor=actor, trainee=trainee, capability=cap)
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


def _require_independent_recorder(db: Session, *, actor: User, trainee: User, capability: Capability) -> None:
    """No one person may both make an account and unlock a capability on it, nor train themselves."""
    if trainee.id == actor.id:
        reason = "training must be recorded by someone other than the trainee"
    elif trainee.created_by_id == actor.id:
        reason = "you created this account, so another supervisor or trainer must record its training"
    else:
        return
    raise refuse(
        db,
        actor=actor.username,
        action="training.add",
        reason=reason,
        capability=capability.value,
        details={"trainee": trainee.username},
    )


def withdraw_training(db: Session, *, actor: User, record_id: int, reason: str) -> TrainingRecord:
    """Withdraw a training record (entered in error, or no longer valid); it stays on file but unlocks nothing."""
    require_permission(db, user=actor, permission=Permission.RECORD_TRAINING, action="training.withdraw")
    reason = " ".join(reason.split())
    if not 5 <= len(reason) <= 500:
        raise InvalidInput("give the reason for withdrawing the record (5-500 characters)")
    record = db.get(TrainingRecord, record_id)
    if record is None:
        raise NotFound(f"no training record {record_id}")
    if record.withdrawn_at is not None:
        raise InvalidInput("that training record is already withdrawn")
    record.withdrawn_at, record.withdrawn_by_id, record.withdrawn_reason = utcnow(), actor.id, reason
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="training.withdraw",
        capability=record.capability,
        subject_type="user",
        subject_id=record.user.username,
        details={"record": record.id, "course": record.course, "reason": reason},
    )
    return record


def training_roster(db: Session, *, actor: User) -> list[User]:
    """Every account with its training records, for those who record training (supervisors, administrators)."""
    require_permission(db, user=actor, permission=Permission.RECORD_TRAINING, action="user.list")
    stmt = select(User).options(selectinload(User.training)).order_by(User.username)
    return list(db.execute(stmt).scalars())
