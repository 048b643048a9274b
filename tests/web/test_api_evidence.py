"""Evidence bundles and synopses through the JSON API: made, downloaded and verified with the same checks and audit
as the pages; the wrong person, the wrong case, a bad token or a crafted id is refused and leaves nothing behind."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.api import bearer
from tests.support.builders import make_user
from tests.support.webapp import TestClient, seed
from vigil.db.models import AuditEntry, EvidenceExport, Track
from vigil.governance.audit import AuditContext
from vigil.governance.keys import secret_key
from vigil.governance.users import issue_token
from vigil.search.export.verify import verify_bundle
from vigil.search.review.marks import mark_track
from vigil.web.app import create_app

CASE, OTHER = "CUM-2026-000555", "CUM-2026-000556"
PURPOSE = "identify the man who took the bicycle outside the bank"
WORK = {"case": CASE, "purpose": PURPOSE}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """ivy (analytics + export, both cases), ned (analytics only), oscar (export, the other case only); analysed
    footage whose first track is confirmed for the case and the second rejected."""
    app = create_app(make_settings(tmp_path_factory.mktemp("api-evidence") / "data"))
    settings = app.state.system.settings

    def build(db: Session) -> dict[str, Any]:
        ivy = make_user(db, "ivy", trained_for=("analytics", "export"), cases=(CASE, OTHER))
        ned = make_user(db, "ned", trained_for=("analytics",), cases=(CASE,))
        oscar = make_user(db, "oscar", trained_for=("analytics", "export"), cases=(OTHER,))
        footage = analysed_footage(db, settings, user=ivy)
        ids = list(db.execute(select(Track.id).where(Track.footage_id == footage.id).order_by(Track.id)).scalars())
        context = AuditContext(case_ref=CASE, purpose=PURPOSE)
        mark_track(db=db, user=ivy, context=context, track_id=ids[0], verdict="confirmed", note="same jacket")
        mark_track(db=db, user=ivy, context=context, track_id=ids[1], verdict="rejected", note="")
        tokens = {user.username: issue_token(db, user=user, name="test") for user in (ivy, ned, oscar)}
        db.commit()
        return {"tracks": ids, "tokens": tokens, "secret": secret_key(settings)}

    with TestClient(app) as client:
        yield client, seed(app, build)


def exports(client: TestClient) -> int:
    return int(seed(client.app, lambda db: db.execute(select(func.count(EvidenceExport.id))).scalar_one()))  # type: ignore[arg-type]


def outcomes(client: TestClient, actor: str, action: str) -> list[str]:
    stmt = select(AuditEntry.outcome).where(AuditEntry.actor == actor, AuditEntry.action == action)
    return list(seed(client.app, lambda db: db.execute(stmt.order_by(AuditEntry.seq)).scalars()))  # type: ignore[arg-type]


def test_a_bundle_is_made_listed_downloaded_and_verifies(
    world: tuple[TestClient, dict[str, Any]], tmp_path: Path
) -> None:
    client, data = world
    auth = bearer(data["tokens"]["ivy"])
    listed = client.get("/api/v1/exports", params=WORK, headers=auth).json()
    assert listed["confirmed_tracks"] == [data["tracks"][0]]
    made = client.post("/api/v1/exports", params=WORK, json={}, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["track_count"] == 1
    listed = client.get("/api/v1/exports", params={**WORK, "limit": 1}, headers=auth).json()
    assert [e["id"] for e in listed["exports"]] == [made.json()["id"]]
    download = client.get(f"/api/v1/exports/{made.json()['id']}/download", params=WORK, headers=auth)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(download.content)
    report = verify_bundle(bundle, secret=data["secret"])
    assert report.ok, report.problems
    assert outcomes(client, "ivy", "export.create")[-1:] == ["ok"]
    assert outcomes(client, "ivy", "export.download")[-1:] == ["ok"]


@pytest.mark.parametrize(
    ("who", "case", "body"),
    [
        ("ned", CASE, {}),  # not trained for export
        ("oscar", CASE, {}),  # not a member of the case
        ("ivy", OTHER, {}),  # nothing is confirmed for the other case
        ("ivy", CASE, {"track_ids": ["REJECTED"]}),  # a rejected track is not evidence
        ("ivy", CASE, {"track_ids": [2147483647]}),  # no such track
    ],
    ids=["untrained", "outsider", "other-case", "rejected-track", "crafted-id"],
)
def test_bundles_that_may_not_be_made_are_refused_and_nothing_is_written(
    world: tuple[TestClient, dict[str, Any]], who: str, case: str, body: dict[str, Any]
) -> None:
    client, data = world
    if body.get("track_ids") == ["REJECTED"]:
        body = {"track_ids": [data["tracks"][1]]}
    before, files = exports(client), sorted((client.app.state.system.settings.data_dir).rglob("*.zip"))  # type: ignore[attr-defined]
    reply = client.post(
        "/api/v1/exports", params={"case": case, "purpose": PURPOSE}, json=body, headers=bearer(data["tokens"][who])
    )
    assert 400 <= reply.status_code < 500 and reply.status_code != 401, reply.text
    assert isinstance(reply.json()["detail"], (str, list))
    assert exports(client) == before
    assert sorted((client.app.state.system.settings.data_dir).rglob("*.zip")) == files  # type: ignore[attr-defined]
    if who in ("ned", "oscar"):
        assert reply.status_code == 403 and outcomes(client, who, "export.create")[-1] == "refused"


def test_another_cases_bundle_cannot_be_downloaded_and_bad_tokens_get_401(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, data = world
    made = client.post("/api/v1/exports", params=WORK, json={}, headers=bearer(data["tokens"]["ivy"])).json()
    path = f"/api/v1/exports/{made['id']}/download"
    other = client.get(path, params={"case": OTHER, "purpose": PURPOSE}, headers=bearer(data["tokens"]["ivy"]))
    assert other.status_code == 404
    outsider = client.get(path, params=WORK, headers=bearer(data["tokens"]["oscar"]))
    assert outsider.status_code == 403 and outcomes(client, "oscar", "export.download")[-1] == "refused"
    for headers in ({}, bearer(data["tokens"]["ivy"] + "x"), {"Authorization": "Bearer vgl_forged"}):
        assert client.get(path, params=WORK, headers=headers).status_code == 401
        assert client.post("/api/v1/exports", params=WORK, json={}, headers=headers).status_code == 401
    assert (
        client.get("/api/v1/exports/0/download", params=WORK, headers=bearer(data["tokens"]["ivy"])).status_code == 422
    )


def test_a_synopsis_is_rendered_followed_viewed_and_played(world: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = world
    auth = bearer(data["tokens"]["ivy"])
    body = {"camera": "PEN-01", "start": SCENE_START.isoformat(), "end": "2024-05-01T14:05:00Z"}
    started = client.post("/api/v1/synopsis", params=WORK, json=body, headers=auth)
    assert started.status_code == 202, started.text
    reply = started.json()
    deadline = time.monotonic() + 120
    while reply["status"] in ("waiting", "running") and time.monotonic() < deadline:
        time.sleep(0.2)  # polling a background render, as the page's script does
        reply = client.get(f"/api/v1/synopsis/renders/{reply['render_id']}", params=WORK, headers=auth).json()
    assert reply["status"] == "done", reply
    shown = client.get(f"/api/v1/synopsis/{reply['key']}", params=WORK, headers=auth).json()
    assert shown["camera"] == "PEN-01" and {t["id"] for t in shown["tracks"]} <= set(data["tracks"])
    video = client.get(f"/api/v1/synopsis/{reply['key']}/video", params=WORK, headers=auth)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert (
        outcomes(client, "ivy", "synopsis.render")[-1] == "ok" and outcomes(client, "ivy", "synopsis.view")[-1] == "ok"
    )
    # another user cannot follow ivy's render; an untrained or outside user cannot view the synopsis
    if reply["render_id"]:
        other = client.get(
            f"/api/v1/synopsis/renders/{reply['render_id']}", params=WORK, headers=bearer(data["tokens"]["ned"])
        )
        assert other.status_code == 404
    outsider = client.get(f"/api/v1/synopsis/{reply['key']}", params=WORK, headers=bearer(data["tokens"]["oscar"]))
    assert outsider.status_code == 403 and outcomes(client, "oscar", "synopsis.view")[-1] == "refused"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"camera": "NOPE-9", "start": "2024-05-01T14:00:00Z", "end": "2024-05-01T14:05:00Z"}, 404),
        ({"camera": "PEN-01", "start": "2024-05-01T15:00:00Z", "end": "2024-05-01T14:00:00Z"}, 422),
        ({"camera": "PEN-01", "start": "2024-05-01T14:00:00Z", "end": "2024-05-01T14:05:00Z", "track_ids": [0]}, 422),
        ({"camera": "PEN-01", "start": "not a time", "end": "2024-05-01T14:05:00Z"}, 422),
    ],
)
def test_bad_synopsis_requests_get_a_clear_error(
    world: tuple[TestClient, dict[str, Any]], body: dict[str, Any], status: int
) -> None:
    client, data = world
    reply = client.post("/api/v1/synopsis", params=WORK, json=body, headers=bearer(data["tokens"]["ivy"]))
    assert reply.status_code == status, reply.text
    assert (
        client.get("/api/v1/synopsis/" + "0" * 32, params=WORK, headers=bearer(data["tokens"]["ivy"])).status_code
        == 404
    )
