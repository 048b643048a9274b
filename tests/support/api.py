"""JSON API test helpers: a token for a new user, the bearer header, the latest audit entry."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.support.builders import make_user
from tests.support.webapp import TestClient, seed
from vigil.db.models import AuditEntry
from vigil.governance import audit
from vigil.governance.users import issue_token


def token_for(client: TestClient, username: str, role: str = "investigator", **kwargs: object) -> str:
    def build(db: Session) -> str:
        return issue_token(db, user=make_user(db, username, role, **kwargs), name="test")  # type: ignore[arg-type]

    return seed(client.app, build)  # type: ignore[arg-type]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def last_entry(client: TestClient, **filters: str) -> AuditEntry:
    entries = seed(client.app, lambda db: list(audit.query_entries(db, newest_first=True, limit=1, **filters)))  # type: ignore[arg-type]
    return entries[0]
