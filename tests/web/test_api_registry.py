"""The camera registry through the JSON API: cameras near an incident or in an area, footage requests emailed through
a real SMTP server and withdrawn, checked and audited as on the pages; the wrong role, another case, a bad token or
a crafted id is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.registry.builders import PENRITH, active_owner
from tests.registry.smtp import Mailbox, links_in, smtp_server
from tests.support.api import bearer
from tests.support.builders import make_case, make_user
from tests.support.webapp import TestClient, seed
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.db.registry_models import FootageRequest
from vigil.governance.users import issue_token
from vigil.web.app import create_app

CASE, OTHER = "CUM-2026-000417", "CUM-2026-000999"
PURPOSE = "find cameras that may have seen the robbery on Market Square"
WORK = {"case": CASE, "purpose": PURPOSE}


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """olly (registry + requests, both cases), ivy (analytics only), rita (registry + requests, the other case);
    one verified owner with a camera on Market Square."""
    settings = make_settings(
        tmp_path_factory.mktemp("api-registry") / "data",
        mail={"host": "127.0.0.1", "port": mailbox.port, "link_base_url": "https://vigil.example.org"},
    )
    app = create_app(settings)

    def build(db: Session) -> dict[str, Any]:
        olly = make_user(db, "olly", trained_for=("registry", "requests"), cases=(CASE, OTHER))
        ivy = make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        rita = make_user(db, "rita", trained_for=("registry", "requests"), cases=(OTHER,))
        make_case(db, OTHER, members=[olly, rita])
        sam = make_user(db, "sam", "supervisor")
        owner, _ = active_owner(db, settings, mailbox)
        tokens = {u.username: issue_token(db, user=u, name="t") for u in (olly, ivy, rita, sam)}
        db.commit()
        return {"tokens": tokens, "owner": owner.id, "email": owner.email}

    with TestClient(app) as client:
        yield client, seed(app, build)


def requests(client: TestClient) -> list[tuple[str, int]]:
    stmt = select(FootageRequest.status, FootageRequest.case_id).order_by(FootageRequest.id)
    return [tuple(r) for r in seed(client.app, lambda db: db.execute(stmt).all())]  # type: ignore[arg-type]


def outcomes(client: TestClient, actor: str, action: str) -> list[str]:
    stmt = select(AuditEntry.outcome).where(AuditEntry.actor == actor, AuditEntry.action == action)
    return list(seed(client.app, lambda db: db.execute(stmt.order_by(AuditEntry.seq)).scalars()))  # type: ignore[arg-type]


def window() -> dict[str, str]:
    now = utcnow()
    return {
        "window_start": (now - timedelta(days=2, hours=1)).isoformat(),
        "window_end": (now - timedelta(days=2)).isoformat(),
    }


def test_find_cameras_send_a_request_list_and_withdraw_it(
    world: tuple[TestClient, dict[str, Any]], mailbox: Mailbox
) -> None:
    client, data = world
    auth = bearer(data["tokens"]["olly"])
    near = client.get(
        "/api/v1/registry/cameras/near", params={**WORK, "lat": PENRITH[0], "lon": PENRITH[1]}, headers=auth
    )
    assert near.status_code == 200, near.text
    assert data["owner"] in [c["owner_id"] for c in near.json()]
    lat, lon = PENRITH
    square = [
        [lat - 0.001, lon - 0.001],
        [lat - 0.001, lon + 0.001],
        [lat + 0.001, lon + 0.001],
        [lat + 0.001, lon - 0.001],
    ]
    area = client.post("/api/v1/registry/cameras/area", params=WORK, json={"vertices": square}, headers=auth)
    assert area.status_code == 200 and data["owner"] in [c["owner_id"] for c in area.json()]

    body = {"owner_ids": [data["owner"]], "message": "Please send your front door camera's footage.", **window()}
    sent = client.post("/api/v1/registry/requests", params=WORK, json=body, headers=auth)
    assert sent.status_code == 201, sent.text
    assert sent.json()["emails_sent"] == 1 and sent.json()["requests"][0]["email"] == "sent"
    request_id = sent.json()["requests"][0]["id"]
    email = mailbox.wait_for(data["email"], 3)[2]
    assert links_in(email)
    listed = client.get("/api/v1/registry/requests", params=WORK, headers=auth).json()
    assert [r["id"] for r in listed["items"]] == [request_id] and listed["page"]["total"] == 1
    elsewhere = {"case": OTHER, "purpose": PURPOSE}
    assert (
        client.post(f"/api/v1/registry/requests/{request_id}/revoke", params=elsewhere, headers=auth).status_code == 404
    )
    assert requests(client)[-1][0] == "sent"
    revoked = client.post(f"/api/v1/registry/requests/{request_id}/revoke", params=WORK, headers=auth)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    for action in ("registry.near", "requests.list", "requests.revoke"):
        assert "ok" in outcomes(client, "olly", action), action


@pytest.mark.parametrize(("who", "case"), [("ivy", CASE), ("rita", CASE)], ids=["untrained", "outsider"])
def test_the_wrong_person_or_case_is_refused_audited_and_sends_nothing(
    world: tuple[TestClient, dict[str, Any]], mailbox: Mailbox, who: str, case: str
) -> None:
    client, data = world
    auth, params = bearer(data["tokens"][who]), {"case": case, "purpose": PURPOSE}
    before, mails = requests(client), len(mailbox.to(data["email"]))
    body = {"owner_ids": [data["owner"]], **window()}
    assert client.post("/api/v1/registry/requests", params=params, json=body, headers=auth).status_code == 403
    assert (
        client.get(
            "/api/v1/registry/cameras/near", params={**params, "lat": 54.66, "lon": -2.75}, headers=auth
        ).status_code
        == 403
    )
    assert client.get("/api/v1/registry/requests", params=params, headers=auth).status_code == 403
    assert requests(client) == before and len(mailbox.to(data["email"])) == mails
    assert "refused" in outcomes(client, who, "registry.near")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/api/v1/registry/requests/2147483647/revoke", {}, 404),
        ("POST", "/api/v1/registry/requests/0/revoke", {}, 422),
        ("POST", "/api/v1/registry/requests", {"json": {"owner_ids": [2147483647], **window()}}, 422),
        ("POST", "/api/v1/registry/requests", {"json": {"owner_ids": [], **window()}}, 422),
        (
            "POST",
            "/api/v1/registry/requests",
            {"json": {"owner_ids": [1], "window_start": "x", "window_end": "y"}},
            422,
        ),
        ("GET", "/api/v1/registry/cameras/near", {"params": {"lat": 91, "lon": 0}}, 422),
        ("GET", "/api/v1/registry/cameras/near", {"params": {"lat": "nan", "lon": 0}}, 422),
        ("POST", "/api/v1/registry/cameras/area", {"json": {"vertices": [[0, 0], [0, 1]]}}, 422),
        ("POST", "/api/v1/registry/cameras/area", {"json": {"vertices": [[0, 0], [1, 1], [0, 1], [1, 0]]}}, 422),
    ],
)
def test_crafted_ids_and_bad_input_get_a_clear_4xx_and_change_nothing(
    world: tuple[TestClient, dict[str, Any]], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    client, data = world
    before = requests(client)
    params = {**WORK, **kwargs.pop("params", {})}
    reply = client.request(method, path, params=params, headers=bearer(data["tokens"]["olly"]), **kwargs)
    assert reply.status_code == status, reply.text
    assert "detail" in reply.json() and requests(client) == before


def test_bad_tokens_get_401_and_send_nothing(world: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = world
    before = requests(client)
    for headers in ({}, bearer("vgl_forged"), bearer(data["tokens"]["olly"][:-1] + "#")):
        body = {"owner_ids": [data["owner"]], **window()}
        assert client.post("/api/v1/registry/requests", params=WORK, json=body, headers=headers).status_code == 401
    assert requests(client) == before
    assert seed(client.app, lambda db: db.execute(select(func.count(FootageRequest.id))).scalar_one()) == len(before)  # type: ignore[arg-type]


def test_statistics_and_the_force_camera_export_need_their_permission(world: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = world
    olly, sam = bearer(data["tokens"]["olly"]), bearer(data["tokens"]["sam"])
    assert client.get("/api/v1/registry/stats", headers=olly).status_code == 403
    assert outcomes(client, "olly", "registry.stats") == ["refused"]
    stats = client.get("/api/v1/registry/stats", headers=sam)
    assert stats.status_code == 200 and stats.json()["active"] == 1 and stats.json()["cameras"] >= 1
    assert "email" not in stats.text  # counts only, no personal data
    exported = client.get("/api/v1/registry/force-cameras.geojson", headers=sam)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/geo+json")
    assert exported.json()["type"] == "FeatureCollection"
    assert "ok" in outcomes(client, "sam", "registry.export")
    assert client.get("/api/v1/registry/stats", headers=bearer("vgl_forged")).status_code == 401
