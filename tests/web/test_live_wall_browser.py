"""An operator watches the camera wall in a real browser: states a purpose once, sees every camera's picture
appear and refresh (written by the cameras' wall observers while the test feeds them frames), sees a camera's
error and new resolution, opens one camera large (audited with the purpose), bookmarks the moment by clicking, and
the bookmark leads to the recorded segment's review at that moment."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import PASSWORD, make_user
from tests.support.live import scene
from tests.support.retention import aged_footage as _footage
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.db.live_models import LiveBookmark, LiveSegment
from vigil.db.models import AuditEntry
from vigil.live.observers import LiveFrame, build_observers
from vigil.live.store import write_health
from vigil.live.wall import WallPicture
from vigil.settings import Settings
from vigil.web.app import create_app

CASE = "CUM-2026-000501"
PURPOSE = "watching the market square during the night-time economy operation"
CAMERAS = [{"code": "CAM-1", "url": "rtsp://10.0.0.5/s1"}, {"code": "CAM-2", "url": "rtsp://10.0.0.6/s1"}]
NODE_1, NODE_2 = "10.0.0.21 3f2a9c1b2d4e", "10.0.0.22 9b8c7d6e5f4a"
"""Ray nodes (address and short id) CAM-1 runs on, before and after its node is lost; CAM-2 runs locally."""


def feed(settings: Settings, stop: threading.Event) -> None:
    """The cameras' workers' side: frames with a figure walking across, handed to the wall observers."""
    observers = {
        code: [
            o
            for o in build_observers(settings=settings, sessions=None, camera_code=code)  # type: ignore[arg-type]
            if isinstance(o, WallPicture)
        ]
        for code in ("CAM-1", "CAM-2")
    }
    step = 0
    while not stop.wait(0.1):
        for offset, (code, observers_of) in enumerate(observers.items()):
            frame = LiveFrame(code, scene(640, 480, box_x=(step * 7 + offset * 200) % 600), utcnow(), None)
            for observer in observers_of:
                observer.observe(frame)
        step += 1


def _world(settings: Settings) -> object:
    def build(db: Session) -> int:
        make_user(db, "olive", "operator", trained_for=("analytics",), cases=[CASE])
        write_health(
            db, camera_code="CAM-1", state="online", codec="h264", width=640, height=480, fps=10.0, node=NODE_1
        )
        write_health(db, camera_code="CAM-2", state="error", reason="recording stopped: No space left on device")
        footage = _footage(db, settings, "SEG", age_days=0)
        now = utcnow()
        db.add(
            LiveSegment(
                footage_id=footage.id,
                camera_code="CAM-1",
                started_at=now - timedelta(minutes=1),
                ended_at=now + timedelta(minutes=10),
            )
        )
        db.flush()
        return footage.id

    return build


@pytest.mark.browser
def test_an_operator_watches_the_wall_opens_a_camera_large_and_bookmarks_the_moment(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data", live={"cameras": CAMERAS, "wall_picture_seconds": 0.2})
    app = create_app(settings)
    footage_id = seed(app, _world(settings))  # type: ignore[arg-type]
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(settings, stop), daemon=True)
    feeder.start()
    try:
        with serve(app) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(base + "/login")
            page.get_by_label("Username").fill("olive")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.locator(".mainnav summary", has_text="Live cameras").click()
            page.get_by_role("link", name="Camera wall").click()

            expect(page.locator("#wall img")).to_have_count(0)  # no picture before the purpose is stated
            page.get_by_label("Purpose").fill(PURPOSE)
            page.get_by_label(re.compile("Case reference")).fill(CASE)
            page.get_by_role("button", name="Start watching").click()
            expect(page.locator("#wall-session")).to_contain_text(PURPOSE)

            for code in ("CAM-1", "CAM-2"):  # each picture appears and keeps being refreshed
                picture = page.locator(f'figure[data-camera="{code}"] img')
                expect(picture).to_have_attribute("data-loaded", re.compile(r"^([3-9]|\d\d+)$"), timeout=20_000)
                assert picture.evaluate("img => img.naturalWidth") == 640
            cam2 = page.locator('figure[data-camera="CAM-2"]')
            expect(cam2.locator('[data-field="state"]')).to_have_text("error")
            expect(cam2.locator('[data-field="since"]')).to_contain_text("error since")
            expect(page.locator("#wall-notice")).to_contain_text("recording has stopped on CAM-2", timeout=20_000)

            cam1 = page.locator('figure[data-camera="CAM-1"]')
            expect(cam1.locator('[data-field="node"]')).to_have_text(f"node {NODE_1}")
            expect(cam2.locator('[data-field="node"]')).to_have_text("")
            seed(  # CAM-1's node was lost: Ray restarted it on another, at a new resolution
                app,
                lambda db: write_health(db, camera_code="CAM-1", state="online", width=1280, height=720, node=NODE_2),
            )
            expect(cam1.locator('[data-field="resolution"]')).to_have_text("1280×720", timeout=20_000)
            expect(cam1.locator('[data-field="node"]')).to_have_text(f"node {NODE_2}", timeout=20_000)

            cam1.click()
            large = page.locator("#wall-large")
            expect(large).to_be_visible()
            expect(large.locator('[data-field="camera"]')).to_have_text("CAM-1")
            page.wait_for_function("() => document.getElementById('wall-large-picture').naturalWidth > 0")
            large.get_by_label("Bookmark this moment: note").fill("man leaves a holdall by the bench")
            large.get_by_role("button", name="Bookmark this moment").click()
            link = large.get_by_role("link", name=re.compile("Bookmarked"))
            expect(link).to_be_visible(timeout=20_000)
            link.click()
            expect(page).to_have_url(re.compile(rf"/footage/{footage_id}/video\?t=\d+\.\d\d&case={CASE}$"))
            assert problems == []
    finally:
        stop.set()
        feeder.join(5)

    def audited(db: Session) -> list[tuple[str, str | None, str | None, str | None]]:
        rows = db.execute(select(AuditEntry).where(AuditEntry.action.like("live.%")).order_by(AuditEntry.id))
        return [(e.action, e.subject_id, e.purpose, e.case_ref) for e in rows.scalars()]

    entries = seed(app, audited)
    assert ("live.view", "CAM-1", PURPOSE, CASE) in entries
    assert [e[0] for e in entries].count("live.view.start") == 1
    assert any(e[0] == "live.bookmark" and e[3] == CASE for e in entries)
    assert any(e[0] == "live.bookmark.open" for e in entries)
    notes = seed(app, lambda db: [b.note for b in db.execute(select(LiveBookmark)).scalars()])
    assert notes == ["man leaves a holdall by the bench"]
