"""The camera page's forms refuse other roles and bad drawings with no effect; the still is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.analysed import make_footage
from tests.support.api import last_entry
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.scenes import crossing_scene, write_video
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from vigil.db.models import Camera

ZONES = [{"name": "Door", "polygon": [[1, 1], [50, 1], [50, 50]]}]


def _world(client: TestClient, tmp_path: Path) -> None:
    data_dir = client.app.state.system.settings.data_dir  # type: ignore[attr-defined]

    def build(db: Session) -> None:
        ada = make_user(db, "ada", "admin")
        make_user(db, "ivy", "investigator", trained_for=("analytics",))
        camera = make_camera(db, "PEN-01")
        camera.zones = json.dumps(ZONES)
        video = write_video(crossing_scene(12), tmp_path / "v.mp4")
        make_footage(db, camera=camera, user=ada, video=video, data_dir=data_dir, frame_count=12)

    seed(client.app, build)  # type: ignore[arg-type]


def _zones(client: TestClient) -> list[object]:
    camera = seed(client.app, lambda db: db.execute(select(Camera)).scalar_one())  # type: ignore[arg-type]
    return list(json.loads(camera.zones))


def test_other_roles_cannot_see_the_still_or_change_the_drawing(client: TestClient, tmp_path: Path) -> None:
    _world(client, tmp_path)
    assert log_in(client, "ivy", PASSWORD) == "/"
    assert client.get("/cameras/PEN-01/still.jpg").status_code == 403
    assert last_entry(client, actor="ivy").outcome == "refused"
    token = page_csrf(client, "/")
    drawing = json.dumps({"zones": [], "lines": []})
    refused = client.post("/cameras/PEN-01/drawing", data={"drawing": drawing, "csrf_token": token})
    assert "may not manage locations" in " ".join(notices(refused.text))
    assert _zones(client) == ZONES  # unchanged


def test_the_still_is_a_jpeg_of_the_newest_footage_and_its_view_is_audited(client: TestClient, tmp_path: Path) -> None:
    _world(client, tmp_path)
    assert log_in(client, "ada", PASSWORD) == "/"
    still = client.get("/cameras/pen-01/still.jpg")
    assert still.status_code == 200 and still.content[:3] == b"\xff\xd8\xff"
    entry = last_entry(client, actor="ada", action_prefix="camera.still")
    assert (entry.subject_id, entry.outcome) == ("PEN-01", "ok")


@pytest.mark.parametrize(
    ("drawing", "message"),
    [
        ("{not json", "could not be read"),
        (json.dumps({"zones": [{"name": "X", "polygon": [[1, 1], [2, 2]]}]}), "at least 3 points"),
        (json.dumps({"zones": [{"name": "X", "polygon": "abc"}]}), "could not be read"),
        (json.dumps({"lines": [{"name": "L", "a": [1, 1], "b": [1, 1]}]}), "two different ends"),
        (json.dumps({"lines": [{"name": "L", "a": [1, 1], "b": [5, 5], "direction": "up"}]}), "crossing direction"),
    ],
)
def test_bad_drawings_are_refused_and_change_nothing(
    client: TestClient, tmp_path: Path, drawing: str, message: str
) -> None:
    _world(client, tmp_path)
    assert log_in(client, "ada", PASSWORD) == "/"
    token = page_csrf(client, "/cameras/PEN-01")
    response = client.post("/cameras/PEN-01/drawing", data={"drawing": drawing, "csrf_token": token})
    assert message in " ".join(notices(response.text))
    assert _zones(client) == ZONES
