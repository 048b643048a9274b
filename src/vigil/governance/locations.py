"""Force camera locations and their Privacy Impact Assessments; the cameras themselves are in
:mod:`vigil.governance.cameras`.

Footage from a camera may be analysed only while its location has a current PIA
(approved on or before today, review date not passed). Footage a camera's owner sent through a footage request
has another basis: the owner's consent (the request and the upload) together with the requesting case's own
authorisation, valid only while the footage is held for that case (``Footage.consent_case_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Footage, Location, PrivacyImpactAssessment, User
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import refuse, require_permission
from vigil.governance.roles import Permission


def check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise InvalidInput("give both latitude and longitude, or neither")
    if latitude is not None and not -90 <= latitude <= 90:
        raise InvalidInput("latitude must be between -90 and 90")
    if longitude is not None and not -180 <= longitude <= 180:
        raise InvalidInput("longitude must be between -180 and 180")


def add_location(
    db: Session,
    *,
    actor: User,
    name: str,
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
) -> Location:
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="location.add")
    name = name.strip()
    if not name:
        raise InvalidInput("location name is required")
    check_coordinates(latitude, longitude)
    if db.execute(select(Location.id).where(Location.name == name)).first():
        raise Conflict(f"a location named {name!r} already exists")
    location = Location(
        name=name[:200],
        address=address.strip()[:400],
        latitude=latitude,
        longitude=longitude,
        created_at=utcnow(),
    )
    db.add(location)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="location.add",
        subject_type="location",
        subject_id=location.id,
        details={"name": location.name},
    )
    return location


def get_location(db: Session, name_or_id: str | int) -> Location:
    stmt = select(Location)
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        stmt = stmt.where(Location.id == int(name_or_id))
    else:
        stmt = stmt.where(Location.name == name_or_id)
    location = db.execute(stmt).scalar_one_or_none()
    if location is None:
        raise NotFound(f"no camera location {name_or_id!r}")
    return location


def add_pia(
    db: Session,
    *,
    actor: User,
    location_id: int,
    reference: str,
    approved_purposes: str,
    approved_on: date,
    review_date: date,
    approved_by: str,
) -> PrivacyImpactAssessment:
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="pia.add")
    location = get_location(db, location_id)
    reference = reference.strip()
    if not reference or not approved_purposes.strip() or not approved_by.strip():
        raise InvalidInput("PIA reference, approved purposes and approver are all required")
    if review_date <= approved_on:
        raise InvalidInput("the review date must be after the approval date")
    if db.execute(select(PrivacyImpactAssessment.id).where(PrivacyImpactAssessment.reference == reference)).first():
        raise Conflict(f"a PIA with reference {reference!r} already exists")
    pia = PrivacyImpactAssessment(
        location_id=location.id,
        reference=reference[:64],
        approved_purposes=approved_purposes.strip(),
        approved_on=approved_on,
        review_date=review_date,
        approved_by=approved_by.strip()[:200],
        recorded_by_id=actor.id,
        recorded_at=utcnow(),
    )
    db.add(pia)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="pia.add",
        subject_type="location",
        subject_id=location.id,
        details={"reference": pia.reference, "review_date": review_date.isoformat()},
    )
    return pia


def current_pia(location: Location, today: date) -> PrivacyImpactAssessment | None:
    current = [p for p in location.pias if p.approved_on <= today <= p.review_date]
    return max(current, key=lambda p: p.review_date, default=None)


def require_current_pia(db: Session, *, camera: Camera, user: User, action: str, today: date) -> None:
    """Refuse (and audit) analysis of footage from a camera whose location has no current PIA."""
    if current_pia(camera.location, today) is None:
        raise refuse(
            db, actor=user.username, action=action, reason=no_pia_reason(camera), details={"camera": camera.code}
        )


def no_pia_reason(camera: Camera) -> str:
    return (
        f"camera {camera.code} at '{camera.location.name}' has no current Privacy Impact Assessment; "
        "its footage cannot be analysed until an administrator records one"
    )


@dataclass(frozen=True)
class AnalysisBasis:
    """Why a footage may be analysed (``lawful``), or why not (``reason``)."""

    lawful: bool
    basis: str  # the PIA, or the owner's consent under a case; empty when not lawful
    reason: str  # why it may not be analysed; empty when lawful


def analysis_basis(footage: Footage, today: date) -> AnalysisBasis:
    """A location PIA, else the owner's consent plus the case's authorisation (only under that very case)."""
    pia = current_pia(footage.camera.location, today)
    if pia is not None:
        return AnalysisBasis(True, f"PIA {pia.reference}", "")
    if footage.consent_case_id is not None:
        if footage.consent_case_id == footage.case_id:
            return AnalysisBasis(True, "owner's consent (footage request) and the case's authorisation", "")
        return AnalysisBasis(
            False,
            "",
            "footage sent by a camera owner may be analysed only for the case that asked for it, and it is no "
            "longer held for that case",
        )
    return AnalysisBasis(False, "", no_pia_reason(footage.camera))


def require_analysis_basis(db: Session, *, footage: Footage, user: User, action: str, today: date) -> str:
    """The basis for analysing a footage; refused (and audited, with the reason) when there is none."""
    basis = analysis_basis(footage, today)
    if not basis.lawful:
        details = {"camera": footage.camera.code, "footage": footage.id}
        raise refuse(db, actor=user.username, action=action, reason=basis.reason, details=details)
    return basis.basis


@dataclass(frozen=True)
class LocationStatus:
    location: Location
    pia: PrivacyImpactAssessment | None


def location_register(db: Session, *, actor: User, today: date) -> list[LocationStatus]:
    """Every location with its current PIA (if any) and its cameras."""
    require_permission(db, user=actor, permission=Permission.VIEW_CAMERAS, action="location.list")
    stmt = select(Location).options(selectinload(Location.pias), selectinload(Location.cameras)).order_by(Location.name)
    return [LocationStatus(loc, current_pia(loc, today)) for loc in db.execute(stmt).scalars()]
