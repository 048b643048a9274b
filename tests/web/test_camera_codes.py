"""Every page that takes a camera code finds the camera whatever case the code is typed in (one normalisation)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from vigil.db.base import utcnow

CASE, PURPOSE = "CUM-2026-31", "testing camera codes in any case"


def _world(db: Session) -> None:
    make_user(db, "ada", "admin")
    make_user(db, "ivy", "investigator", trained_for=("analytics",), cases=(CASE,))
    make_camera(db, "PETS-CAM", pia_review=utcnow().date() + timedelta(days=100))


def _with_context(client: TestClient) -> None:
    assert log_in(client, "ivy", PASSWORD) == "/"
    detour = client.get("/search", follow_redirects=False)
    next_url = parse_qs(urlsplit(detour.headers["location"]).query)["next"][0]
    token = page_csrf(client, "/context")
    client.post("/context", data={"case_ref": CASE, "purpose": PURPOSE, "next": next_url, "csrf_token": token})


@pytest.mark.parametrize("typed", ["pets-cam", "Pets-Cam", " PETS-CAM "])
def test_pages_find_the_camera_whatever_case_its_code_is_typed_in(client: TestClient, typed: str) -> None:
    seed(client.app, _world)  # type: ignore[arg-type]
    _with_context(client)
    window = {"from": "2026-01-01T10:00", "to": "2026-01-01T11:00"}
    searched = client.get("/search/results", params={"camera": typed, "case": CASE})
    assert searched.status_code == 200 and "unknown camera" not in searched.text
    assert 'name="camera" value="PETS-CAM"' in searched.text
    board = client.get("/dashboards", params={"camera": typed, **window, "case": CASE})
    assert board.status_code == 200 and "no camera" not in board.text
    token = page_csrf(client, f"/synopsis?case={CASE}")
    synopsis = client.post(f"/synopsis?case={CASE}", data={"camera": typed, **window, "csrf_token": token})
    said = " ".join(notices(synopsis.text))
    assert "camera PETS-CAM has no tracks" in said and "no camera" not in said
    line = {"line_camera": typed, "line_ax": "1", "line_ay": "1", "line_bx": "9", "line_by": "9", "case": CASE}
    crossing = client.get("/search/results", params=line)
    assert crossing.status_code == 200 and "unknown camera" not in crossing.text
    client.post("/logout", data={"csrf_token": page_csrf(client, "/")})
    assert log_in(client, "ada", PASSWORD) == "/"
    assert "Camera PETS-CAM" in client.get(f"/cameras/{typed.strip()}").text
