"""An administrator manages accounts and draws a camera's zones and lines in a real browser (headless Chromium)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import analysed_footage, make_footage
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.scenes import crossing_scene, write_video
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, Camera, User
from vigil.governance.access import make_context
from vigil.governance.cameras.geometry import camera_geometry
from vigil.search.query.service import run_search
from vigil.search.query.track_query import LineCrossing, TrackQuery
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 20_000
NEW_PASSWORD = "seven lanterns over the fells"


def _log_in(browser: Browser, base: str, username: str, password: str) -> Page:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


def _user(app: object, username: str) -> User:
    return seed(app, lambda db: db.execute(select(User).where(User.username == username)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.browser
def test_admin_resets_a_password_changes_a_role_and_retires_a_user(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    seed(app, lambda db: (make_user(db, "ada", "admin"), make_user(db, "ivy", "investigator")))  # type: ignore[arg-type]
    with serve(app) as base, chromium() as browser:
        before = _log_in(browser, base, "ivy", PASSWORD)  # ivy's session from before the reset
        expect(before).to_have_url(base + "/")
        admin = _log_in(browser, base, "ada", PASSWORD)
        admin.goto(base + "/users")
        admin.get_by_text("Manage ivy").click()
        admin.once("dialog", lambda dialog: dialog.accept())
        admin.get_by_role("button", name="Reset password").click()
        expect(admin.get_by_role("heading", name="One-time password for ivy")).to_be_visible()
        one_time = admin.get_by_label("One-time password").input_value()
        assert len(one_time) >= 12

        before.goto(base + "/")  # the reset ended ivy's existing session
        expect(before).to_have_url(re.compile(r"/login"))
        assert _log_in(browser, base, "ivy", PASSWORD).url.endswith("/login")  # the old password no longer works
        ivy = _log_in(browser, base, "ivy", one_time)
        expect(ivy).to_have_url(base + "/password")
        expect(ivy.get_by_text("You must choose a new password")).to_be_visible()
        ivy.get_by_label("Current password").fill(one_time)
        ivy.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        ivy.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        ivy.get_by_role("button", name="Change password").click()
        expect(ivy.get_by_role("status").first).to_contain_text("Your password has been changed")

        admin.goto(base + "/users")
        admin.get_by_text("Manage ivy").click()
        admin.get_by_label("Role of ivy").select_option("supervisor")
        admin.get_by_role("button", name="Change role").click()
        expect(admin.get_by_role("status").first).to_contain_text("User ivy is now supervisor")
        assert _user(app, "ivy").role == "supervisor"

        admin.get_by_text("Manage ivy").click()
        asked: list[str] = []
        admin.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        admin.get_by_role("button", name="Retire").click()
        expect(admin.get_by_text("Manage ivy")).to_be_visible()
        assert asked and "Retire ivy?" in asked[0]
        assert _user(app, "ivy").is_active  # dismissed: nothing happened
        admin.once("dialog", lambda dialog: dialog.accept())
        admin.get_by_role("button", name="Retire").click()
        expect(admin.get_by_role("status").first).to_contain_text("User ivy retired")
        assert not _user(app, "ivy").is_active
        ivy.goto(base + "/")
        expect(ivy).to_have_url(re.compile(r"/login"))

    actions = seed(app, lambda db: [e.action for e in db.execute(select(AuditEntry)).scalars()])  # type: ignore[arg-type]
    assert {"user.password_reset", "user.role", "user.disable"} <= set(actions)


def _click_at(page: Page, x: float, y: float, *, double: bool = False) -> None:
    """Click the drawing layer at picture pixel (x, y) of the 320 x 240 still, whatever size it is shown at."""
    box = page.locator("#drawing-layer").bounding_box()
    assert box is not None
    position = {"x": x * box["width"] / 320, "y": y * box["height"] / 240}
    if double:
        page.locator("#drawing-layer").dblclick(position=position)
    else:
        page.locator("#drawing-layer").click(position=position)


WALKWAY = [(20.0, 140.0), (300.0, 140.0), (300.0, 205.0), (20.0, 205.0)]
CORNER = [(5.0, 5.0), (60.0, 5.0), (5.0, 50.0)]
KERB = ((160.0, 100.0), (160.0, 230.0))


@pytest.mark.browser
def test_zones_and_a_line_drawn_on_the_camera_picture_are_stored_and_searched(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)

    def setup(db: Session) -> None:
        make_user(db, "ada", "admin")
        ivy = make_user(db, "ivy", "investigator", trained_for=("analytics",), cases=("CUM-2026-77",))
        camera = make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=100))
        video = write_video(crossing_scene(20), tmp_path / "still-source.mp4")
        make_footage(db, camera=camera, user=ivy, video=video, data_dir=settings.data_dir, frame_count=20)

    seed(app, setup)
    with serve(app) as base, chromium() as browser:
        page = _log_in(browser, base, "ada", PASSWORD)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/locations")
        page.get_by_role("link", name="PEN-01").click()
        expect(page.get_by_role("heading", name=re.compile("Camera PEN-01"))).to_be_visible()
        expect(page.locator("#camera-view img")).to_have_js_property("naturalWidth", 320)

        page.get_by_label("Name", exact=True).first.fill("Walkway")
        page.get_by_role("button", name="Draw zone").click()
        for x, y in WALKWAY[:-1]:
            _click_at(page, x, y)
        _click_at(page, *WALKWAY[-1], double=True)  # double-click closes the zone
        expect(page.locator("#drawing-list")).to_contain_text("Zone Walkway (4 corners)")

        page.locator("#shape-name").fill("Corner")
        page.get_by_role("button", name="Draw zone").click()
        for x, y in CORNER:
            _click_at(page, x, y)
        page.get_by_role("button", name="Finish").click()
        expect(page.locator("#drawing-list")).to_contain_text("Zone Corner (3 corners)")

        page.locator("#shape-name").fill("Kerb")
        page.get_by_label("Line crossing").select_option("left-to-right")
        page.get_by_role("button", name="Draw line").click()
        _click_at(page, *KERB[0])
        _click_at(page, *KERB[1])
        expect(page.locator("#drawing-list")).to_contain_text("Line Kerb (left-to-right)")
        expect(page.locator("#drawing-layer path.arrow")).to_have_count(1)
        page.get_by_role("button", name="Save zones and lines").click()
        expect(page.get_by_role("status").first).to_contain_text("Zones and lines saved")
        expect(page.get_by_role("link", name="People and vehicles in zone Walkway")).to_be_visible()
        assert problems == [], problems

    camera = seed(app, lambda db: db.execute(select(Camera).where(Camera.code == "PEN-01")).scalar_one())  # type: ignore[arg-type]
    geometry = camera_geometry(camera)
    zones = {zone.name: zone.polygon for zone in geometry.zones}
    for drawn, clicked in ((zones["Walkway"], WALKWAY), (zones["Corner"], CORNER)):
        assert len(drawn) == len(clicked)
        assert all(abs(x - cx) <= 3 and abs(y - cy) <= 3 for (x, y), (cx, cy) in zip(drawn, clicked, strict=True))
    [line] = geometry.lines
    assert (line.name, line.direction) == ("Kerb", "left-to-right")
    assert all(abs(p - q) <= 3 for p, q in zip((*line.a, *line.b), (*KERB[0], *KERB[1]), strict=True))

    def search(db: Session) -> dict[str, int]:
        ivy = db.execute(select(User).where(User.username == "ivy")).scalar_one()
        analysed_footage(db, settings, camera_code="PEN-01", user=ivy, start=utcnow() - timedelta(days=1))
        context = make_context("CUM-2026-77", "testing zones drawn on the camera")
        crossing = LineCrossing(camera="pen-01", a=line.a, b=line.b, direction="left-to-right")
        queries = {
            "Walkway": TrackQuery(cameras=["pen-01"], zone="Walkway"),
            "Corner": TrackQuery(cameras=["pen-01"], zone="Corner"),
            "Kerb": TrackQuery(line=crossing),
        }
        return {key: len(run_search(db=db, user=ivy, context=context, query=q).cards) for key, q in queries.items()}

    found = seed(app, search)  # type: ignore[arg-type]
    assert found["Walkway"] >= 1 and found["Corner"] == 0 and found["Kerb"] >= 1, found


GROUND = {(20.0, 220.0): (0.0, 0.0), (300.0, 220.0): (8.0, 0.0), (250.0, 90.0): (8.0, 12.0), (70.0, 90.0): (0.0, 12.0)}


@pytest.mark.browser
def test_camera_calibrated_by_clicking_points_on_its_picture_and_typing_ground_metres(tmp_path: Path) -> None:
    import json

    import numpy as np
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)

    def setup(db: Session) -> None:
        admin = make_user(db, "ada", "admin")
        camera = make_camera(db, "PEN-01")
        video = write_video(crossing_scene(20), tmp_path / "still-source.mp4")
        make_footage(db, camera=camera, user=admin, video=video, data_dir=settings.data_dir, frame_count=20)

    seed(app, setup)
    with serve(app) as base, chromium() as browser:
        page = _log_in(browser, base, "ada", PASSWORD)
        page.goto(base + "/cameras/pen-01")
        expect(page.locator("#camera-view img")).to_have_js_property("naturalWidth", 320)
        page.get_by_role("button", name="Mark calibration points").click()
        for number, ((x, y), (gx, gy)) in enumerate(GROUND.items(), start=1):
            _click_at(page, x, y)
            page.get_by_label(f"Ground X of point {number} (m)").fill(str(gx))
            page.get_by_label(f"Ground Y of point {number} (m)").fill(str(gy))
        page.get_by_role("button", name="Save calibration").click()
        expect(page.get_by_role("status").first).to_contain_text("Calibration saved")
        expect(page.get_by_text("calibrated", exact=True)).to_be_visible()

    camera = seed(app, lambda db: db.execute(select(Camera).where(Camera.code == "PEN-01")).scalar_one())  # type: ignore[arg-type]
    stored = json.loads(camera.calibration or "{}")
    matrix = np.asarray(stored["image_to_ground"])
    assert stored["principal_point"] == [160.0, 120.0]
    for (x, y), ground in GROUND.items():
        u, v, w = matrix @ np.array([x, y, 1.0])
        assert np.allclose((u / w, v / w), ground, atol=0.15), ((x, y), (u / w, v / w), ground)
