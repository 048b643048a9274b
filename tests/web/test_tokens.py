"""API tokens can be revoked one by one, expire, and die with a password change (issue 10, F9)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, chromium, log_in, notices, page_csrf, seed, serve
from tests.web.conftest import client_for
from vigil.db.base import utcnow
from vigil.db.models import ApiToken, AuditEntry
from vigil.governance import audit

NEW_PASSWORD = "an entirely new passphrase"


def _users(client: TestClient) -> None:
    def build(db: Session) -> None:
        make_user(db, "ivy")
        make_user(db, "una")
        make_user(db, "ada", "admin")

    seed(client.app, build)


def _token(client: TestClient, name: str, username: str = "ivy", **extra: object) -> str:
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD, "name": name, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def _me(client: TestClient | httpx.Client, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _token_id(client: TestClient, name: str) -> int:
    return int(seed(client.app, lambda db: db.execute(select(ApiToken.id).where(ApiToken.name == name)).scalar_one()))  # type: ignore[arg-type]


def _entries(client: TestClient, action: str) -> list[AuditEntry]:
    return seed(client.app, lambda db: list(audit.query_entries(db, action_prefix=action)))  # type: ignore[arg-type]


def test_a_token_stops_working_when_its_password_changes(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        _users(client)
        token = _token(client, "script")
        assert _me(client, token) == 200
        log_in(client, "ivy", PASSWORD)
        changed = client.post(
            "/password",
            data={
                "current": PASSWORD,
                "new": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "csrf_token": page_csrf(client, "/password"),
            },
        )
        assert "Your password has been changed." in notices(changed.text)
        assert _me(client, token) == 401
        [revoked] = _entries(client, "token.revoke_all")
        assert revoked.subject_id == "ivy" and '"reason":"password changed"' in revoked.details
        assert '"revoked":1' in revoked.details


def test_revoking_one_of_two_tokens_stops_only_that_one(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        _users(client)
        laptop, server = _token(client, "laptop"), _token(client, "server")
        _me(client, server)  # shows as used
        log_in(client, "ivy", PASSWORD)
        page = client.get("/account/tokens").text
        assert "laptop" in page and "server" in page and "never" in page and page.count(">Revoke</button>") == 2
        done = client.post(
            f"/account/tokens/{_token_id(client, 'laptop')}/revoke", data={"csrf_token": page_csrf(client, "/")}
        )
        assert any("laptop" in n and "revoked" in n for n in notices(done.text))
        assert (_me(client, laptop), _me(client, server)) == (401, 200)
        assert done.text.count(">Revoke</button>") == 1


def test_an_expired_token_is_refused_and_a_lifetime_over_a_year_is_not_issued(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        _users(client)
        token = _token(client, "short", days=1)
        assert _me(client, token) == 200

        def expire(db: Session) -> None:
            record = db.execute(select(ApiToken).where(ApiToken.name == "short")).scalar_one()
            record.expires_at = utcnow() - timedelta(seconds=1)

        seed(client.app, expire)
        assert _me(client, token) == 401
        too_long = client.post("/api/v1/tokens", json={"username": "ivy", "password": PASSWORD, "days": 366})
        assert too_long.status_code == 422
        _token(client, "default")
        expires = seed(client.app, lambda db: db.get(ApiToken, _token_id(client, "default")).expires_at)  # type: ignore[arg-type, union-attr]
        assert timedelta(days=89) < expires - utcnow() <= timedelta(days=90)


def test_another_users_token_is_revoked_only_by_an_administrator(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        _users(client)
        token = _token(client, "ivy-script")
        token_id = _token_id(client, "ivy-script")
        log_in(client, "una", PASSWORD)
        refused = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": page_csrf(client, "/")})
        assert f"you have no API token {token_id}" in notices(refused.text)
        assert _me(client, token) == 200  # refused and without effect
        assert seed(client.app, lambda db: db.get(ApiToken, token_id).revoked_at) is None  # type: ignore[arg-type, union-attr]
        [refusal] = [e for e in _entries(client, "token.revoke") if e.outcome == "refused"]
        assert refusal.actor == "una"
        assert client.get("/account/tokens", params={"user": "ivy"}).status_code == 403  # nor listed to her
        assert "ivy-script" not in client.get("/account/tokens").text
        client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
        log_in(client, "ada", PASSWORD)
        listed = client.get("/account/tokens", params={"user": "ivy"})
        assert "ivy-script" in listed.text
        done = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": page_csrf(client, "/")})
        assert done.url.path == "/account/tokens" and done.url.params["user"] == "ivy"
        assert _me(client, token) == 401


def test_revoke_button_asks_first_and_then_revokes_in_the_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with client_for(tmp_path) as client:
        _users(client)
        token = _token(client, "nightly-export")
        with serve(client.app) as base, chromium() as browser, httpx.Client(base_url=base) as api:
            page = browser.new_page()
            page.goto(f"{base}/login")
            page.fill("#username", "ivy")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.get_by_role("link", name="API tokens").click()
            row = page.get_by_role("row", name=re.compile("nightly-export"))
            expect(row).to_contain_text("working", timeout=20_000)
            page.once("dialog", lambda dialog: dialog.dismiss())
            row.get_by_role("button", name="Revoke").click()
            expect(row).to_contain_text("working", timeout=20_000)
            assert _me(api, token) == 200  # dismissed: nothing happened
            messages: list[str] = []

            def accept(dialog: object) -> None:
                messages.append(dialog.message)  # type: ignore[attr-defined]
                dialog.accept()  # type: ignore[attr-defined]

            page.once("dialog", accept)
            row.get_by_role("button", name="Revoke").click()
            expect(page.locator(".notice-ok")).to_contain_text("nightly-export", timeout=20_000)
            expect(row).to_contain_text("revoked", timeout=20_000)
            assert messages and "stop working" in messages[0]
            assert _me(api, token) == 401
