"""Every operation of the JSON API (read from its own OpenAPI spec, so a new one is covered the day it is added)
refuses a missing, forged, expired or revoked token with 401 before it reads the body or touches anything."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.api import bearer
from tests.support.builders import make_user
from tests.support.webapp import TestClient, seed
from vigil.db.base import utcnow
from vigil.db.models import ApiToken, AuditEntry
from vigil.governance.roles import Capability
from vigil.governance.users import issue_token
from vigil.web.app import create_app

PUBLIC = {("POST", "/api/v1/tokens")}  # the password exchange itself needs no token


def operations() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        spec = create_app(make_settings(Path(folder) / "data")).openapi()
    return sorted(
        (method.upper(), path)
        for path, methods in spec["paths"].items()
        for method in methods
        if (method.upper(), path) not in PUBLIC
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(make_settings(tmp_path_factory.mktemp("api-tokens") / "data"))

    def build(db: Session) -> dict[str, str]:
        sup = make_user(db, "sup", "supervisor", trained_for=tuple(c.value for c in Capability))
        tokens = {name: issue_token(db, user=sup, name=name) for name in ("expired", "revoked", "good")}
        db.execute(
            update(ApiToken).where(ApiToken.name == "expired").values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.execute(update(ApiToken).where(ApiToken.name == "revoked").values(revoked_at=utcnow()))
        return tokens

    with TestClient(app) as client:
        yield client, seed(app, build)


def concrete(path: str) -> str:
    return (
        path.replace("{key}", "0" * 32)
        .replace("{render_id}", "0" * 16)
        .replace("{reference}", "WAR-1")
        .replace("{username}", "sup")
        .replace("{track_id}", "1")
        .replace("{footage_id}", "1")
        .replace("{job_id}", "1")
        .replace("{saved_id}", "1")
        .replace("{export_id}", "1")
        .replace("{search_id}", "1")
        .replace("{candidate_id}", "1")
        .replace("{deployment_id}", "1")
        .replace("{alert_id}", "1")
        .replace("{request_id}", "1")
        .replace("{location_id}", "1")
    )


def head(client: TestClient) -> int:
    return int(seed(client.app, lambda db: db.execute(select(func.max(AuditEntry.seq))).scalar_one() or 0))  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path"), operations(), ids=lambda value: str(value))
def test_every_operation_refuses_a_bad_token_and_changes_nothing(
    world: tuple[TestClient, dict[str, str]], method: str, path: str
) -> None:
    client, tokens = world
    assert "{" not in concrete(path), f"give {path} a value for its path parameter in concrete()"
    params = {"case": "CUM-2026-000001", "purpose": "checking that a bad token is refused everywhere"}
    body: dict[str, Any] = {"json": {}} if method != "GET" else {}
    before = head(client)
    for headers in (
        {},
        bearer("vgl_" + "A" * 43),
        bearer(tokens["expired"]),
        bearer(tokens["revoked"]),
        {"Authorization": f"Basic {tokens['good']}"},
    ):
        reply = client.request(method, concrete(path), params=params, headers=headers, **body)
        assert reply.status_code == 401, (headers, reply.text)
        assert reply.headers["www-authenticate"] == "Bearer" and "detail" in reply.json()
    changed = seed(
        client.app, lambda db: list(db.execute(select(AuditEntry.action).where(AuditEntry.seq > before)).scalars())
    )  # type: ignore[arg-type]
    assert len(changed) <= 5 and all(action.startswith(("token", "login", "auth")) for action in changed), changed
