"""Web login sessions held in the database, so sign-out and disabling an account end them everywhere.

The browser's cookie carries a random session id; the database keeps only its SHA-256, the user, the
client address, and when the session began, expires and ended.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import LoginSession, User


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def open_login_session(
    db: Session, *, user: User, client: str, lifetime: timedelta, now: datetime | None = None
) -> str:
    """Record a new session for ``user`` and return its id (to be put in the signed cookie)."""
    now = now or utcnow()
    session_id = secrets.token_urlsafe(24)
    db.add(
        LoginSession(
            sid_hash=_digest(session_id), user_id=user.id, client=client[:64], created_at=now, expires_at=now + lifetime
        )
    )
    db.flush()
    return session_id


def login_session_is_current(db: Session, *, session_id: str, user: User, now: datetime | None = None) -> bool:
    now = now or utcnow()
    record = db.execute(select(LoginSession).where(LoginSession.sid_hash == _digest(session_id))).scalar_one_or_none()
    return record is not None and record.user_id == user.id and record.ended_at is None and record.expires_at > now


def end_login_session(db: Session, *, session_id: str, now: datetime | None = None) -> None:
    db.execute(
        update(LoginSession)
        .where(LoginSession.sid_hash == _digest(session_id), LoginSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )


def end_user_sessions(db: Session, *, user: User, now: datetime | None = None) -> None:
    """End every open session of ``user`` (account disabled, or password changed)."""
    db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )
