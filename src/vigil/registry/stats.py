"""Statistics for supervisors: registrations over time, requests sent and answered, time to first upload."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.db.registry_models import FootageRequest, RegisteredCamera, RegistryOwner
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.roles import Permission
from vigil.registry.owners import ACTIVE, DELETED, PENDING
from vigil.registry.requests import DECLINED, EXPIRED, FAILED, REVOKED


@dataclass(frozen=True)
class RegistryStats:
    registrations_by_month: list[tuple[str, int]]  # (YYYY-MM, registrations created), oldest first
    active: int
    pending: int
    deleted: int
    cameras: int
    requests_sent: int
    requests_answered: int  # uploaded or declined
    requests_uploaded: int
    requests_declined: int
    requests_expired: int
    requests_revoked: int
    requests_failed: int
    median_hours_to_first_upload: float | None


def registry_stats(db: Session, *, user: User, now: datetime | None = None) -> RegistryStats:
    """Counts without personal data, for supervisors (and administrators); audited as ``registry.stats``."""
    now = now or utcnow()
    require_permission(db, user=user, permission=Permission.MANAGE_LOCATIONS, action="registry.stats")
    owners = db.execute(select(RegistryOwner.created_at, RegistryOwner.status)).all()
    months = Counter(created.strftime("%Y-%m") for created, _ in owners)
    states = Counter(status for _, status in owners)
    cameras = len(db.execute(select(RegisteredCamera.id)).all())
    requests = db.execute(
        select(FootageRequest.status, FootageRequest.created_at, FootageRequest.first_upload_at)
    ).all()
    counts = Counter(status for status, _, _ in requests)
    hours = [(first - created).total_seconds() / 3600 for _, created, first in requests if first is not None]
    uploaded = sum(1 for _, _, first in requests if first is not None)
    audit.record(db, actor=user.username, action="registry.stats", now=now)
    return RegistryStats(
        registrations_by_month=sorted(months.items()),
        active=states[ACTIVE],
        pending=states[PENDING],
        deleted=states[DELETED],
        cameras=cameras,
        requests_sent=len(requests) - counts[FAILED],
        requests_answered=uploaded + counts[DECLINED],
        requests_uploaded=uploaded,
        requests_declined=counts[DECLINED],
        requests_expired=counts[EXPIRED],
        requests_revoked=counts[REVOKED],
        requests_failed=counts[FAILED],
        median_hours_to_first_upload=round(statistics.median(hours), 1) if hours else None,
    )
