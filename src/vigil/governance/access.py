"""Who may do what: role grants, current training, purpose and case. Every refusal is audited.

Services call :func:`authorise` (investigative capabilities) or :func:`require_permission`
(administration) before doing anything, so no route or command can skip the checks.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Case, TrainingRecord, User
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance import audit
from vigil.governance.audit import AuditContext, Outcome
from vigil.governance.roles import Capability, Permission, role_grants_capability, role_has_permission

CASE_REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.\-]{1,63}$")
MIN_PURPOSE_CHARS = 10


def make_context(case_ref: str | None, purpose: str | None) -> AuditContext:
    """Validate a case reference and a purpose; both are required for searches, views and exports."""
    case_ref = (case_ref or "").strip()
    purpose = " ".join((purpose or "").split())
    if not case_ref:
        raise InvalidInput("a case reference is required (e.g. CUM-2026-001234)")
    if not CASE_REF_PATTERN.match(case_ref):
        raise InvalidInput("case reference must be 2-64 letters, digits or / _ . - and start with a letter or digit")
    if len(purpose) < MIN_PURPOSE_CHARS:
        raise InvalidInput(f"state the policing purpose in at least {MIN_PURPOSE_CHARS} characters")
    if len(purpose) > 1000:
        raise InvalidInput("purpose is limited to 1000 characters")
    return AuditContext(case_ref=case_ref, purpose=purpose)


def refuse(
    db: Session,
    *,
    actor: str,
    action: str,
    reason: str,
    capability: str | None = None,
    context: AuditContext | None = None,
    details: dict[str, object] | None = None,
) -> NotPermitted:
    """Audit a refusal and commit it (so it survives the caller's rollback); return the error to raise."""
    audit.record(
        db,
        actor=actor,
        action=action,
        outcome=Outcome.REFUSED,
        capability=capability,
        context=context,
        details={"reason": reason, **(details or {})},
    )
    db.commit()
    return NotPermitted(reason)


def current_training(db: Session, *, user: User, capability: Capability, today: date) -> TrainingRecord | None:
    stmt = (
        select(TrainingRecord)
        .where(
            TrainingRecord.user_id == user.id,
            TrainingRecord.capability == capability.value,
            TrainingRecord.completed_on <= today,
            TrainingRecord.expires_on >= today,
        )
        .order_by(TrainingRecord.expires_on.desc())
        .limit(1)
    )
    return db.execute(stmt).scalar_one_or_none()


def capability_status(db: Session, *, user: User, today: date) -> dict[Capability, str]:
    """For each capability: 'granted', 'needs training' or 'not for this role' (used by pages)."""
    status: dict[Capability, str] = {}
    for capability in Capability:
        if not role_grants_capability(user.role, capability):
            status[capability] = "not for this role"
        elif current_training(db, user=user, capability=capability, today=today) is None:
            status[capability] = "needs training"
        else:
            status[capability] = "granted"
    return status


def authorise(
    db: Session,
    *,
    user: User,
    capability: Capability,
    action: str,
    context: AuditContext | None,
    context_required: bool = True,
    now: datetime | None = None,
) -> None:
    """Allow ``action`` only for an active user whose role grants ``capability``, with current training
    for it and (for searches, views and exports) a stated purpose and case. Refusals are audited."""
    today = (now or utcnow()).date()
    reason = None
    if not user.is_active:
        reason = "this account is disabled"
    elif not role_grants_capability(user.role, capability):
        reason = f"the {user.role} role does not grant the '{capability.value}' capability"
    elif current_training(db, user=user, capability=capability, today=today) is None:
        reason = (
            f"no current training record for '{capability.value}': a supervisor or administrator "
            "must record your training before you can use it"
        )
    elif context_required and context is None:
        reason = "a purpose and case reference are required for this action"
    if reason is not None:
        raise refuse(
            db,
            actor=user.username,
            action=action,
            reason=reason,
            capability=capability.value,
            context=context,
        )
    if context is not None:
        ensure_case(db, reference=context.case_ref, user=user)


def require_permission(db: Session, *, user: User, permission: Permission, action: str) -> None:
    if not user.is_active or not role_has_permission(user.role, permission):
        raise refuse(
            db,
            actor=user.username,
            action=action,
            reason=f"the {user.role} role may not {permission.value.replace('_', ' ')}",
        )


def ensure_case(db: Session, *, reference: str, user: User) -> Case:
    """The case with this reference, registered on first use (vigil does not hold the force's case list).

    Two officers may open a new case at the same moment: the second insert hits the unique reference, its
    savepoint is rolled back and the case the first one registered is returned (one case, one ``case.open``).
    """
    by_reference = select(Case).where(Case.reference == reference)
    case = db.execute(by_reference).scalar_one_or_none()
    if case is not None:
        return case
    try:
        with db.begin_nested():
            case = Case(reference=reference, opened_by_id=user.id, opened_at=utcnow())
            db.add(case)
    except IntegrityError:
        return db.execute(by_reference).scalar_one()
    audit.record(db, actor=user.username, action="case.open", subject_type="case", subject_id=reference)
    return case


def open_case(db: Session, *, user: User, capability: Capability, context: AuditContext) -> Case:
    """Start or join work on a case with a capability: checks role, training, purpose; audits the purpose."""
    authorise(db, user=user, capability=capability, action="case.access", context=context)
    case = ensure_case(db, reference=context.case_ref, user=user)
    audit.record(
        db,
        actor=user.username,
        action="case.access",
        capability=capability.value,
        context=context,
        subject_type="case",
        subject_id=case.reference,
    )
    return case
