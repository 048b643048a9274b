"""In a real browser: an administrator registers a camera's live source (shown masked), an operator plans a deployment
by ticking that camera (there is no field for a URL or a path), starts it, and the console shows that the camera
cannot be reached, without its credentials (issue 10, F4). The web server's live supervisor picks up the source
registered while it runs and starts the camera's worker, whose health the console shows."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.faces.live_support import enrolled_watchlist, operator
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import chromium, free_port, seed, serve
from vigil.db.base import utcnow
from vigil.vision.faces.recognizer import default_recognizer
from vigil.web.app import create_app

SECRET = "hunter2-Zq9"


@pytest.mark.browser
def test_a_camera_that_cannot_be_reached_shows_offline_on_the_console(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # A relay on this server is allowed here so that a closed loopback port stands for a camera that is down.
    settings = make_settings(
        tmp_path / "data",
        faces={"allow_local_sources": True},
        live={"enabled": True, "connect_timeout_seconds": 3},
    )
    app = create_app(settings)
    recognizer = default_recognizer(threads=1)

    def build(db: Session) -> None:
        enrolled_watchlist(db, settings, recognizer, operator(db))
        make_user(db, "adam", "admin")
        make_camera(db, "CORN-N")

    seed(app, build)
    closed = free_port()
    local_now = utcnow().astimezone(settings.zone)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))

        def log_in(username: str) -> None:
            page.context.clear_cookies()
            page.goto(base + "/login")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).not_to_have_url(re.compile(r"/login"), timeout=20_000)

        log_in("adam")
        page.goto(base + "/locations")
        page.get_by_role("link", name="Camera live sources").click()
        page.get_by_label("Camera", exact=True).select_option("CORN-N")
        page.get_by_label(re.compile(r"^Source address")).fill(f"rtsp://viewer:{SECRET}@127.0.0.1:{closed}/live")
        page.get_by_label("Recording").select_option("off")  # watched live, not recorded
        page.get_by_role("button", name="Set source").click()
        expect(page.locator(".notice-ok")).to_contain_text("Camera CORN-N: live source set.", timeout=20_000)
        row = page.locator('tr[data-camera="CORN-N"]')
        expect(row).to_contain_text(f"rtsp://***@127.0.0.1:{closed}/live")
        expect(row.locator("td").nth(2)).to_have_text("off")
        assert SECRET not in page.content()

        log_in("olive")
        page.goto(base + "/fr/deployments")
        assert page.locator("#fr-cameras textarea, #fr-cameras input[type=text]").count() == 0, "no free-text stream"
        page.get_by_label("Name").fill("Corn Market evening")
        page.get_by_label("Location (public wording)").fill("Penrith, Corn Market")
        page.get_by_label(re.compile(r"^Start")).fill((local_now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label(re.compile(r"^End")).fill((local_now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Alert threshold (similarity 0-1)").fill("0.6")
        page.get_by_label("Authorising officer").fill("Supt A. Example")
        page.get_by_role("checkbox", name=re.compile("CORN-N")).check()
        page.get_by_label("Public notice").fill("Live facial recognition is in use at the Corn Market this evening.")
        page.get_by_role("button", name="Plan deployment").click()
        expect(page.locator(".notice-ok")).to_contain_text("Deployment Corn Market evening planned.", timeout=20_000)
        page.get_by_role("button", name="Start").click()
        expect(page).to_have_url(re.compile(r"/fr/deployments/1/console$"), timeout=20_000)
        stream = page.locator('#fr-streams li[data-camera="CORN-N"]')
        expect(stream.locator('[data-field="state"]')).to_have_text("offline", timeout=60_000)
        masked = re.compile(rf"rtsp://\*+@127\.0\.0\.1:{closed}/live")  # the worker's reason, credentials masked
        expect(stream.locator('[data-field="detail"]')).to_contain_text(masked)
        expect(page.locator("#fr-live-note")).to_contain_text("Camera problem: CORN-N")
        page.reload()  # the state survives a reload: it is read from the camera's health
        expect(stream.locator('[data-field="state"]')).to_have_text("offline", timeout=20_000)
        assert SECRET not in page.content()
        page.screenshot(path="/tmp/vigil-live-fr-stream-failed.png", full_page=True)
        assert problems == []
