"""Login sessions: success and failure, lock-out, rate limit, forced password change, session endings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from tests.web.conftest import client_for
from vigil.db.models import AuditEntry, User
from vigil.governance import audit
from vigil.governance.users import get_user, set_active

NEW_PASSWORD = "a quite different passphrase"


def logins_of(client: TestClient, username: str) -> list[AuditEntry]:
    return seed(client.app, lambda db: list(audit.query_entries(db, actor=username, action_prefix="login")))  # type: ignore[arg-type]


def add_user(client: TestClient, username: str, role: str = "investigator", **kwargs: object) -> User:
    return seed(client.app, lambda db: make_user(db, username, role, **kwargs))  # type: ignore[arg-type]


def test_login_success_shows_role_and_capabilities_and_is_audited(client: TestClient) -> None:
    add_user(client, "ivy", trained_for=("analytics",))
    assert log_in(client, "ivy", PASSWORD) == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "investigator" in home.text and "granted" in home.text and "needs training" in home.text
    [entry] = logins_of(client, "ivy")
    assert (entry.outcome, entry.details) == ("ok", '{"client":"testclient"}')


def test_wrong_password_is_refused_and_audited(client: TestClient) -> None:
    add_user(client, "ivy")
    response = client.post(
        "/login", data={"username": "ivy", "password": "not it at all", "csrf_token": page_csrf(client)}
    )
    assert response.status_code == 401
    assert "wrong username or password" in response.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    [entry] = logins_of(client, "ivy")
    assert entry.outcome == "refused" and "wrong password" in entry.details


def test_account_locks_after_max_failures(tmp_path: Path) -> None:
    with client_for(tmp_path, web={"login_max_failures": 3}) as client:
        add_user(client, "ivy")
        for _ in range(3):
            assert log_in(client, "ivy", "wrong password!") == "/login"
        response = client.post(
            "/login", data={"username": "ivy", "password": PASSWORD, "csrf_token": page_csrf(client)}
        )
        assert response.status_code == 401 and "wrong username or password" in response.text
        assert "locked" not in response.text  # the page must not reveal the account exists (F14)
        reasons = [e.details for e in logins_of(client, "ivy")]
        assert len(reasons) == 4
        assert "account locked" in reasons[2] and '"reason":"locked (right password)"' in reasons[3]
        assert seed(client.app, lambda db: get_user(db, "ivy").locked_until) is not None  # type: ignore[arg-type]


def test_login_attempts_are_rate_limited_per_address(tmp_path: Path) -> None:
    with client_for(tmp_path, web={"login_rate_per_minute": 2}) as client:
        for _ in range(2):
            assert log_in(client, "nobody", "whatever it is") == "/login"
        response = client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": page_csrf(client)})
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert "Too many login attempts" in response.text
        token = client.post("/api/v1/tokens", json={"username": "nobody", "password": "x"})
        assert token.status_code == 429 and "Too many" in token.json()["detail"]


def test_first_login_forces_password_change_before_anything_else(client: TestClient) -> None:
    password = client.app.state.first_admin_password  # type: ignore[attr-defined]
    assert log_in(client, "admin", password) == "/password"
    assert client.get("/users", follow_redirects=False).headers["location"] == "/password"
    token = page_csrf(client, "/password")
    wrong = client.post(
        "/password", data={"current": password, "new": NEW_PASSWORD, "confirm": "other", "csrf_token": token}
    )
    assert wrong.url.path == "/password" and "differ" in " ".join(notices(wrong.text))
    done = client.post(
        "/password", data={"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token}
    )
    assert done.url.path == "/" and "Your password has been changed." in notices(done.text)
    assert client.get("/users").status_code == 200


def test_password_change_ends_the_other_sessions(client: TestClient) -> None:
    add_user(client, "ivy")
    other = TestClient(client.app)  # a second browser (the app's lifespan already runs)
    log_in(client, "ivy", PASSWORD)
    log_in(other, "ivy", PASSWORD)
    client.post(
        "/password",
        data={
            "current": PASSWORD,
            "new": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": page_csrf(client, "/password"),
        },
    )
    assert client.get("/").url.path == "/"
    ended = other.get("/")
    assert ended.url.path == "/login" and "Your session has ended" in " ".join(notices(ended.text))


def test_disabling_a_user_ends_their_session(client: TestClient) -> None:
    add_user(client, "ivy")
    admin = add_user(client, "ada", "admin")
    log_in(client, "ivy", PASSWORD)
    assert client.get("/").url.path == "/"

    def disable(db: Session) -> None:
        from vigil.governance.users import set_active

        set_active(db, actor=db.merge(admin), username="ivy", active=False)

    seed(client.app, disable)  # type: ignore[arg-type]
    assert client.get("/").url.path == "/login"


def test_signed_out_session_cookie_cannot_be_replayed(client: TestClient) -> None:
    add_user(client, "ivy")
    log_in(client, "ivy", PASSWORD)
    stolen = dict(client.cookies)
    client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
    assert client.get("/").url.path == "/login"
    replay = TestClient(client.app, cookies=stolen)
    assert replay.get("/", follow_redirects=False).headers["location"] == "/login"
    actions = [e.action for e in seed(client.app, lambda db: list(audit.query_entries(db, actor="ivy")))]  # type: ignore[arg-type]
    assert actions == ["login", "logout"]


def test_signed_out_cookie_stays_dead_after_a_restart(tmp_path: Path) -> None:
    """Sessions live in the database: a restarted server still refuses a cookie that signed out."""
    with client_for(tmp_path) as client:
        add_user(client, "ivy")
        log_in(client, "ivy", PASSWORD)
        stolen = dict(client.cookies)
        client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
    with client_for(tmp_path) as restarted:
        replay = TestClient(restarted.app, cookies=stolen)
        assert replay.get("/", follow_redirects=False).headers["location"] == "/login"


def test_disabling_a_user_ends_their_sessions_even_after_re_enabling(client: TestClient) -> None:
    add_user(client, "ivy")
    log_in(client, "ivy", PASSWORD)
    cookies = dict(client.cookies)
    seed(client.app, lambda db: set_active(db, actor=get_user(db, "admin"), username="ivy", active=False))  # type: ignore[arg-type]
    seed(client.app, lambda db: set_active(db, actor=get_user(db, "admin"), username="ivy", active=True))  # type: ignore[arg-type]
    replay = TestClient(client.app, cookies=cookies)
    assert replay.get("/", follow_redirects=False).headers["location"] == "/login"


def test_login_returns_only_to_local_pages(client: TestClient) -> None:
    add_user(client, "sue", "supervisor")
    assert log_in(client, "sue", PASSWORD, next_url="https://evil.example/") == "/"
    client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
    assert log_in(client, "sue", PASSWORD, next_url="//evil.example/x") == "/"
    client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
    assert log_in(client, "sue", PASSWORD, next_url="/audit?actor=sue") == "/audit"


def test_session_cookie_flags(tmp_path: Path) -> None:
    with client_for(tmp_path / "plain") as client:
        cookie = client.get("/login").headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
        assert "secure" not in cookie
    with client_for(tmp_path / "tls", web={"secure_cookies": True, "session_hours": 2}) as client:
        response = client.get("/login")
        cookie = response.headers["set-cookie"].lower()
        assert "secure" in cookie and "max-age=7200" in cookie
        assert response.headers["strict-transport-security"].startswith("max-age=")
