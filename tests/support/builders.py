"""Builders that make exactly the records a test needs (bypassing the services' permission checks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Camera, Case, CaseMember, Location, PrivacyImpactAssessment, TrainingRecord, User

PASSWORD = "correct horse battery staple"


def make_user(
    db: Session,
    username: str,
    role: str = "investigator",
    *,
    trained_for: tuple[str, ...] = (),
    password: str = PASSWORD,
    must_change_password: bool = False,
    cases: Sequence[str] = (),
) -> User:
    """A user with current training for ``trained_for``, a member of the open cases ``cases`` (made if new)."""
    user = User(
        username=username,
        display_name=username.title(),
        role=role,
        password_hash=PasswordHasher(time_cost=1, memory_cost=1024).hash(password),
        must_change_password=must_change_password,
        created_at=utcnow(),
    )
    db.add(user)
    db.flush()
    today = utcnow().date()
    for capability in trained_for:
        db.add(
            TrainingRecord(
                user_id=user.id,
                capability=capability,
                course=f"{capability} course",
                completed_on=today - timedelta(days=30),
                expires_on=today + timedelta(days=335),
                recorded_by_id=user.id,
                recorded_at=utcnow(),
            )
        )
    db.flush()
    for reference in cases:
        make_case(db, reference, members=[user])
    return user


def make_camera(db: Session, code: str = "PEN-01", *, pia_review: date | None = None, location: str = "") -> Camera:
    """A camera at its own location; with ``pia_review`` the location gets a PIA approved a year earlier."""
    site = Location(
        name=location or f"Site of {code}",
        address="Market Square, Penrith",
        latitude=54.664,
        longitude=-2.752,
        created_at=utcnow(),
    )
    db.add(site)
    db.flush()
    if pia_review is not None:
        recorder = db.query(User).first()
        assert recorder is not None, "make a user before a camera with a PIA"
        db.add(
            PrivacyImpactAssessment(
                location_id=site.id,
                reference=f"PIA-{code}",
                approved_purposes="prevention and detection of crime",
                approved_on=pia_review - timedelta(days=365),
                review_date=pia_review,
                approved_by="Chief Inspector",
                recorded_by_id=recorder.id,
                recorded_at=utcnow(),
            )
        )
    camera = Camera(code=code, name=f"Camera {code}", location_id=site.id, created_at=utcnow())
    db.add(camera)
    db.flush()
    db.refresh(site)
    return camera


def make_case(
    db: Session,
    reference: str = "CUM-2026-000001",
    *,
    members: Sequence[User] = (),
    title: str = "",
    opened_by: User | None = None,
    status: str = "open",
) -> Case:
    """An open case with these members (bypassing the supervisor's checks); returns the existing case, with the
    members added, when one with this reference exists."""
    case = db.execute(select(Case).where(Case.reference == reference)).scalar_one_or_none()
    opener = opened_by or (members[0] if members else db.query(User).first())
    assert opener is not None, "make a user before a case"
    if case is None:
        case = Case(
            reference=reference,
            title=title or f"Case {reference}",
            status=status,
            opened_by_id=opener.id,
            opened_at=utcnow(),
        )
        db.add(case)
        db.flush()
    held = set(db.execute(select(CaseMember.user_id).where(CaseMember.case_id == case.id)).scalars())
    for member in members:
        if member.id not in held:
            db.add(CaseMember(case_id=case.id, user_id=member.id, added_by_id=opener.id, added_at=utcnow()))
    db.flush()
    return case
