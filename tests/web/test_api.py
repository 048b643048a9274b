"""The JSON API: bearer tokens, refusals (audited), validation, and the governance services behind it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.support.api import bearer, last_entry, token_for
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, log_in, seed
from vigil.db.base import utcnow
from vigil.db.models import ApiToken
from vigil.governance import audit


def test_token_from_password_then_me(client: TestClient) -> None:
    seed(client.app, lambda db: make_user(db, "sam", "supervisor", trained_for=("analytics",)))  # type: ignore[arg-type]
    issued = client.post("/api/v1/tokens", json={"username": "sam", "password": PASSWORD, "name": "laptop"})
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert token.startswith("vgl_")
    me = client.get("/api/v1/me", headers=bearer(token)).json()
    assert me["role"] == "supervisor" and me["capabilities"]["analytics"] == "granted"
    assert me["capabilities"]["live_fr"] == "needs training"
    assert last_entry(client, actor="sam", action_prefix="token").action == "token.issue"


def test_wrong_password_gets_no_token(client: TestClient) -> None:
    seed(client.app, lambda db: make_user(db, "sam", "supervisor"))  # type: ignore[arg-type]
    response = client.post("/api/v1/tokens", json={"username": "sam", "password": "guess guess guess"})
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}


def revoke_all(db: Session) -> None:
    db.execute(update(ApiToken).values(revoked_at=utcnow()))


def expire_all(db: Session) -> None:
    db.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))


@pytest.mark.parametrize(
    ("header", "spoil"),
    [
        (None, None),
        ("Bearer vgl_not-a-real-token", None),
        ("Basic c2FtOnB3", None),
        ("VALID", revoke_all),
        ("VALID", expire_all),
    ],
    ids=["missing", "wrong", "not-bearer", "revoked", "expired"],
)
def test_bad_tokens_are_refused_with_401(client: TestClient, header: str | None, spoil: object) -> None:
    token = token_for(client, "sam", "supervisor")
    if spoil is not None:
        seed(client.app, spoil)  # type: ignore[arg-type]
    headers = {} if header is None else {"Authorization": f"Bearer {token}" if header == "VALID" else header}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def test_disabling_a_user_revokes_their_tokens(client: TestClient) -> None:
    token = token_for(client, "ivy")
    admin = token_for(client, "ada", "admin")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    disabled = client.post("/api/v1/users/ivy/disable", headers=bearer(admin))
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_no_token_while_the_initial_password_must_be_changed(client: TestClient) -> None:
    seed(client.app, lambda db: make_user(db, "new", must_change_password=True))  # type: ignore[arg-type]
    response = client.post("/api/v1/tokens", json={"username": "new", "password": PASSWORD})
    assert response.status_code == 403 and "change your initial password" in response.json()["detail"]
    entry = last_entry(client, actor="new")
    assert (entry.action, entry.outcome) == ("token.issue", "refused")


def test_untrained_user_is_refused_via_the_api_and_the_refusal_is_audited(client: TestClient) -> None:
    token = token_for(client, "una")
    body = {"case_ref": "CUM-2026-000042", "purpose": "robbery at Market Square", "capability": "analytics"}
    response = client.post("/api/v1/cases", headers=bearer(token), json=body)
    assert response.status_code == 403
    assert "no current training record for analytics (searching footage)" in response.json()["detail"]
    entry = last_entry(client, actor="una")
    assert (entry.action, entry.outcome, entry.capability) == ("case.access", "refused", "analytics")
    assert (entry.case_ref, entry.purpose) == ("CUM-2026-000042", "robbery at Market Square")


def test_trained_user_opens_a_case_with_a_purpose(client: TestClient) -> None:
    token = token_for(client, "ivy", trained_for=("analytics",), cases=("CUM-2026-000042",))
    body = {"case_ref": "CUM-2026-000042", "purpose": "robbery at Market Square", "capability": "analytics"}
    response = client.post("/api/v1/cases", headers=bearer(token), json=body)
    assert response.status_code == 201 and response.json()["reference"] == "CUM-2026-000042"
    actions = [e.action for e in seed(client.app, lambda db: list(audit.query_entries(db, actor="ivy")))]  # type: ignore[arg-type]
    assert actions[-1:] == ["case.access"]
    short = client.post("/api/v1/cases", headers=bearer(token), json={**body, "purpose": "because"})
    assert short.status_code == 422 and "at least 10 characters" in short.json()["detail"]


def test_the_api_ignores_the_session_cookie(client: TestClient) -> None:
    seed(client.app, lambda db: make_user(db, "ada", "admin"))  # type: ignore[arg-type]
    assert log_in(client, "ada", PASSWORD) == "/"
    response = client.post(
        "/api/v1/users",
        json={"username": "eve", "display_name": "Eve", "role": "admin", "password": "a long enough passphrase"},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "eve", "role": "admin"}, "Field required"),
        ({"username": "eve", "display_name": "Eve", "role": "king"}, "Input should be"),
        (
            {"username": "eve", "display_name": "Eve", "role": "admin", "is_admin": True},
            "Extra inputs are not permitted",
        ),
        (
            {"username": "eve", "display_name": "Eve", "role": "admin", "password": "a long enough passphrase"},
            "Extra inputs are not permitted",
        ),
        ({"username": "Eve!", "display_name": "Eve", "role": "admin"}, "username must be"),
        ({"username": "eve", "display_name": "Eve\x00", "role": "admin"}, "control characters"),
    ],
)
def test_invalid_requests_get_422_with_a_clear_message(
    client: TestClient, body: dict[str, object], message: str
) -> None:
    admin = token_for(client, "ada", "admin")
    response = client.post("/api/v1/users", headers=bearer(admin), json=body)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])


def test_register_locations_pias_and_cameras_via_the_api(client: TestClient) -> None:
    sup = bearer(token_for(client, "sue", "supervisor"))
    location = client.post(
        "/api/v1/locations", headers=sup, json={"name": "Market Square", "latitude": 54.66, "longitude": -2.75}
    )
    assert location.status_code == 201
    location_id = location.json()["id"]
    camera = client.post("/api/v1/cameras", headers=sup, json={"code": "pen-01", "location_id": location_id})
    assert camera.status_code == 201 and camera.json()["pia_current"] is False
    lacking = client.get("/api/v1/cameras", headers=sup, params={"lacking_pia": "true"}).json()
    assert [c["code"] for c in lacking] == ["PEN-01"]
    today = utcnow().date()
    pia = client.post(
        f"/api/v1/locations/{location_id}/pias",
        headers=sup,
        json={
            "reference": "PIA-2026-7",
            "approved_purposes": "prevention and detection of crime",
            "approved_on": str(today - timedelta(days=1)),
            "review_date": str(today + timedelta(days=365)),
            "approved_by": "Ch Insp Wood",
        },
    )
    assert pia.status_code == 201
    assert client.get("/api/v1/cameras", headers=sup, params={"lacking_pia": "true"}).json() == []
    [listed] = client.get("/api/v1/locations", headers=sup).json()
    assert listed["current_pia"]["reference"] == "PIA-2026-7" and listed["cameras"] == ["PEN-01"]
    duplicate = client.post("/api/v1/locations", headers=sup, json={"name": "Market Square"})
    assert duplicate.status_code == 409


def test_audit_and_retention_via_the_api(client: TestClient) -> None:
    admin = bearer(token_for(client, "ada", "admin"))
    investigator = bearer(token_for(client, "ivy"))
    assert client.get("/api/v1/audit", headers=investigator).status_code == 403
    entries = client.get("/api/v1/audit", headers=admin, params={"action": "token.", "limit": 1}).json()
    assert len(entries) == 1 and entries[0]["action"] == "token.issue"
    verify = client.get("/api/v1/audit/verify", headers=admin).json()
    assert verify["ok"] is True and "intact" in verify["description"]
    dry = client.post("/api/v1/retention/run", headers=admin, json={"dry_run": True}).json()
    assert dry["dry_run"] is True and {r["data_class"] for r in dry["results"]} == {
        "footage",
        "api_tokens",
        "login_sessions",
        "live_fr_alerts",
        "live_rule_alerts",
        "evidence_exports",
        "fr_retro_searches",
    }
    status = client.get("/api/v1/retention", headers=admin).json()
    assert status["policies"]["footage_days"] == 31 and status["last_runs"][0]["actor"] == "ada"
    assert client.post("/api/v1/retention/run", headers=investigator).status_code == 403
