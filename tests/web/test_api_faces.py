"""Facial recognition through the JSON API: subjects, enrolment, watchlists and a retrospective search with its
verdict, checked and audited as on the pages; the wrong role, an untrained user, another case, a bad token, a crafted
id or a bad photo is refused, audited where the pages audit it, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.faces.builders import PURPOSE, encode, hopper
from tests.support.api import bearer
from tests.support.builders import make_case, make_user
from tests.support.face_pages import CASE, staff
from tests.support.webapp import TestClient, seed
from vigil.db.face_models import Enrolment, RetroCandidate, RetroSearch, Subject, Watchlist
from vigil.db.models import AuditEntry
from vigil.governance.users import get_user, issue_token
from vigil.web.app import create_app

OTHER = "CUM-2024-0099"
WORK = {"case": CASE, "purpose": PURPOSE}
PHOTO = {"content-type": "application/octet-stream"}
SUBJECT = {
    "reference": "WAR-1",
    "category": "wanted",
    "reason": "Wanted on warrant for robbery",
    "authority": "Warrant 2024/17",
    "expires_on": "2099-01-01",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """sue (supervisor, live and retrospective FR), ivan (untrained), rita (retrospective FR, the other case only)."""
    app = create_app(make_settings(tmp_path_factory.mktemp("api-faces") / "data"))
    settings = app.state.system.settings

    def build(db: Session) -> dict[str, str]:
        staff(db, settings.data_dir)
        rita = make_user(db, "rita", "investigator", trained_for=("retrospective_fr",), cases=(OTHER,))
        make_case(db, OTHER, members=[rita])
        tokens = {name: issue_token(db, user=get_user(db, name), name="test") for name in ("sue", "ivan", "rita")}
        db.commit()
        return tokens

    with TestClient(app) as client:
        yield client, seed(app, build)


def count(client: TestClient, model: type[Any]) -> int:
    return int(seed(client.app, lambda db: db.execute(select(func.count()).select_from(model)).scalar_one()))  # type: ignore[arg-type]


def outcomes(client: TestClient, actor: str, action: str) -> list[str]:
    stmt = select(AuditEntry.outcome).where(AuditEntry.actor == actor, AuditEntry.action == action)
    return list(seed(client.app, lambda db: db.execute(stmt.order_by(AuditEntry.seq)).scalars()))  # type: ignore[arg-type]


def test_enrol_list_search_and_decide_through_the_api(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    auth = bearer(tokens["sue"])
    assert client.post("/api/v1/faces/subjects", json=SUBJECT, headers=auth).status_code == 201
    assert client.post("/api/v1/faces/subjects", json=SUBJECT, headers=auth).status_code == 409
    enrolled = client.post("/api/v1/faces/subjects/WAR-1/photos", content=encode(hopper()), headers={**auth, **PHOTO})
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["quality"] > 0.5
    made = client.post("/api/v1/faces/watchlists", json={"name": "Station"}, headers=auth)
    assert made.status_code == 201, made.text
    added = client.post(
        "/api/v1/faces/watchlists/entries", json={"watchlist": "Station", "subjects": ["WAR-1"]}, headers=auth
    )
    assert added.status_code == 200 and added.json()["subjects"] == ["WAR-1"]
    frozen = client.post("/api/v1/faces/watchlists/freeze", json={"watchlist": "Station"}, headers=auth)
    assert frozen.status_code == 200 and frozen.json()["frozen_at"]
    register = client.get("/api/v1/faces/watchlists", headers=auth).json()
    assert [s["reference"] for s in register["subjects"]] == ["WAR-1"] and register["watchlists"][0][
        "name"
    ] == "Station"

    searched = client.post("/api/v1/faces/retro", params=WORK, content=encode(hopper()), headers={**auth, **PHOTO})
    assert searched.status_code == 201, searched.text
    search = searched.json()
    assert "not an identification" in search["notice"] and search["candidates"]
    first = search["candidates"][0]
    assert first["verdict"] == "pending" and 3.0 <= first["offset_s"] < 5.0
    decided = client.post(
        f"/api/v1/faces/retro/candidates/{first['id']}",
        params=WORK,
        json={"verdict": "confirmed", "note": "same face"},
        headers=auth,
    )
    assert decided.status_code == 200 and decided.json()["verdict"] == "confirmed"
    viewed = client.get(f"/api/v1/faces/retro/{search['id']}", params=WORK, headers=auth).json()
    assert viewed["candidates"][0]["verdict"] == "confirmed"
    listed = client.get("/api/v1/faces/retro", params=WORK, headers=auth).json()
    assert [s["id"] for s in listed["searches"]] == [search["id"]] and listed["faces"] >= 1
    for action in ("fr.subject.create", "fr.enrol", "fr.watchlist.create", "fr.watchlist.add", "fr.watchlist.freeze",
                   "fr.register.view", "fr.retro.search", "fr.retro.verdict", "fr.retro.view"):  # fmt: skip
        assert "ok" in outcomes(client, "sue", action), action


def test_untrained_and_outside_users_are_refused_audited_and_change_nothing(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    before = (count(client, Subject), count(client, Watchlist), count(client, RetroSearch), count(client, Enrolment))
    ivan = bearer(tokens["ivan"])
    assert client.get("/api/v1/faces/watchlists", headers=ivan).status_code == 403
    other = {**SUBJECT, "reference": "WAR-9"}
    assert client.post("/api/v1/faces/subjects", json=other, headers=ivan).status_code == 403
    assert (
        client.post("/api/v1/faces/retro", params=WORK, content=encode(hopper()), headers={**ivan, **PHOTO}).status_code
        == 403
    )
    assert outcomes(client, "ivan", "fr.subject.create") == ["refused"]
    assert outcomes(client, "ivan", "fr.retro.search") == ["refused"]
    rita = bearer(tokens["rita"])  # trained, but not a member of the case
    assert (
        client.post("/api/v1/faces/retro", params=WORK, content=encode(hopper()), headers={**rita, **PHOTO}).status_code
        == 403
    )
    assert client.get("/api/v1/faces/retro", params=WORK, headers=rita).status_code == 403
    assert "refused" in outcomes(client, "rita", "fr.retro.search")
    after = (count(client, Subject), count(client, Watchlist), count(client, RetroSearch), count(client, Enrolment))
    assert after == before


def test_another_cases_search_and_candidates_are_not_reachable(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    auth = bearer(tokens["sue"])
    search = client.post("/api/v1/faces/retro", params=WORK, content=encode(hopper()), headers={**auth, **PHOTO}).json()
    candidate = search["candidates"][0]["id"]
    rita = bearer(tokens["rita"])
    elsewhere = {"case": OTHER, "purpose": PURPOSE}
    assert client.get(f"/api/v1/faces/retro/{search['id']}", params=elsewhere, headers=rita).status_code == 404
    verdict = client.post(
        f"/api/v1/faces/retro/candidates/{candidate}", params=elsewhere, json={"verdict": "rejected"}, headers=rita
    )
    assert verdict.status_code == 404
    stmt = select(RetroCandidate.verdict).where(RetroCandidate.id == candidate)
    assert seed(client.app, lambda db: db.execute(stmt).scalar_one()) == "pending"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/v1/faces/retro/2147483647", {"params": WORK}, 404),
        ("GET", "/api/v1/faces/retro/-1", {"params": WORK}, 422),
        ("POST", "/api/v1/faces/retro/candidates/2147483647", {"params": WORK, "json": {"verdict": "confirmed"}}, 404),
        ("POST", "/api/v1/faces/retro/candidates/1", {"params": WORK, "json": {"verdict": "maybe"}}, 422),
        ("POST", "/api/v1/faces/subjects/NOPE-1/photos", {"content": b"x", "headers": PHOTO}, 422),
        ("POST", "/api/v1/faces/subjects/..%2F..%2Fetc/photos", {"content": b"x", "headers": PHOTO}, 404),
        ("POST", "/api/v1/faces/subjects", {"json": {**SUBJECT, "category": "suspect"}}, 422),
        ("POST", "/api/v1/faces/subjects", {"json": {**SUBJECT, "expires_on": "2001-01-01"}}, 422),
        ("POST", "/api/v1/faces/watchlists/freeze", {"json": {"watchlist": "No such list"}}, 404),
        ("POST", "/api/v1/faces/retro", {"params": WORK, "content": b"", "headers": PHOTO}, 422),
        ("POST", "/api/v1/faces/retro", {"params": WORK, "content": b"GIF89a not really", "headers": PHOTO}, 422),
        ("POST", "/api/v1/faces/retro", {"params": WORK, "content": b"\0" * (21 * 1024 * 1024), "headers": PHOTO}, 413),
    ],
)
def test_crafted_ids_and_bad_input_get_a_clear_4xx_and_change_nothing(
    world: tuple[TestClient, dict[str, str]], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    client, tokens = world
    before = (count(client, Subject), count(client, RetroSearch), count(client, Enrolment))
    headers = {**bearer(tokens["sue"]), **kwargs.pop("headers", {})}
    reply = client.request(method, path, headers=headers, **kwargs)
    if status == 404 and "%2F" in path:
        assert reply.status_code in (404, 422)
    else:
        assert reply.status_code == status, reply.text
    assert "detail" in reply.json()
    assert (count(client, Subject), count(client, RetroSearch), count(client, Enrolment)) == before


def test_bad_tokens_get_401(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    for headers in ({}, bearer(tokens["sue"][:-2] + "zz"), {"Authorization": "Bearer vgl_forged"}):
        assert client.get("/api/v1/faces/watchlists", headers=headers).status_code == 401
        assert (
            client.post(
                "/api/v1/faces/retro", params=WORK, content=encode(hopper()), headers={**headers, **PHOTO}
            ).status_code
            == 401
        )
