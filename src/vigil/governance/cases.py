"""Cases as an access boundary: a supervisor opens a case and assigns its members; only members (and
supervisors, audited as an override) reach its footage, tracks, marks, exports, face searches and requests.

The gate itself is :func:`vigil.governance.access.reach_case`, called by ``authorise`` for every action taken
for a stated case. This module manages the cases and their members; each change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Case, CaseMember, User
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import CASE_REF_PATTERN, is_member, reach_case, require_permission
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability, Permission, Role, role_grants_capability, role_has_permission

MAX_TITLE_CHARS = 200
MAX_SUMMARY_CHARS = 2000


@dataclass(frozen=True)
class CaseView:
    """A case as pages and commands show it."""

    reference: str
    title: str
    status: str
    opened_by: str
    opened_at: datetime
    members: tuple[str, ...]


def _case(db: Session, reference: str) -> Case:
    case = db.execute(select(Case).where(Case.reference == reference.strip())).scalar_one_or_none()
    if case is None:
        raise NotFound(f"there is no case {reference.strip()!r}")
    return case


def _user(db: Session, username: str) -> User:
    user = db.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    if user is None:
        raise NotFound(f"there is no user {username.strip()!r}")
    return user


def members_of(db: Session, *, case: Case) -> list[User]:
    stmt = (
        select(User)
        .join(CaseMember, CaseMember.user_id == User.id)
        .where(CaseMember.case_id == case.id, CaseMember.removed_at.is_(None))
        .order_by(User.username)
    )
    return list(db.execute(stmt).scalars())


def view_of(db: Session, case: Case) -> CaseView:
    opener = db.get(User, case.opened_by_id)
    return CaseView(
        reference=case.reference,
        title=case.title,
        status=case.status,
        opened_by=opener.username if opener else "",
        opened_at=case.opened_at,
        members=tuple(u.username for u in members_of(db, case=case)),
    )


def open_case_record(*, db: Session, actor: User, reference: str, title: str, summary: str = "") -> Case:
    """Open a case (supervisors only); its members are added with :func:`add_member`."""
    require_permission(db, user=actor, permission=Permission.MANAGE_CASES, action="case.open")
    reference, title, summary = reference.strip(), " ".join(title.split()), summary.strip()
    if not CASE_REF_PATTERN.match(reference):
        raise InvalidInput("case reference must be 2-64 letters, digits or / _ . - and start with a letter or digit")
    if not title or len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"give the case a title of 1-{MAX_TITLE_CHARS} characters")
    if len(summary) > MAX_SUMMARY_CHARS:
        raise InvalidInput(f"the summary is limited to {MAX_SUMMARY_CHARS} characters")
    if db.execute(select(Case.id).where(Case.reference == reference)).first() is not None:
        raise Conflict(f"case {reference} is already open")
    case = Case(
        reference=reference, title=title, summary=summary, status="open", opened_by_id=actor.id, opened_at=utcnow()
    )
    try:  # two supervisors opening one reference at once: the second meets the unique reference, not a 500
        with db.begin_nested():
            db.add(case)
    except IntegrityError:
        raise Conflict(f"case {reference} is already open") from None
    audit.record(
        db,
        actor=actor.username,
        action="case.open",
        subject_type="case",
        subject_id=reference,
        details={"title": title},
    )
    return case


def add_member(*, db: Session, actor: User, reference: str, username: str) -> CaseMember:
    """Assign a user to a case (supervisors only); administrators and auditors do not investigate."""
    require_permission(db, user=actor, permission=Permission.MANAGE_CASES, action="case.member.add")
    case, user = _case(db, reference), _user(db, username)
    if not user.is_active or Role(user.role) in (Role.ADMIN, Role.AUDITOR):
        raise InvalidInput(f"{user.username} ({user.role}) cannot work on cases")
    if case.status != "open":
        raise Conflict(f"case {case.reference} is closed")
    if is_member(db, case=case, user=user):
        raise Conflict(f"{user.username} is already a member of case {case.reference}")
    member = CaseMember(case_id=case.id, user_id=user.id, added_by_id=actor.id, added_at=utcnow())
    db.add(member)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="case.member.add",
        subject_type="case",
        subject_id=case.reference,
        details={"member": user.username},
    )
    return member


def remove_member(*, db: Session, actor: User, reference: str, username: str) -> None:
    """End a user's membership of a case (supervisors only); their access ends at once."""
    require_permission(db, user=actor, permission=Permission.MANAGE_CASES, action="case.member.remove")
    case, user = _case(db, reference), _user(db, username)
    stmt = select(CaseMember).where(
        CaseMember.case_id == case.id, CaseMember.user_id == user.id, CaseMember.removed_at.is_(None)
    )
    memberships = list(db.execute(stmt).scalars())
    if not memberships:
        raise NotFound(f"{user.username} is not a member of case {case.reference}")
    for membership in memberships:
        membership.removed_at = utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="case.member.remove",
        subject_type="case",
        subject_id=case.reference,
        details={"member": user.username},
    )


def close_case(*, db: Session, actor: User, reference: str) -> Case:
    """Close a case (supervisors only): members can no longer work on it; its records stay for retention."""
    require_permission(db, user=actor, permission=Permission.MANAGE_CASES, action="case.close")
    case = _case(db, reference)
    if case.status != "open":
        raise Conflict(f"case {case.reference} is already closed")
    case.status, case.closed_at = "closed", utcnow()
    db.flush()
    audit.record(db, actor=actor.username, action="case.close", subject_type="case", subject_id=case.reference)
    return case


def list_cases_for(*, db: Session, user: User, include_closed: bool = False) -> list[Case]:
    """The cases ``user`` may work on: every case for a supervisor, else the open cases they are a member of."""
    stmt = select(Case).order_by(Case.opened_at.desc(), Case.id.desc())
    if not include_closed:
        stmt = stmt.where(Case.status == "open")
    if not _supervises(user):
        mine = select(CaseMember.case_id).where(CaseMember.user_id == user.id, CaseMember.removed_at.is_(None))
        stmt = stmt.where(Case.id.in_(mine))
    return list(db.execute(stmt).scalars())


def reachable_case_ids(db: Session, *, user: User) -> set[int]:
    """Ids of the cases whose data ``user`` may see listed (for filtering lists such as the footage API)."""
    return {case.id for case in list_cases_for(db=db, user=user, include_closed=_supervises(user))}


def _supervises(user: User) -> bool:
    return user.is_active and role_has_permission(user.role, Permission.MANAGE_CASES)


def cases_page(*, db: Session, actor: User) -> tuple[list[CaseView], list[str]]:
    """What the Cases page shows a supervisor: every case (newest first) and who may be added to one."""
    require_permission(db, user=actor, permission=Permission.MANAGE_CASES, action="case.list")
    views = [view_of(db, case) for case in list_cases_for(db=db, user=actor, include_closed=True)]
    workers = (Role.OPERATOR.value, Role.INVESTIGATOR.value, Role.SUPERVISOR.value)
    stmt = select(User.username).where(User.is_active.is_(True), User.role.in_(workers)).order_by(User.username)
    return views, list(db.execute(stmt).scalars())


def works_on_cases(user: User) -> bool:
    """Whether the user's role investigates (so states only cases they may reach); administrators and auditors
    state an oversight reference instead (a complaint or review number), which reaches no case data."""
    return any(role_grants_capability(user.role, capability) for capability in Capability)


def check_stated_case(*, db: Session, user: User, context: AuditContext) -> None:
    """Refuse (audited) a working context naming a case the user may not reach (investigating roles only)."""
    if works_on_cases(user):
        reach_case(db, user=user, context=context, action="context.state")
