"""Search, search by example and review marks through the JSON API: the same checks and audit as the pages, and
the attacks (untrained user, another case's track, forged or expired token, crafted ids, a huge or bogus photo)
refused, audited where the pages audit them, and without effect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.api import bearer
from tests.support.builders import make_case, make_user
from tests.support.webapp import TestClient, seed
from vigil.db.base import utcnow
from vigil.db.models import ApiToken, AuditEntry, Footage, ReviewMark, SavedSearch, Track
from vigil.governance.users import issue_token
from vigil.search.similarity.by_example import MAX_PHOTO_BYTES
from vigil.web.app import create_app

CASE, OTHER = "CUM-2026-000777", "CUM-2026-000888"
PURPOSE = "trace the man in the red top seen at the cash machine"
WORK = {"case": CASE, "purpose": PURPOSE}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """ivy (analytics, case member), una (untrained member), two analysed scenes: one force footage, one held
    for another case ivy is not a member of."""
    app = create_app(make_settings(tmp_path_factory.mktemp("api-investigation") / "data"))
    settings = app.state.system.settings

    def build(db: Session) -> dict[str, Any]:
        ivy = make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        una = make_user(db, "una", cases=(CASE,))
        oscar = make_user(db, "oscar", trained_for=("analytics",), cases=(OTHER,))
        make_case(db, CASE, members=[ivy, una])
        force = analysed_footage(db, settings, user=ivy, camera_code="PEN-01")
        held = analysed_footage(
            db, settings, user=ivy, camera_code="PEN-02", start=SCENE_START + timedelta(hours=1), scene_frames=64
        )
        db.execute(update(Footage).where(Footage.id == held.id).values(case_id=make_case(db, OTHER).id))
        tracks = {
            name: list(db.execute(select(Track.id).where(Track.footage_id == f.id).order_by(Track.id)).scalars())
            for name, f in (("force", force), ("held", held))
        }
        tokens = {user.username: issue_token(db, user=user, name="test") for user in (ivy, una, oscar)}
        db.commit()
        return {"tracks": tracks, "tokens": tokens}

    with TestClient(app) as client:
        yield client, seed(app, build)


def count(client: TestClient, model: type[Any]) -> int:
    return int(seed(client.app, lambda db: db.execute(select(func.count()).select_from(model)).scalar_one()))  # type: ignore[arg-type]


def audited(client: TestClient, actor: str) -> list[tuple[str, str]]:
    stmt = select(AuditEntry.action, AuditEntry.outcome).where(AuditEntry.actor == actor).order_by(AuditEntry.seq)
    return [(a, o) for a, o in seed(client.app, lambda db: db.execute(stmt).all())]  # type: ignore[arg-type]


def test_search_review_mark_and_similar_tracks_are_checked_and_audited(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, data = world
    auth = bearer(data["tokens"]["ivy"])
    understood = client.get("/api/v1/search/understand", params={**WORK, "q": "person in a red top"}, headers=auth)
    assert understood.status_code == 200, understood.text
    query = understood.json()["query"]
    assert query["classes"] == ["person"] and query["upper_colours"] == ["red"]

    found = client.post("/api/v1/search", params=WORK, json={"query": query, "description": "red top"}, headers=auth)
    assert found.status_code == 200, found.text
    ids = [card["track_id"] for card in found.json()["cards"]]
    assert ids and set(ids) <= set(data["tracks"]["force"])  # the other case's footage is not searched
    paged = client.post("/api/v1/search", params=WORK, json={"query": {"limit": 1}}, headers=auth).json()
    assert len(paged["cards"]) == 1 and paged["more"] is True

    track = ids[0]
    mark = client.post(
        f"/api/v1/tracks/{track}/marks", params=WORK, json={"verdict": "confirmed", "note": "him"}, headers=auth
    )
    assert mark.status_code == 201, mark.text
    review = client.get(f"/api/v1/tracks/{track}/review", params=WORK, headers=auth).json()
    assert review["card"]["verdict"] == "confirmed"
    assert [(m["verdict"], m["note"], m["marked_by"]) for m in review["marks"]] == [("confirmed", "him", "ivy")]

    similar = client.post(f"/api/v1/tracks/{track}/similar", params=WORK, json={"top": 5}, headers=auth)
    assert similar.status_code == 200, similar.text
    assert similar.json()["source"]["track_id"] == track
    assert track not in [r["card"]["track_id"] for r in similar.json()["results"]]

    saved = client.post("/api/v1/search/saved", params=WORK, json={"name": "red top", "query": query}, headers=auth)
    assert saved.status_code == 201, saved.text
    again = client.post("/api/v1/search/saved", params=WORK, json={"name": "red top", "query": query}, headers=auth)
    assert again.status_code == 409
    listed = client.get("/api/v1/search/saved", params=WORK, headers=auth).json()
    assert [s["name"] for s in listed["items"]] == ["red top"] and listed["page"]["more"] is False
    loaded = client.get(f"/api/v1/search/saved/{saved.json()['id']}", params=WORK, headers=auth).json()
    assert loaded["query"] == saved.json()["query"]

    actions = [a for a, outcome in audited(client, "ivy") if outcome == "ok"]
    for action in ("search.run", "review.mark", "track.review", "search.similar", "search.save", "search.load"):
        assert action in actions
    entry = seed(
        client.app, lambda db: db.execute(select(AuditEntry).where(AuditEntry.action == "review.mark")).scalar_one()
    )  # type: ignore[arg-type]
    assert (entry.case_ref, entry.purpose, entry.subject_id) == (CASE, PURPOSE, str(track))


def test_a_description_asking_to_identify_someone_is_refused_and_audited(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, data = world
    reply = client.get(
        "/api/v1/search/understand",
        params={**WORK, "q": "who is the man in the red top"},
        headers=bearer(data["tokens"]["ivy"]),
    )
    assert reply.status_code == 403, reply.text
    assert ("search.run", "refused") in audited(client, "ivy")


ATTACKS = [
    ("una", "force", CASE, 403),  # not trained for analytics
    ("ivy", "held", CASE, 403),  # the track is held for another case
    ("ivy", "held", OTHER, 403),  # not a member of the other case
    ("oscar", "force", CASE, 403),  # trained, but not a member of the case
]


@pytest.mark.parametrize(
    ("who", "footage", "case", "status"), ATTACKS, ids=["untrained", "held", "non-member", "outsider"]
)
def test_marks_and_views_by_the_wrong_person_or_case_are_refused_audited_and_change_nothing(
    world: tuple[TestClient, dict[str, Any]], who: str, footage: str, case: str, status: int
) -> None:
    client, data = world
    auth, track = bearer(data["tokens"][who]), data["tracks"][footage][0]
    params = {"case": case, "purpose": PURPOSE}
    marks, refused = count(client, ReviewMark), audited(client, who).count(("review.mark", "refused"))
    reply = client.post(f"/api/v1/tracks/{track}/marks", params=params, json={"verdict": "rejected"}, headers=auth)
    assert reply.status_code == status, reply.text
    assert count(client, ReviewMark) == marks
    assert audited(client, who).count(("review.mark", "refused")) == refused + 1
    for method, path, body in (
        ("GET", f"/api/v1/tracks/{track}/review", None),
        ("POST", f"/api/v1/tracks/{track}/similar", {}),
    ):
        assert client.request(method, path, params=params, json=body, headers=auth).status_code == status


def test_forged_expired_and_missing_tokens_get_401_and_change_nothing(world: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = world
    track, saved = data["tracks"]["force"][0], count(client, SavedSearch)
    marks = count(client, ReviewMark)
    forged = data["tokens"]["ivy"][:-4] + "AAAA"
    for headers in ({}, bearer(forged), {"Authorization": "Basic aXZ5OnB3"}):
        assert (
            client.post(
                f"/api/v1/tracks/{track}/marks", params=WORK, json={"verdict": "confirmed"}, headers=headers
            ).status_code
            == 401
        )
        assert (
            client.post(
                "/api/v1/search/saved", params=WORK, json={"name": "x", "query": {}}, headers=headers
            ).status_code
            == 401
        )
    token = issue_for(client, "ivy")
    seed(
        client.app,
        lambda db: db.execute(
            update(ApiToken).where(ApiToken.name == "expiring").values(expires_at=utcnow() - timedelta(seconds=1))
        ),
    )  # type: ignore[arg-type]
    assert client.post("/api/v1/search", params=WORK, json={}, headers=bearer(token)).status_code == 401
    assert (count(client, SavedSearch), count(client, ReviewMark)) == (saved, marks)


def issue_for(client: TestClient, username: str) -> str:
    def build(db: Session) -> str:
        from vigil.governance.users import get_user

        return issue_token(db, user=get_user(db, username), name="expiring")

    return str(seed(client.app, build))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/tracks/2147483647/review", 404),
        ("/api/v1/tracks/0/review", 422),
        ("/api/v1/tracks/99999999999999999999/review", 422),
        ("/api/v1/tracks/abc/review", 422),
        ("/api/v1/search/saved/2147483647", 404),
    ],
)
def test_crafted_ids_get_a_clear_error(world: tuple[TestClient, dict[str, Any]], path: str, status: int) -> None:
    client, data = world
    reply = client.get(path, params=WORK, headers=bearer(data["tokens"]["ivy"]))
    assert reply.status_code == status
    assert isinstance(reply.json()["detail"], (str, list))


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({"case": CASE}, {}),  # no purpose
        ({"case": "bad case!", "purpose": PURPOSE}, {}),
        (WORK, {"query": {"classes": ["unicorn"]}}),
        (WORK, {"query": {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}}),
        (WORK, {"query": {"limit": 100000}}),
        (WORK, {"unknown": 1}),
    ],
)
def test_bad_search_input_gets_422(
    world: tuple[TestClient, dict[str, Any]], params: dict[str, str], body: dict[str, Any]
) -> None:
    client, data = world
    reply = client.post("/api/v1/search", params=params, json=body, headers=bearer(data["tokens"]["ivy"]))
    assert reply.status_code == 422, reply.text


def test_a_photo_over_the_limit_empty_or_not_an_image_is_refused_and_not_searched(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, data = world
    auth = {**bearer(data["tokens"]["ivy"]), "content-type": "application/octet-stream"}
    before = audited(client, "ivy").count(("search.similar", "ok"))
    huge = client.post("/api/v1/similar/photo", params=WORK, content=b"\xff" * (MAX_PHOTO_BYTES + 1), headers=auth)
    assert huge.status_code == 413
    assert client.post("/api/v1/similar/photo", params=WORK, content=b"", headers=auth).status_code == 422
    bogus = client.post("/api/v1/similar/photo", params=WORK, content=b"not a photo at all", headers=auth)
    assert bogus.status_code == 422 and "detail" in bogus.json()
    assert audited(client, "ivy").count(("search.similar", "ok")) == before
