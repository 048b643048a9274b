"""Builders of the registry tests: registration form data, and active owners made through the real services
(so their verification email really goes through the test SMTP server)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from tests.registry.smtp import Mailbox, links_in
from vigil.db.registry_models import RegistryOwner
from vigil.governance.outbox import Delivery, deliver
from vigil.registry.owners import CURRENT_CONSENT, parse_registration, register, verify
from vigil.settings import Settings

PENRITH = (54.6641, -2.7527)  # Market Square, Penrith


def unique_email(prefix: str = "owner") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


def camera(
    lat: float = PENRITH[0], lon: float = PENRITH[1], *, facing: float | None = 90.0, days: int = 30, kind: str = "cctv"
) -> dict[str, Any]:
    return {
        "label": "front",
        "kind": kind,
        "latitude": lat,
        "longitude": lon,
        "facing_deg": facing,
        "retention_days": days,
    }


def registration_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "resident",
        "name": "Alex Example",
        "address": "1 Market Square, Penrith",
        "postcode": "CA11 7BX",
        "email": unique_email(),
        "phone": "+44 1768 000000",
        "consent": True,
        "consent_version": CURRENT_CONSENT,
        "cameras": [camera()],
    }
    data.update(overrides)
    return data


def deliver_mail(db: Session, settings: Settings) -> Delivery:
    """What the edge does after committing: send the queued emails through the (real) SMTP server."""
    db.commit()
    return deliver(db, mail=settings.mail, sender_name=settings.force_name, due_only=False)


def active_owner(db: Session, settings: Settings, mailbox: Mailbox, **overrides: Any) -> tuple[RegistryOwner, str]:
    """Register and verify through the services, the verification link read from the email; returns the owner
    and the self-service token from the second email."""
    data = parse_registration(registration_data(**overrides))
    register(db, settings=settings, data=data)
    deliver_mail(db, settings)
    verify_link = links_in(mailbox.wait_for(data.email, 1)[0])[0]
    registered = verify(db, settings=settings, token=verify_link.rsplit("#", 1)[1])
    deliver_mail(db, settings)
    manage_link = links_in(mailbox.wait_for(data.email, 2)[1])[0]
    assert manage_link.endswith("#" + registered.token)
    return registered.owner, registered.token
