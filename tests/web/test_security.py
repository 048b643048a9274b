"""CSRF, security headers, and error pages that never leak a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, log_in, page_csrf, seed
from tests.web.conftest import client_for
from vigil.db.models import User

PAGES = ["/", "/users", "/locations", "/audit", "/retention", "/context", "/password"]


def sign_in_admin(client: TestClient) -> None:
    seed(client.app, lambda db: make_user(db, "ada", "admin"))  # type: ignore[arg-type]
    assert log_in(client, "ada", PASSWORD) == "/"


def usernames(client: TestClient) -> set[str]:
    return set(seed(client.app, lambda db: db.execute(select(User.username)).scalars().all()))  # type: ignore[arg-type]


@pytest.mark.parametrize("token", [None, "", "forged-token-value"], ids=["missing", "empty", "wrong"])
def test_state_changing_form_without_the_right_csrf_token_is_refused(client: TestClient, token: str | None) -> None:
    sign_in_admin(client)
    form = {"username": "eve", "display_name": "Eve", "role": "admin", "password": "a long enough passphrase"}
    if token is not None:
        form["csrf_token"] = token
    response = client.post("/users", data=form)
    assert response.status_code == 403
    assert "security token is missing or out of date" in response.text
    assert "eve" not in usernames(client)


def test_csrf_token_of_another_session_is_refused(client: TestClient) -> None:
    sign_in_admin(client)
    foreign = page_csrf(TestClient(client.app), "/login")  # a token from another browser's session
    response = client.post(
        "/users",
        data={
            "username": "eve",
            "display_name": "Eve",
            "role": "admin",
            "password": "a long enough passphrase",
            "csrf_token": foreign,
        },
    )
    assert response.status_code == 403


def test_login_form_needs_a_csrf_token_too(client: TestClient) -> None:
    response = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/login", "/api/v1/me", "/no/such/page", "/static/vigil.css", "/openapi.json"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["permissions-policy"] == "camera=(), microphone=(), geolocation=()"
    assert (headers.get("cache-control") == "no-store") is (not path.startswith("/static/"))
    assert "strict-transport-security" not in headers  # only with secure_cookies


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    sign_in_admin(client)
    for path in PAGES:
        html = client.get(path).text
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
        assert " on" + "click=" not in html and "javascript:" not in html, path


def test_interactive_docs_are_off_but_the_schema_is_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "vigil"


CRAFTED = [
    ("POST", "/login", {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}),
    (
        "POST",
        "/login",
        {"content": b"username=%ff%fe&password=\x00", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    ),
    ("POST", "/api/v1/tokens", {"content": b"\xff\xfe{", "headers": {"content-type": "application/json"}}),
    (
        "POST",
        "/api/v1/tokens",
        {"content": b'{"username": "\\ud800", "password": "x"}', "headers": {"content-type": "application/json"}},
    ),
    ("POST", "/api/v1/tokens", {"json": {"username": "a" * 10_000, "password": "x"}}),
    ("POST", "/api/v1/tokens", {"json": [1, 2, 3]}),
    ("GET", "/api/v1/audit?since=not-a-date&limit=-1", {}),
    ("GET", "/api/v1/users/%00/training", {}),
    ("POST", "/api/v1/locations/99999999999999999999999/pias", {"json": {}}),
    ("GET", "/%ff%fe/../../etc/passwd", {}),
    ("GET", "/static/../settings.py", {}),
    ("PUT", "/login", {}),
    ("GET", "/login?next=%0d%0aSet-Cookie:%20x=y", {}),
]


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with client_for(tmp_path_factory.mktemp("crafted")) as client:
        yield client


@pytest.mark.parametrize(("method", "url", "kwargs"), CRAFTED)
def test_crafted_requests_get_a_clean_answer(
    shared_client: TestClient, method: str, url: str, kwargs: dict[str, object]
) -> None:
    response = shared_client.request(method, url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code < 500
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert "set-cookie: x=y" not in str(response.headers).lower()


def test_unexpected_error_shows_an_incident_id_and_no_details(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise RuntimeError("database password is hunter2")

    client.app.add_api_route("/boom", explode)  # type: ignore[attr-defined]
    client.app.add_api_route("/api/v1/boom", explode)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, logger="vigil.web"):
        page = client.get("/boom")
        api = client.get("/api/v1/boom")
    assert page.status_code == api.status_code == 500
    assert "hunter2" not in page.text and "Traceback" not in page.text and "hunter2" not in api.text
    assert "incident" in page.text and "incident" in api.json()["detail"]
    assert page.headers["x-frame-options"] == "DENY"
    incident = api.json()["detail"].split("incident ")[1].split(";")[0]
    assert any(incident in record.getMessage() for record in caplog.records)
