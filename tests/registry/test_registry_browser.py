"""The Done-when journey in a real browser: a resident registers a camera (confirming through the email the real
SMTP server received) and later changes it through the self-service link, an officer finds it near an incident and
sends a footage request, the resident opens the emailed link and uploads a video, and the officer sees it arrive in
the case and analysed with no location PIA (the owner's consent under the case), and corrects its recording time.
Throughout, the access log and vigil's own logs are captured: no link token may appear in them (finding F8).

Uses Intel's sample video from ../shared/data when present, else a generated video. Screenshots go to /tmp.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import make_settings, shared_data_dir
from tests.footage.builders import make_video
from tests.registry.smtp import Mailbox, links_in, smtp_server
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

VIDEO = Path("intel-sample-videos") / "person-bicycle-car-detection.mp4"
ANALYSIS_TIMEOUT_S = 300
RESIDENT = "resident-browser@example.org"
CASE = "CUM-2026-000417"
SCREENSHOTS = Path("/tmp")


def video_for(tmp_path: Path) -> Path:
    real = shared_data_dir() / VIDEO
    return real if real.exists() else make_video(tmp_path / "doorbell.mp4", seconds=4, size=(320, 240))


def register_resident(page: Page, base: str, mailbox: Mailbox) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/register")
    page.get_by_label("Name", exact=True).fill("Robin Resident")
    page.get_by_label("Address").fill("3 Market Square, Penrith")
    page.get_by_label("Postcode").fill("CA11 7BX")
    page.get_by_label("Email").fill(RESIDENT)
    page.get_by_label("Camera 1 type").select_option("doorbell")
    page.locator("#registry-picker").click(position={"x": 200, "y": 150})  # the map fills in the position...
    expect(page.get_by_label("Camera 1 latitude")).not_to_have_value("")
    page.get_by_label("Camera 1 latitude").fill("54.664100")  # ...which the resident then corrects by hand
    page.get_by_label("Camera 1 longitude").fill("-2.752700")
    page.get_by_label("Camera 1 faces (degrees from north, optional)").fill("90")
    page.get_by_label("Camera 1 keeps recordings for (days)").fill("30")
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    verify = links_in(mailbox.wait_for(RESIDENT, 1)[0])[0]
    assert "#" in verify
    page.goto(verify.replace("https://vigil.example.org", base))
    page.get_by_role("button", name="Confirm my registration").click()
    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()
    manage = links_in(mailbox.wait_for(RESIDENT, 2)[1])[0]
    page.goto(manage.replace("https://vigil.example.org", base))  # the self-service link: change the phone number
    expect(page.get_by_role("heading", name="Your camera registration")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Robin Resident")
    assert page.url == base + "/register/manage"  # the token left the address bar (it is in an HttpOnly cookie)
    page.get_by_label("Phone").fill("01768 000111")
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Save my changes").click()
    expect(page.get_by_role("heading", name="Registration updated")).to_be_visible()
    TOKENS.extend(link.rsplit("#", 1)[1] for link in (verify, manage))


def officer_requests_footage(page: Page, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/login")
    page.get_by_label("Username").fill("olly")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Camera registry").click()
    page.get_by_label("Case reference").select_option(CASE)
    page.get_by_label("Purpose").fill("find doorbell cameras that may have seen the robbery on Market Square")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#registry-map")).to_have_attribute("data-loaded", re.compile(r"[1-9]"))
    page.locator("#registry-map").click(position={"x": 250, "y": 200})
    expect(page.get_by_label("Incident latitude")).not_to_have_value("")
    page.get_by_label("Incident latitude").fill("54.664100")
    page.get_by_label("Incident longitude").fill(
        "-2.751500"
    )  # 77 m east of the doorbell (0.0012° at 54.66° N), which faces east
    page.get_by_label("Radius (metres)").fill("250")
    incident = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Incident time (local)").fill(incident)
    page.get_by_role("button", name="Find cameras").click()
    row = page.locator(".near-row").filter(has_text="Robin Resident")
    expect(row).to_contain_text("77 m")
    expect(row.locator(".badge").first).to_have_text("yes")  # faces the point
    page.screenshot(path=str(SCREENSHOTS / "vigil-registry-near.png"), full_page=True)
    row.get_by_role("checkbox").check()
    page.get_by_label("From (local)").fill((utcnow() - timedelta(days=1, minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To (local)").fill((utcnow() - timedelta(days=1, minutes=-30)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Message to the owners").fill("Anything from your doorbell around that time would help.")
    page.get_by_role("button", name="Send footage requests").click()
    expect(page.locator(".notice-ok")).to_contain_text("Footage requests sent")
    expect(page.locator(".request-status")).to_have_text("sent")


def owner_uploads(page: Page, base: str, mailbox: Mailbox, video: Path) -> None:
    from playwright.sync_api import expect

    link = links_in(mailbox.wait_for(RESIDENT, 3)[2])[0]
    TOKENS.append(link.rsplit("#", 1)[1])
    page.goto(link.replace("https://vigil.example.org", base))
    expect(page.get_by_role("heading", name=re.compile("asks for your camera footage"))).to_be_visible()
    assert page.url == base + "/upload"
    expect(page.locator("body")).to_contain_text(CASE)
    expect(page.locator("body")).to_contain_text("Anything from your doorbell")
    page.get_by_label("Video files").set_input_files(str(video))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-text")).to_contain_text("upload complete: 1 of 1", timeout=60_000)
    expect(page.locator("#upload-files")).to_contain_text(f"{video.name} — received")
    page.get_by_role("button", name="I have finished uploading").click()  # after the page reloads
    expect(page.locator(".notice-ok").first).to_contain_text("this link now takes no more files")
    expect(page.get_by_label("Video files")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "vigil-registry-upload.png"), full_page=True)


def officer_sees_it_analysed(page: Page, base: str, video: Path) -> None:
    from playwright.sync_api import expect

    page.goto(base + f"/registry/requests?case={CASE}")
    expect(page.locator(".request-status")).to_have_text("uploaded")
    expect(page.locator("#request-list")).to_contain_text("owner finished")
    file_link = page.get_by_role("link", name=video.name)
    footage_id = re.search(r"/footage/(\d+)/", file_link.get_attribute("href") or "")
    assert footage_id, "the request lists no stored footage"
    page.goto(base + "/footage")
    row = page.locator(f"#footage-{footage_id.group(1)}")
    expect(row).to_contain_text(CASE)
    deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
    while not row.get_by_text("analysed").count():
        assert time.monotonic() < deadline, "the uploaded footage was not analysed in time"
        page.wait_for_timeout(1000)
        page.reload()
    page.screenshot(path=str(SCREENSHOTS / "vigil-registry-analysed.png"), full_page=True)
    page.goto(base + f"/registry/requests?case={CASE}")
    expect(page.locator(".upload-analysis")).to_have_text("(analysis done)")
    expect(page.locator(".upload-error")).to_have_count(0)


def officer_corrects_the_recording_time(page: Page, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + f"/registry/requests?case={CASE}")
    page.get_by_text("Correct the recording time").click()
    page.get_by_label("Recording started (local)").fill("2026-11-30T14:05:30")
    page.get_by_label("Reason").fill("the doorbell's clock was wrong; the owner's phone video shows 14:05")
    page.get_by_role("button", name="Correct time").click()
    expect(page.locator(".notice-ok")).to_contain_text("Recording time of footage")
    expect(page.locator(".recording-start")).to_contain_text("2026-11-30")
    expect(page.locator(".recording-start")).to_contain_text("14:05")
    page.screenshot(path=str(SCREENSHOTS / "vigil-registry-time-corrected.png"), full_page=True)


TOKENS: list[str] = []


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def capture_logs() -> Captured:
    """The access log (raised to INFO) and every logger's output, as the server would write them."""
    captured = Captured()
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.INFO)
    for logger in (access, logging.getLogger(), logging.getLogger("uvicorn.error")):
        logger.addHandler(captured)
    logging.getLogger("vigil").setLevel(logging.DEBUG)
    return captured


@pytest.mark.browser
def test_resident_registers_officer_requests_owner_uploads_and_the_footage_is_analysed_in_the_case(
    tmp_path: Path,
) -> None:
    video = video_for(tmp_path)
    with smtp_server() as mailbox:
        settings = make_settings(
            tmp_path / "data", mail={"port": mailbox.port, "link_base_url": "https://vigil.example.org"}
        )
        app = create_app(settings)

        seed(
            app, lambda db: make_user(db, "olly", trained_for=("analytics", "registry", "requests"), cases=(CASE,))
        )  # no PIA
        TOKENS.clear()
        with serve(app) as base, chromium() as browser:
            captured = capture_logs()
            problems: list[str] = []
            resident, officer = browser.new_context().new_page(), browser.new_context().new_page()
            for page in (resident, officer):
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda error: problems.append(str(error)))
            register_resident(resident, base, mailbox)
            officer_requests_footage(officer, base)
            owner_uploads(resident, base, mailbox, video)
            officer_sees_it_analysed(officer, base, video)
            officer_corrects_the_recording_time(officer, base)
            assert problems == [], problems
            for logger in (
                logging.getLogger("uvicorn.access"),
                logging.getLogger(),
                logging.getLogger("uvicorn.error"),
            ):
                logger.removeHandler(captured)
        assert len(TOKENS) == 3 and any('"POST /upload/open' in line for line in captured.lines), captured.lines[:5]
        leaked = [line for line in captured.lines if any(token in line for token in TOKENS)]
        assert leaked == [], leaked
