"""Pages must not tell an attacker what they may not know (issue 10, F14): whether an account exists, or which
cameras the force has, to a user who may not use the form that lists them."""

from __future__ import annotations

from pathlib import Path

from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from tests.web.conftest import client_for
from vigil.db.models import AuditEntry
from vigil.governance import audit


def _login(client: TestClient, username: str, password: str) -> tuple[int, list[str]]:
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": page_csrf(client)})
    return response.status_code, notices(response.text)


def _synopsis_form(client: TestClient) -> str:
    """The synopsis form after stating a case and purpose (as the context page asks first)."""
    client.post(
        "/context",
        data={
            "case_ref": "C-1",
            "purpose": "finding a stolen bicycle",
            "next": "/synopsis?case=C-1",
            "csrf_token": page_csrf(client, "/context"),
        },
    )
    page = client.get("/synopsis", params={"case": "C-1"})
    assert page.status_code == 200 and "<h1>Video synopsis</h1>" in page.text
    return page.text


def _logins(client: TestClient, username: str) -> list[AuditEntry]:
    return seed(client.app, lambda db: list(audit.query_entries(db, actor=username, action_prefix="login")))  # type: ignore[arg-type]


def test_a_locked_account_answers_exactly_like_an_unknown_one(tmp_path: Path) -> None:
    """The attacker locks ivy out, then compares her answers with those for a name that does not exist."""
    with client_for(tmp_path, web={"login_max_failures": 2, "login_rate_per_minute": 100}) as client:
        seed(client.app, lambda db: make_user(db, "ivy"))  # type: ignore[arg-type]
        for _ in range(2):
            _login(client, "ivy", "not her password")
        unknown = _login(client, "nobody-here", PASSWORD)
        assert _login(client, "ivy", PASSWORD) == unknown  # the right password, while locked
        assert _login(client, "ivy", "still not it") == unknown
        assert unknown == (401, ["wrong username or password"])
        api_unknown = client.post("/api/v1/tokens", json={"username": "nobody-here", "password": PASSWORD})
        api_locked = client.post("/api/v1/tokens", json={"username": "ivy", "password": PASSWORD})
        assert (api_locked.status_code, api_locked.json()) == (api_unknown.status_code, api_unknown.json())
        reasons = [entry.details for entry in _logins(client, "ivy")]  # the audit log still tells the truth
        assert '"reason":"locked (right password)"' in reasons[2] and '"reason":"locked"' in reasons[3]
        assert log_in(client, "ivy", PASSWORD) == "/login"  # and the lock holds


def test_the_synopsis_form_lists_cameras_only_to_users_who_may_make_one(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:

        def build(db: object) -> None:
            make_camera(db, "SECRET-CAM-7")  # type: ignore[arg-type]
            make_user(db, "olly", "operator", cases=("C-1",))  # type: ignore[arg-type]  # may view cameras, not analytics
            make_user(db, "una", "investigator", cases=("C-1",))  # type: ignore[arg-type]  # the role, but no training
            make_user(db, "ivy", "investigator", trained_for=("analytics",), cases=("C-1",))  # type: ignore[arg-type]

        seed(client.app, build)
        for username in ("olly", "una"):
            log_in(client, username, PASSWORD)
            page = _synopsis_form(client)
            assert "SECRET-CAM-7" not in page and "needs the analytics capability" in page, username
            assert 'name="camera"' not in page
            for other in ("/search", "/similar", "/dashboards", "/footage", "/"):  # the other forms with cameras
                assert "SECRET-CAM-7" not in client.get(other, params={"case": "C-1"}).text, (username, other)
            client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
        log_in(client, "ivy", PASSWORD)
        page = _synopsis_form(client)
        assert "SECRET-CAM-7" in page and 'name="camera"' in page
