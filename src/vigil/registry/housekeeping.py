"""The registry's periodic work, run by the web app's scheduler and by `vigil requests remind|expire`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.database import Backend
from vigil.db.session import session_scope
from vigil.governance.outbox import Delivery, deliver
from vigil.registry.owners import purge_unverified
from vigil.registry.requests import remind_and_expire
from vigil.registry.uploads import abandon_stale_uploads
from vigil.settings import Settings


@dataclass(frozen=True)
class RegistryHousekeeping:
    reminded: int
    expired: int
    purged: int  # unconfirmed registrations whose confirmation link expired (personal data deleted)
    dropped_uploads: int  # unfinished uploads of links that closed (partial files deleted)


def registry_housekeeping(db: Session, *, settings: Settings, now: datetime | None = None) -> RegistryHousekeeping:
    now = now or utcnow()
    requests = remind_and_expire(db, settings=settings, now=now)
    return RegistryHousekeeping(
        reminded=requests.reminded,
        expired=requests.expired,
        purged=purge_unverified(db, now=now),
        dropped_uploads=abandon_stale_uploads(db, settings=settings, now=now),
    )


def run_scheduled_housekeeping(system: Backend) -> RegistryHousekeeping:
    """One scheduled run in its own session (called in a worker thread by the web app's scheduler), then the
    emails it queued (reminders) are sent, after its commit."""
    with session_scope(system.sessions) as db:
        done = registry_housekeeping(db, settings=system.settings)
    send_queued_mail(system)
    return done


def send_queued_mail(system: Backend) -> Delivery:
    """Send the outbox's due emails (its own session; each outcome committed on its own)."""
    with session_scope(system.sessions) as db:
        return deliver(db, mail=system.settings.mail, sender_name=system.settings.force_name)
