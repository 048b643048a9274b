"""The camera wall over HTTP: who may watch, the purpose asked before any picture, crafted camera codes, and
bookmarks that only their case's members reach. Each refusal is audited and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_user
from tests.support.live import scene
from tests.support.webapp import TestClient, csrf_of, log_in, seed
from tests.web.conftest import client_for
from vigil.db.base import utcnow
from vigil.db.live_models import LiveBookmark, LiveView
from vigil.db.models import AuditEntry
from vigil.live.observers import LiveFrame
from vigil.live.store import write_health
from vigil.live.wall import WallPicture

CAMERAS = [
    {"code": "CAM-1", "url": "rtsp://viewer:hunter2@10.0.0.5:554/stream1"},
    {"code": "CAM-2", "url": "rtsp://10.0.0.6/stream1", "recording": "motion"},
]
PURPOSE = "monitoring the town centre for the night-time economy operation"


def _people(db: Session) -> None:
    make_user(db, "olive", "operator", trained_for=("analytics",), cases=["CUM-2026-000401"])
    make_user(db, "uma", "operator")
    make_user(db, "ian", "investigator", trained_for=("analytics",), cases=["CUM-2026-000402"])


def _audit(client: TestClient, action: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return seed(client.app, lambda db: list(db.execute(stmt).scalars()))  # type: ignore[arg-type]


def _count(client: TestClient, model: type) -> int:
    return seed(client.app, lambda db: db.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[arg-type]


def _start(client: TestClient, case_ref: str = "CUM-2026-000401") -> None:
    token = csrf_of(client.get("/live/wall").text)
    response = client.post("/live/wall/view", data={"purpose": PURPOSE, "case_ref": case_ref, "csrf_token": token})
    assert response.status_code == 200 and 'id="wall"' in response.text


@pytest.fixture
def wall(tmp_path: Path) -> TestClient:
    client = client_for(tmp_path, live={"cameras": CAMERAS})
    seed(client.app, _people)  # type: ignore[arg-type]
    spool = client.app.state.system.settings.live_spool_dir  # type: ignore[attr-defined]
    WallPicture(folder=spool / "CAM-1", every_seconds=0).observe(LiveFrame("CAM-1", scene(box_x=50), utcnow(), None))
    (spool / "secret.jpg").write_bytes(b"not for the wall")
    return client


def test_pictures_need_a_stated_purpose_and_the_view_and_opened_camera_are_audited(wall: TestClient) -> None:
    assert log_in(wall, "olive", PASSWORD) == "/"
    page = wall.get("/live/wall")
    assert page.status_code == 200 and 'id="wall-purpose"' in page.text and 'id="wall"' not in page.text
    before = wall.get("/live/wall/cameras/CAM-1/picture.jpg")
    assert before.status_code == 403 and "state your purpose" in before.text
    short = wall.post("/live/wall/view", data={"purpose": "looking", "csrf_token": csrf_of(page.text)})
    assert "at least 10" in short.text or "10 to 1000" in short.text
    assert _count(wall, LiveView) == 0

    _start(wall)
    picture = wall.get("/live/wall/cameras/CAM-1/picture.jpg")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content[:2] == b"\xff\xd8" and picture.headers["cache-control"] == "no-store"
    assert wall.get("/live/wall/cameras/CAM-2/picture.jpg").status_code == 404  # no frame from CAM-2 yet
    token = csrf_of(wall.get("/live/wall").text)
    opened = wall.post("/live/wall/cameras/CAM-1/open", headers={"x-csrf-token": token})
    assert opened.status_code == 200
    [started] = _audit(wall, "live.view.start")
    assert started.actor == "olive" and started.purpose == PURPOSE and started.case_ref == "CUM-2026-000401"
    [view] = _audit(wall, "live.view")
    assert (view.subject_id, view.purpose, view.case_ref) == ("CAM-1", PURPOSE, "CUM-2026-000401")
    health = wall.get("/live/wall/health").json()
    assert [row["camera"] for row in health] == ["CAM-1", "CAM-2"] and "hunter2" not in str(health)


@pytest.mark.parametrize(
    "path",
    [
        "/live/wall/cameras/..%2Fsecret.jpg/picture.jpg",
        "/live/wall/cameras/%2E%2E/picture.jpg",
        "/live/wall/cameras/CAM-9/picture.jpg",
        "/live/wall/cameras/cam-1/picture.jpg",
        "/live/wall/cameras/CAM-1%00/picture.jpg",
        "/live/wall/cameras/" + "A" * 200 + "/picture.jpg",
    ],
)
def test_crafted_camera_codes_in_the_picture_url_are_refused_and_serve_no_file(wall: TestClient, path: str) -> None:
    log_in(wall, "olive", PASSWORD)
    _start(wall)
    response = wall.get(path)
    assert response.status_code in (403, 404, 422)
    assert b"not for the wall" not in response.content and response.headers["content-type"] != "image/jpeg"


def test_an_untrained_operator_is_refused_the_wall_and_the_refusal_is_audited(wall: TestClient) -> None:
    log_in(wall, "uma", PASSWORD)
    page = wall.get("/live/wall")
    assert page.status_code == 403 and "no current training" in page.text
    assert wall.get("/live/wall/cameras/CAM-1/picture.jpg").status_code == 403
    [refused] = _audit(wall, "live.wall")
    assert (refused.actor, refused.outcome) == ("uma", "refused")
    assert _count(wall, LiveView) == 0


def test_a_bookmark_is_reached_only_for_its_case_and_another_cases_member_is_refused(wall: TestClient) -> None:
    log_in(wall, "olive", PASSWORD)
    _start(wall)
    token = csrf_of(wall.get("/live/wall").text)
    made = wall.post(
        "/live/wall/cameras/CAM-1/bookmark",
        data={"at": utcnow().isoformat(), "note": "bag left by the bench"},
        headers={"x-csrf-token": token},
    )
    assert made.status_code == 200
    link = made.json()["link"]
    assert link.endswith("?case=CUM-2026-000401")
    listing = wall.get("/live/bookmarks?case=CUM-2026-000401")
    assert listing.status_code == 200 and "bag left by the bench" in listing.text
    waiting = wall.get(link)  # its segment is still being recorded: said so, back to the list
    assert waiting.status_code == 200 and "still being recorded" in waiting.text

    forged = wall.post(
        "/live/wall/cameras/CAM-1/bookmark",
        data={"at": utcnow().isoformat(), "note": "x", "case_ref": "CUM-2026-000402"},
        headers={"x-csrf-token": token},
    )
    assert forged.status_code == 403 and _count(wall, LiveBookmark) == 1

    other = client_for_same(wall)
    log_in(other, "ian", PASSWORD)
    context = csrf_of(other.get("/context").text)
    other.post("/context", data={"case_ref": "CUM-2026-000402", "purpose": PURPOSE, "csrf_token": context})
    bookmark_id = link.split("/")[3].split("?")[0]
    refused = other.get(f"/live/bookmarks/{bookmark_id}?case=CUM-2026-000402", follow_redirects=False)
    assert refused.status_code == 403 and "bag left" not in refused.text
    listing = other.get("/live/bookmarks?case=CUM-2026-000402")
    assert "bag left" not in listing.text
    refusals = [(e.actor, e.outcome) for e in _audit(wall, "live.bookmark.open")]
    assert ("ian", "refused") in refusals
    assert [(e.actor, e.outcome) for e in _audit(wall, "live.bookmark")] == [("olive", "ok"), ("olive", "refused")]


def client_for_same(client: TestClient) -> TestClient:
    """A second browser on the same app (its own cookies)."""
    return TestClient(client.app)


def test_the_wall_shows_the_cluster_node_of_each_camera_that_runs_on_ray(wall: TestClient) -> None:
    """A camera whose health names a Ray node shows it (page and refresh); a local camera shows none."""

    def health(db: Session) -> None:
        write_health(db, camera_code="CAM-1", state="online", node="10.0.0.21 3f2a9c1b2d4e")
        write_health(db, camera_code="CAM-2", state="online")

    seed(wall.app, health)  # type: ignore[arg-type]
    assert log_in(wall, "olive", PASSWORD) == "/"
    _start(wall)
    page = wall.get("/live/wall").text
    one = page.split('data-camera="CAM-1"', 1)[1].split("</figure>", 1)[0]
    two = page.split('data-camera="CAM-2"', 1)[1].split("</figure>", 1)[0]
    assert '<span class="muted" data-field="node">node 10.0.0.21 3f2a9c1b2d4e</span>' in one
    assert '<span class="muted" data-field="node"></span>' in two
    rows = {row["camera"]: row for row in wall.get("/live/wall/health").json()}
    assert rows["CAM-1"]["node"] == "node 10.0.0.21 3f2a9c1b2d4e" and rows["CAM-2"]["node"] == ""
