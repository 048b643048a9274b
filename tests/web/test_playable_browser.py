"""Item 2 of issue 10: AVI footage showed a grey player. In a real Chromium the review page plays H.264-in-AVI
footage (remuxed) and the video page MJPEG-in-AVI footage (transcoded), after saying a copy is being prepared.

Screenshots go to /tmp for a person to look at.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.footage.builders import make_video
from tests.support.analysed import make_track
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.db.models import PlayableCopy, User
from vigil.footage.ingest import ingest_footage
from vigil.footage.storage import sha256_of
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

CASE, PURPOSE = "CUM-2026-000417", "identify the cyclist in the robbery on Market Square"
SCREENSHOTS = Path("/tmp")
PLAYS = """id => {
    const v = document.getElementById(id);
    return v.readyState >= 2 && v.videoWidth > 0 && v.currentTime > 0.5;
}"""


def ingest(settings_dir: Path, video: Path) -> object:
    def build(db: Session) -> int:
        ivy = db.execute(select(User).where(User.username == "ivy")).scalar_one()
        footage = ingest_footage(
            db, settings=make_settings(settings_dir), user=ivy, source_path=video, camera_code="PEN-01"
        ).footage
        return make_track(db, footage, offset_s=1.0, duration_s=3.0).id if video.suffix == ".avi" else footage.id

    return build


def log_in_and_state_the_case(page: Page, base: str, path: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(base + path)
    page.get_by_label("Case reference").select_option(CASE)
    page.get_by_label("Purpose").fill(PURPOSE)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith(path.split("?")[0])) as landing:
        page.get_by_role("button", name="Continue").click()
    html = landing.value.text()
    assert "preparing a playable copy (" in html, "the page did not say it is preparing a playable copy"


@pytest.mark.browser
def test_avi_footage_plays_on_the_review_and_video_pages_after_its_copy_is_prepared(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    data_dir = tmp_path / "data"
    h264_avi = make_video(tmp_path / "cam1-export.avi", codec="libx264", fps=10, seconds=8, size=(320, 240))
    mjpeg_avi = make_video(
        tmp_path / "cam2-export.avi", codec="mjpeg", pix_fmt="yuvj420p", fps=10, seconds=8, size=(320, 240)
    )
    app = create_app(make_settings(data_dir))

    def people(db: Session) -> None:
        make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=200))

    seed(app, people)
    with serve(app) as base, chromium() as browser:
        # ingested while the app runs (as by the CLI): the copies are planned, and made when first viewed
        track_id = seed(app, ingest(data_dir, h264_avi))  # type: ignore[arg-type]
        footage_id = seed(app, ingest(data_dir, mjpeg_avi))  # type: ignore[arg-type]
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))

        log_in_and_state_the_case(page, base, f"/tracks/{track_id}/review?t=1.0")
        expect(page.get_by_role("heading", name=re.compile(f"Review track {track_id}"))).to_be_visible()
        page.wait_for_function(PLAYS, arg="review-video", timeout=60_000)
        expect(page.locator("#playable-status")).to_have_count(0)
        source = page.evaluate("() => document.getElementById('review-video').currentSrc")
        assert "/playable.mp4?" in source
        page.screenshot(path=str(SCREENSHOTS / "vigil-review-avi.png"))

        landing = page.goto(f"{base}/footage/{footage_id}/video?case={CASE}")
        assert landing is not None and "preparing a playable copy (" in landing.text()
        notice = page.locator("#playable-status")
        page.screenshot(path=str(SCREENSHOTS / "vigil-video-preparing.png"))
        page.locator("#footage-video").evaluate("v => { v.muted = true; v.autoplay = true; }")
        expect(notice).to_have_count(0, timeout=60_000)  # gone once the copy is ready
        page.locator("#footage-video").evaluate("v => v.play()")
        page.wait_for_function(PLAYS, arg="footage-video", timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "vigil-video-mjpeg-avi.png"))
        assert problems == [], problems

    def copies(db: Session) -> list[tuple[str, str]]:
        rows = db.execute(select(PlayableCopy.status, PlayableCopy.method).order_by(PlayableCopy.footage_id))
        return [(status, method) for status, method in rows]

    assert seed(app, copies) == [("ready", "remux"), ("ready", "transcode")]
    stored = sorted((data_dir / "footage").rglob("*.avi"))
    assert sorted(sha256_of(p) for p in stored) == sorted(sha256_of(v) for v in (h264_avi, mjpeg_avi))
