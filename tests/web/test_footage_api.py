"""The footage, analysis and track operations of the JSON API (bearer tokens, raw-body upload)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.footage.builders import make_video
from tests.support.builders import make_user
from tests.support.footage_web import CASE, PURPOSE, footage_client, register_people_and_cameras
from tests.support.webapp import TestClient, seed
from vigil.db.models import Footage, User
from vigil.governance import audit
from vigil.governance.users import issue_token


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with footage_client(tmp_path) as test_client:
        yield test_client


def token_of(client: TestClient, username: str) -> dict[str, str]:
    def build(db: Session) -> str:
        user = db.execute(select(User).where(User.username == username)).scalar_one()
        return issue_token(db, user=user, name="test")

    return {"Authorization": f"Bearer {seed(client.app, build)}"}  # type: ignore[arg-type]


def wait_for(client: TestClient, job_id: int, auth: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("the job did not finish")


def test_upload_analyse_and_read_tracks_through_the_api(client: TestClient, tmp_path: Path) -> None:
    register_people_and_cameras(client)
    auth = token_of(client, "ivy")
    video = make_video(tmp_path / "clip.mp4", size=(64, 48), seconds=2).read_bytes()
    stored = client.post(
        "/api/v1/footage",
        params={"camera": "pen-01", "name": "clip.mp4", "start": "2026-03-01T14:05Z"},
        content=video,
        headers={**auth, "content-type": "application/octet-stream"},
    )
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["duplicate"] is False and body["footage"]["camera"] == "PEN-01" and body["footage"]["analysable"]
    assert body["footage"]["start_time"].startswith("2026-03-01T14:05:00") and body["footage"]["analysis"] is None
    [listed] = client.get("/api/v1/footage", headers=auth).json()
    assert listed["id"] == 1 and listed["sha256"] == body["footage"]["sha256"]
    started = client.post("/api/v1/footage/1/analyse", headers=auth)
    assert started.status_code == 202 and started.json()["status"] in ("queued", "running", "done")
    job = wait_for(client, started.json()["id"], auth)
    assert job["status"] == "done" and job["progress_frames"] == job["total_frames"] == 20
    again = client.post("/api/v1/footage/1/analyse", headers=auth, json={"force": False})
    assert again.json()["id"] == job["id"]  # already done: the same job, not a new analysis
    missing = client.get("/api/v1/footage/1/tracks", headers=auth)
    assert missing.status_code == 422 and {e["loc"][-1] for e in missing.json()["detail"]} == {"case", "purpose"}
    short = client.get("/api/v1/footage/1/tracks", headers=auth, params={"case": CASE, "purpose": "look"})
    assert short.status_code == 422 and "at least 10 characters" in short.json()["detail"]
    tracks = client.get("/api/v1/footage/1/tracks", headers=auth, params={"case": CASE, "purpose": PURPOSE})
    assert tracks.status_code == 200 and tracks.json() == []  # a red square is nobody
    entries = seed(client.app, lambda db: list(audit.query_entries(db, action_prefix="tracks.view")))  # type: ignore[arg-type]
    assert [(e.actor, e.case_ref, e.purpose) for e in entries] == [("ivy", CASE, PURPOSE)]


def test_api_refusals(client: TestClient, tmp_path: Path) -> None:
    register_people_and_cameras(client)
    ivy, ned = token_of(client, "ivy"), token_of(client, "ned")
    video = make_video(tmp_path / "clip.mp4", size=(64, 48), seconds=1).read_bytes()
    untrained = client.post("/api/v1/footage", params={"camera": "PEN-01"}, content=video, headers=ned)
    assert untrained.status_code == 403 and "no current training record" in untrained.json()["detail"]
    not_video = client.post("/api/v1/footage", params={"camera": "PEN-01"}, content=b"<html></html>", headers=ivy)
    assert not_video.status_code == 422
    assert client.post("/api/v1/footage", params={"camera": "X"}, content=video, headers=ivy).status_code == 404
    assert client.post("/api/v1/footage", params={"camera": "../x"}, content=video, headers=ivy).status_code == 422
    assert client.get("/api/v1/jobs/7", headers=ivy).status_code == 404
    assert client.post("/api/v1/footage/7/analyse", headers=ivy).status_code == 404
    assert client.get("/api/v1/footage", headers=ned).status_code == 403
    no_pia = client.post("/api/v1/footage", params={"camera": "KES-02"}, content=video, headers=ivy).json()
    assert no_pia["footage"]["analysable"] is False
    refused = client.post(f"/api/v1/footage/{no_pia['footage']['id']}/analyse", headers=ivy)
    assert refused.status_code == 403 and "no current Privacy Impact Assessment" in refused.json()["detail"]
    tracks = client.get("/api/v1/footage/1/tracks", headers=ned, params={"case": CASE, "purpose": PURPOSE})
    assert tracks.status_code == 403


def test_a_non_member_is_refused_case_footage_and_never_sees_its_reference(client: TestClient, tmp_path: Path) -> None:
    """F6: bob, trained but not a member of CASE, states CASE through the API: refused, audited, nothing listed."""
    register_people_and_cameras(client)
    seed(client.app, lambda db: make_user(db, "bob", trained_for=("analytics",), cases=("CUM-2026-000999",)))  # type: ignore[arg-type]
    ivy, bob = token_of(client, "ivy"), token_of(client, "bob")
    video = make_video(tmp_path / "clip.mp4", size=(64, 48), seconds=1).read_bytes()
    held = client.post(
        "/api/v1/footage",
        params={"camera": "PEN-01", "case": CASE},
        content=video,
        headers={**ivy, "content-type": "application/octet-stream"},
    )
    assert held.status_code == 201 and held.json()["footage"]["case"] == CASE
    footage_id = held.json()["footage"]["id"]
    assert [f["case"] for f in client.get("/api/v1/footage", headers=ivy).json()] == [CASE]
    listed = client.get("/api/v1/footage", headers=bob)
    assert listed.status_code == 200 and listed.json() == [] and CASE not in listed.text
    tracks = client.get(f"/api/v1/footage/{footage_id}/tracks", headers=bob, params={"case": CASE, "purpose": PURPOSE})
    assert tracks.status_code == 403 and f"not a member of case {CASE}" in tracks.json()["detail"]
    body = {"case_ref": CASE, "purpose": PURPOSE, "capability": "analytics"}
    assert client.post("/api/v1/cases", headers=bob, json=body).status_code == 403
    own = {"case": "CUM-2026-000999", "purpose": PURPOSE}  # through his own case: still not A's footage
    assert client.get(f"/api/v1/footage/{footage_id}/tracks", headers=bob, params=own).status_code == 403
    smuggled = client.post(
        "/api/v1/footage",
        params={"camera": "PEN-01", "case": CASE, "name": "other.mp4"},
        content=video,
        headers={**bob, "content-type": "application/octet-stream"},
    )
    assert smuggled.status_code == 403  # nor can he file footage under case A
    refused = seed(client.app, lambda db: [e for e in audit.query_entries(db, actor="bob") if e.outcome == "refused"])  # type: ignore[arg-type]
    assert [(e.action, e.case_ref) for e in refused] == [
        ("tracks.view", CASE),
        ("case.access", CASE),
        ("tracks.view", "CUM-2026-000999"),
        ("footage.ingest", CASE),
    ]
    assert seed(client.app, lambda db: db.query(Footage).count()) == 1  # type: ignore[arg-type]
