"""Footage request tests: the case context, an officer in its cases, and one request sent and delivered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests.registry.builders import active_owner, deliver_mail
from tests.registry.smtp import Mailbox
from tests.support.builders import make_user
from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.governance.audit import AuditContext
from vigil.registry.requests import (
    Sent,
    send_requests,
)
from vigil.settings import Settings

CONTEXT = AuditContext("CUM-2026-000417", "ask nearby residents for footage of the robbery on Market Square")


def officer(db: Session, name: str = "olly") -> User:
    return make_user(
        db,
        name,
        trained_for=("registry", "requests", "analytics"),
        cases=(CONTEXT.case_ref, "CUM-2026-999999", "CUM-2026-000999"),
    )


def send_one(db: Session, settings: Settings, mailbox: Mailbox, user: User, context: AuditContext = CONTEXT) -> Sent:
    owner, _ = active_owner(db, settings, mailbox)
    now = utcnow()
    [sent] = send_requests(
        db,
        settings=settings,
        user=user,
        context=context,
        owner_ids=[owner.id],
        window_start=now - timedelta(days=2, hours=1),
        window_end=now - timedelta(days=2),
        message="Please send anything from your front door camera.",
    )
    deliver_mail(db, settings)
    return sent
