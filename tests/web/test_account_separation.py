"""F7 replayed: one administrator may not make an account that can use an investigative capability on their own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.support.api import bearer, last_entry, token_for
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from vigil.db.base import utcnow
from vigil.db.models import TrainingRecord, User

CHOSEN = "a long enough passphrase"
TODAY = utcnow().date()
COURSE = {
    "capability": "analytics",
    "course": "Analytics 1",
    "completed_on": str(TODAY - timedelta(days=1)),
    "expires_on": str(TODAY + timedelta(days=300)),
}


def _count(client: TestClient, model: type[User] | type[TrainingRecord]) -> int:
    return int(seed(client.app, lambda db: db.execute(select(func.count(model.id))).scalar_one()))  # type: ignore[arg-type]


def test_api_account_creation_takes_no_chosen_password(client: TestClient) -> None:
    admin = token_for(client, "ada", "admin")
    users = _count(client, User)
    body = {"username": "eve", "display_name": "Eve", "role": "investigator"}
    chosen = client.post("/api/v1/users", headers=bearer(admin), json={**body, "password": CHOSEN})
    assert chosen.status_code == 422 and "Extra inputs are not permitted" in str(chosen.json()["detail"])
    assert _count(client, User) == users  # nothing created
    created = client.post("/api/v1/users", headers=bearer(admin), json=body)
    assert created.status_code == 201 and created.json()["must_change_password"] is True
    one_time = created.json()["one_time_password"]
    no_token = client.post("/api/v1/tokens", json={"username": "eve", "password": one_time})
    assert no_token.status_code == 403 and "change your initial password" in no_token.json()["detail"]


def test_api_training_by_the_accounts_creator_is_refused_and_audited_another_supervisor_may(
    client: TestClient,
) -> None:
    admin = token_for(client, "ada", "admin")
    assert client.post(
        "/api/v1/users", headers=bearer(admin), json={"username": "eve", "display_name": "Eve", "role": "investigator"}
    ).is_success
    records = _count(client, TrainingRecord)
    refused = client.post("/api/v1/users/eve/training", headers=bearer(admin), json=COURSE)
    assert refused.status_code == 403 and "you created this account" in refused.json()["detail"]
    entry = last_entry(client, actor="ada", action_prefix="training")
    assert (entry.action, entry.outcome, entry.capability) == ("training.add", "refused", "analytics")
    assert _count(client, TrainingRecord) == records  # nothing written
    supervisor = token_for(client, "sue", "supervisor")
    allowed = client.post("/api/v1/users/eve/training", headers=bearer(supervisor), json=COURSE)
    assert allowed.status_code == 201 and allowed.json()["current"] is True


def test_web_form_ignores_a_posted_password_so_it_cannot_be_used_to_log_in(client: TestClient) -> None:
    seed(client.app, lambda db: make_user(db, "ada", "admin"))  # type: ignore[arg-type]
    assert log_in(client, "ada", PASSWORD) == "/"
    token = page_csrf(client, "/users")
    form = {"username": "eve", "display_name": "Eve", "role": "investigator", "password": CHOSEN, "csrf_token": token}
    created = client.post("/users", data=form)
    assert "User eve added" in " ".join(notices(created.text)) and CHOSEN not in created.text
    refused = client.post("/training", data={**COURSE, "username": "eve", "csrf_token": token})
    assert "you created this account" in " ".join(notices(refused.text))
    client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
    assert log_in(client, "eve", CHOSEN) == "/login"  # the chosen password was never set
