"""An investigator uploads real footage in a real browser, follows its analysis and reviews what was found.

Runs the real pipeline in the app's default executor (a spawned worker process) on Intel's sample video of a
pedestrian, a cyclist and cars. Screenshots go to /tmp for a person to look at.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from tests.conftest import make_settings, shared_data_dir
from tests.support.analysed import analysed_footage, make_track
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

# 1,394 frames: long enough that the page's one-second polls see the analysis part-done even on a quiet machine
VIDEO = Path("intel-sample-videos") / "one-by-one-person-detection.mp4"
ANALYSIS_TIMEOUT_S = 240
SCREENSHOTS = Path("/tmp")


def investigator_and_camera(db: Session) -> None:
    make_user(db, "ivy", trained_for=("analytics",), cases=("CUM-2026-000417",))
    make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=200), location="Market Square, Penrith")


@pytest.mark.browser
@pytest.mark.data
def test_investigator_uploads_real_footage_follows_its_analysis_and_reviews_the_tracks(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    video = shared_data_dir() / VIDEO
    if not video.exists():
        pytest.skip(f"{video} is not available")
    app = create_app(make_settings(tmp_path / "data"))
    seed(app, investigator_and_camera)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(base + "/login")
        page.get_by_label("Username").fill("ivy")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Footage").click()

        page.get_by_label("Video file").set_input_files(str(video))
        page.get_by_label("Camera", exact=True).select_option("PEN-01")
        page.get_by_label("Recording start (Europe/London, optional)").fill("2026-03-01T14:05:00")
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-text")).to_contain_text("upload complete", timeout=60_000)
        assert page.locator("#upload-bar").evaluate("bar => bar.value === bar.max && bar.max > 3000000")
        expect(page.locator("#upload-result")).to_contain_text(f"{VIDEO.name} stored as footage 1")

        seen = follow_analysis(page)
        assert any(0 < done < total for done, total in seen), f"the progress bar never showed a job part-done: {seen}"
        row = page.locator("#footage-1")
        expect(row).to_contain_text("analysed")
        expect(row).to_contain_text("2026-03-01 14:05:00 GMT")
        page.screenshot(path=str(SCREENSHOTS / "vigil-footage.png"), full_page=True)

        row.get_by_role("link", name=re.compile(r"\d+ tracks?")).click()
        expect(page).to_have_url(re.compile(r"/context\?"))
        page.get_by_label("Case reference").select_option("CUM-2026-000417")
        page.get_by_label("Purpose").fill("identify the people seen near the robbery on Market Square")
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(re.compile(r"/footage/1/tracks$"))
        people = page.locator(".track-card").filter(has=page.locator(".badge-class", has_text="person"))
        expect(people.first).to_be_visible()
        expect(people.locator(".chip").first).to_be_visible()
        for thumbnail in page.locator(".track-card img").all():  # lazy images load when scrolled to
            thumbnail.scroll_into_view_if_needed()
            page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=thumbnail.element_handle())
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "vigil-tracks.png"), full_page=True)

        page.get_by_role("link", name="Watch the video").click()
        expect(page).to_have_url(re.compile(r"/footage/1/video"))
        player = page.locator("#footage-video")
        player.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function(
            "() => { const v = document.getElementById('footage-video');"
            " return v.readyState >= 2 && v.currentTime > 1; }",
            timeout=30_000,
        )
        expect(page.locator("#video-clock")).not_to_have_text("2026-03-01 14:05:00 GMT")
        page.screenshot(path=str(SCREENSHOTS / "vigil-video.png"))
        assert problems == [], problems


def follow_analysis(page: Page) -> list[tuple[int, int]]:
    """The (frames done, total) the row's progress bar showed until the analysis finished."""
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
    while time.monotonic() < deadline:
        state = page.evaluate(
            "() => { const bar = document.querySelector('#footage-1 .job-bar');"
            " return bar ? [Math.round(bar.value), Math.round(bar.max)] : null; }"
        )
        if state is None and page.locator("#footage-1").get_by_text("analysed").count():
            return seen
        if state is not None and (not seen or seen[-1] != tuple(state)):
            seen.append((state[0], state[1]))
            if 0 < state[0] < state[1] and not any(0 < done < total for done, total in seen[:-1]):
                page.screenshot(path=str(SCREENSHOTS / "vigil-footage-running.png"), full_page=True)
        page.wait_for_timeout(250)
    raise AssertionError(f"the analysis did not finish in {ANALYSIS_TIMEOUT_S} s; the bar showed {seen}")


@pytest.mark.browser
def test_an_investigator_pages_through_a_busy_footage_s_tracks_with_the_links(tmp_path: Path) -> None:
    """Issue 11: a footage's tracks are listed 60 a page; the Later / Earlier links move between pages."""
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)

    def busy_footage(db: Session) -> None:
        investigator_and_camera(db)
        footage = analysed_footage(db, settings)  # two tracks found by the real job runner
        for k in range(128):
            make_track(db, footage, offset_s=0.01 * k, upper="red")
        db.commit()

    seed(app, busy_footage)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("ivy")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Footage").click()
        page.locator('a[href^="/footage/1/tracks"]').first.click()  # the analysis row's "N tracks" link
        page.locator("#purpose").fill("robbery on Market Square: tracing the suspect in a red top")
        page.get_by_role("button", name="Continue").click()
        title = page.locator("#tracks-title")
        expect(title).to_contain_text("130 tracks, 1-60 shown", timeout=20_000)
        expect(page.locator(".track-card")).to_have_count(60)
        page.get_by_role("link", name="Later tracks").click()
        expect(title).to_contain_text("61-120 shown", timeout=20_000)
        expect(page.get_by_text("Page 2 of 3")).to_be_visible()
        page.get_by_role("link", name="Later tracks").click()
        expect(title).to_contain_text("121-130 shown", timeout=20_000)
        expect(page.locator(".track-card")).to_have_count(10)
        expect(page.get_by_role("link", name="Later tracks")).to_have_count(0)
        page.get_by_role("link", name="Earlier tracks").click()
        expect(title).to_contain_text("61-120 shown", timeout=20_000)
        assert problems == []
