"""Registrations: a resident or business registers cameras, verifies by email, updates or deletes them.

Nobody logs in: the verification link and the self-service link carry random tokens (stored only as hashes).
Deleting a registration erases the personal data (name, address, postcode, email, phone) and the cameras; the
audit entries name the registration's number, never its personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from vigil.db.base import utcnow
from vigil.db.registry_models import FootageRequest, RegisteredCamera, RegistryOwner
from vigil.db.share_models import SharedCamera, SharedView
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.audit import PUBLIC_ACTOR
from vigil.governance.mail import Email, is_email_address
from vigil.governance.outbox import enqueue, withdraw
from vigil.registry import geo
from vigil.registry.links import link, link_base, new_token, token_hash, well_formed
from vigil.settings import Settings

PENDING, ACTIVE, DELETED = "pending", "active", "deleted"
MAIL_SUBJECT = "registration"  # the outbox messages' subject type
CAMERA_KINDS = ("doorbell", "cctv", "dashcam")
MAX_CAMERAS = 20
CONSENT_TEXTS = {
    "2026-1": (
        "I agree that {force} may keep the details I give here (my name, address, postcode, email, phone and "
        "my cameras' positions) in its camera registry, to contact me when my cameras may have recorded "
        "something that helps an investigation. Registering does not give the police access to my cameras: "
        "I decide each time whether to share footage. I can change or delete my registration at any time "
        "with the link I am sent, and deleting it erases these details."
    ),
}
CURRENT_CONSENT = "2026-1"
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,30}$")
_POSTCODE = re.compile(r"^[A-Za-z0-9 ]{2,10}$")


def consent_text(settings: Settings, version: str = CURRENT_CONSENT) -> str:
    return CONSENT_TEXTS[version].format(force=settings.force_name)


class CameraInput(BaseModel):
    """One camera as an owner describes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field("", max_length=100, description="A name for the camera, e.g. 'front door'.")
    kind: Literal["doorbell", "cctv", "dashcam"] = Field(description="Doorbell, CCTV or dashcam.")
    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False, description="Latitude of the camera (WGS 84).")
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False, description="Longitude of the camera (WGS 84).")
    facing_deg: float | None = Field(
        None, ge=0, lt=360, allow_inf_nan=False, description="Direction it faces, degrees from north; empty: unknown."
    )
    retention_days: int = Field(ge=1, le=366, description="How many days the camera keeps its recordings.")


class RegistrationInput(BaseModel):
    """What the public registration form sends."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["resident", "business"] = Field(description="A resident or a business.")
    name: str = Field(min_length=2, max_length=200, description="Name of the person or business.")
    address: str = Field(min_length=5, max_length=400, description="Postal address of the cameras' owner.")
    postcode: str = Field("", max_length=10, description="Postcode (stored, not geocoded).")
    email: str = Field(max_length=254, description="Email address for the verification link and requests.")
    phone: str = Field("", max_length=30, description="Phone number (optional).")
    consent: bool = Field(description="The owner agreed to the consent text shown.")
    consent_version: str = Field(description="Version of the consent text the owner was shown.")
    cameras: list[CameraInput] = Field(min_length=1, max_length=MAX_CAMERAS, description="The cameras.")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not is_email_address(value):
            raise ValueError("enter an email address such as name@example.org")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if value and not _PHONE.match(value):
            raise ValueError("a phone number may hold only digits, spaces, + ( ) and -")
        return value

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        if value and not _POSTCODE.match(value):
            raise ValueError("a postcode holds only letters, digits and spaces")
        return value.upper()

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("you must agree to the consent text to register")
        return value

    @field_validator("consent_version")
    @classmethod
    def _consent_version(cls, value: str) -> str:
        if value not in CONSENT_TEXTS:
            raise ValueError("the consent text has changed: reload the form and read it again")
        return value

    @field_validator("name", "address")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(ch) < 32 and ch not in "\r\n" for ch in value):
            raise ValueError("contains control characters")
        return value


FIELD_LABELS = {
    "kind": "Registering as",
    "name": "Name",
    "address": "Address",
    "postcode": "Postcode",
    "email": "Email",
    "phone": "Phone",
    "consent": "Consent",
    "consent_version": "Consent",
    "cameras": "Cameras",
}
CAMERA_LABELS = {
    "label": "name",
    "kind": "kind",
    "latitude": "latitude",
    "longitude": "longitude",
    "facing_deg": "facing direction",
    "retention_days": "days kept",
}


def parse_registration(data: dict[str, object]) -> RegistrationInput:
    """Validate a registration, refusing with one message that names every bad field."""
    try:
        return RegistrationInput.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        where = FIELD_LABELS.get(str(loc[0]), str(loc[0])) if loc else "Form"
        if len(loc) >= 3 and loc[0] == "cameras":
            where = f"Camera {int(loc[1]) + 1} {CAMERA_LABELS.get(str(loc[2]), str(loc[2]))}"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a field of this form"
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


@dataclass(frozen=True)
class Registered:
    owner: RegistryOwner
    token: str  # the secret of the emailed link (verification or self-service)
    message_id: int  # the queued email carrying it (sent after the caller commits)


def register(db: Session, *, settings: Settings, data: RegistrationInput, now: datetime | None = None) -> Registered:
    """Store a pending registration and queue its verification email (sent after the caller commits)."""
    now = now or utcnow()
    token = new_token()
    owner = RegistryOwner(
        kind=data.kind,
        status=PENDING,
        consent_version=data.consent_version,
        consent_text=consent_text(settings, data.consent_version),
        verify_token_hash=token_hash(token),
        verify_expires_at=now + timedelta(hours=settings.registry.verify_hours),
        created_at=now,
    )
    _set_details(owner, data)
    db.add(owner)
    db.flush()
    audit.record(
        db,
        actor=PUBLIC_ACTOR,
        action="registry.register",
        subject_type="registration",
        subject_id=owner.id,
        details={"cameras": len(data.cameras), "consent_version": data.consent_version, "kind": data.kind},
        now=now,
    )
    url = link(link_base(settings), f"/register/verify#{token}")
    body = (
        f"Thank you for offering to register your cameras with {settings.force_name}.\n\n"
        f"Confirm your registration by opening this link within {settings.registry.verify_hours:g} hours:\n\n"
        f"{url}\n\nIf you did not register, ignore this email: nothing is kept unless the link is opened.\n"
    )
    email = Email(owner.email, "Confirm your camera registration", body)
    message = enqueue(db, email=email, subject_type=MAIL_SUBJECT, subject_id=owner.id, now=now)
    return Registered(owner, token, message.id)


def _set_details(owner: RegistryOwner, data: RegistrationInput) -> None:
    owner.kind = data.kind
    owner.name, owner.address, owner.postcode = data.name, data.address, data.postcode
    owner.email, owner.phone = data.email, data.phone
    owner.cameras = [
        RegisteredCamera(
            label=camera.label,
            kind=camera.kind,
            latitude=camera.latitude,
            longitude=camera.longitude,
            facing_deg=camera.facing_deg,
            retention_days=camera.retention_days,
        )
        for camera in data.cameras
    ]


def verify(db: Session, *, settings: Settings, token: str, now: datetime | None = None) -> Registered:
    """Activate the registration whose verification link this is; email the owner's self-service link."""
    now = now or utcnow()
    owner = _by_hash(db, RegistryOwner.verify_token_hash, token)
    if owner is None or owner.status != PENDING:
        raise NotFound("this confirmation link is not valid or has already been used")
    if owner.verify_expires_at is None or owner.verify_expires_at <= now:
        raise InvalidInput("this confirmation link has expired: please register again")
    manage = new_token()
    owner.status, owner.verified_at = ACTIVE, now
    owner.verify_token_hash, owner.verify_expires_at = None, None
    owner.manage_token_hash = token_hash(manage)
    db.flush()
    audit.record(
        db, actor=PUBLIC_ACTOR, action="registry.verify", subject_type="registration", subject_id=owner.id, now=now
    )
    url = link(link_base(settings), f"/register/manage#{manage}")
    body = (
        f"Your cameras are now on {settings.force_name}'s camera registry. Thank you.\n\n"
        f"Keep this email: this link lets you change or delete your registration at any time:\n\n{url}\n"
    )
    email = Email(owner.email, "Your camera registration is active", body)
    message = enqueue(db, email=email, subject_type=MAIL_SUBJECT, subject_id=owner.id, now=now)
    return Registered(owner, manage, message.id)


def _by_hash(db: Session, column: InstrumentedAttribute[str | None], token: str) -> RegistryOwner | None:
    if not well_formed(token):
        return None
    stmt = select(RegistryOwner).where(column == token_hash(token))
    return db.execute(stmt).scalar_one_or_none()


def by_manage_token(db: Session, token: str) -> RegistryOwner:
    owner = _by_hash(db, RegistryOwner.manage_token_hash, token)
    if owner is None or owner.status != ACTIVE:
        raise NotFound("this link is not valid: the registration was deleted or the link is mistyped")
    return owner


def update_registration(
    db: Session, *, token: str, data: RegistrationInput, now: datetime | None = None
) -> RegistryOwner:
    """Replace a registration's details and cameras (self-service link); audited without the details."""
    now = now or utcnow()
    owner = by_manage_token(db, token)
    _set_details(owner, data)
    owner.consent_version = data.consent_version
    owner.updated_at = now
    db.flush()
    audit.record(
        db,
        actor=PUBLIC_ACTOR,
        action="registry.update",
        subject_type="registration",
        subject_id=owner.id,
        details={"cameras": len(data.cameras)},
        now=now,
    )
    return owner


def delete_registration(db: Session, *, token: str, now: datetime | None = None) -> int:
    """Erase a registration's personal data and cameras; open footage requests to it are revoked."""
    now = now or utcnow()
    owner = by_manage_token(db, token)
    erase(db, owner=owner, now=now)
    audit.record(
        db,
        actor=PUBLIC_ACTOR,
        action="registry.delete",
        subject_type="registration",
        subject_id=owner.id,
        details={"erased": ["name", "address", "postcode", "email", "phone", "cameras"]},
        now=now,
    )
    return owner.id


def erase(db: Session, *, owner: RegistryOwner, now: datetime) -> None:
    """Blank the personal data and delete the cameras (the row stays, with no personal data, for statistics)."""
    owner.name = owner.address = owner.postcode = owner.email = owner.phone = ""
    owner.cameras = []
    owner.status, owner.deleted_at = DELETED, now
    owner.manage_token_hash = owner.verify_token_hash = None
    withdraw(db, subject_type=MAIL_SUBJECT, subject_ids=[owner.id], reason="the registration was deleted")
    request_ids = db.execute(select(FootageRequest.id).where(FootageRequest.owner_id == owner.id)).scalars().all()
    withdraw(db, subject_type="footage_request", subject_ids=list(request_ids), reason="the registration was deleted")
    db.execute(
        update(FootageRequest)
        .where(FootageRequest.owner_id == owner.id, FootageRequest.revoked_at.is_(None))
        .values(revoked_at=now, status="revoked")
    )
    _forget_streams(db, owner=owner, now=now)
    db.flush()


def _forget_streams(db: Session, *, owner: RegistryOwner, now: datetime) -> None:
    """Leaving deletes the shared cameras' stream details; their open views end (readers stop within seconds)."""
    view_ids = db.execute(select(SharedView.id).where(SharedView.owner_id == owner.id)).scalars().all()
    withdraw(db, subject_type="shared_view", subject_ids=list(view_ids), reason="the registration was deleted")
    db.execute(
        update(SharedView)
        .where(SharedView.owner_id == owner.id, SharedView.status.in_(("awaiting", "open")))
        .values(status="ended", ended_at=now, end_reason="the owner left the registry", approval_token_hash=None)
    )
    db.execute(delete(SharedCamera).where(SharedCamera.owner_id == owner.id))


def purge_unverified(db: Session, *, now: datetime | None = None) -> int:
    """Delete registrations whose confirmation link expired unused (they hold personal data for nothing)."""
    now = now or utcnow()
    stmt = select(RegistryOwner).where(RegistryOwner.status == PENDING, RegistryOwner.verify_expires_at <= now)
    owners = list(db.execute(stmt).scalars())
    for owner in owners:
        db.delete(owner)
    db.flush()
    if owners:
        audit.record(db, actor=audit.SYSTEM_ACTOR, action="registry.purge_unverified", details={"rows": len(owners)})
    return len(owners)


def check_point(latitude: float, longitude: float) -> None:
    try:
        geo.check_point(latitude, longitude)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
