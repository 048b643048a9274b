"""Integrated cameras in a real browser: the owner opens their self-service link, shares two cameras at one site
("ask me each time"), the officer finds them on the registry map with a live badge, asks to view one and sees no
picture until the owner approves through the emailed link; then pictures arrive; the owner pauses sharing and the
officer's view stops; the owner's log lists the view. The owner's camera is the real RTSP test server, mail the
real SMTP server. Screenshots go to /tmp."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import make_settings
from tests.registry.builders import active_owner
from tests.registry.live_support import PURPOSE
from tests.registry.smtp import Mailbox, links_in
from tests.support.builders import PASSWORD, make_user
from tests.support.rtsp import RtspServer, wait_for
from tests.support.webapp import chromium, seed, serve
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

CASE = "CUM-2026-000417"
OWNER = "shopkeeper-browser@example.org"
PUBLIC = "https://vigil.example.org"
WAIT_MS = 20_000


def owner_shares_two_cameras(page: Page, base: str, token: str, server: RtspServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/register/manage#{token}")
    expect(page.get_by_role("heading", name="Your camera registration")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("link", name="Live view sharing and the log of views").click()
    page.get_by_label("Site name").fill("Main Street shop")
    page.get_by_label("Site latitude").fill("54.6641")
    page.get_by_label("Site longitude").fill("-2.7527")
    page.get_by_label("Ask me each time").check()
    page.get_by_label("Longest view (minutes)").fill("15")
    page.get_by_label("Camera 1 name").fill("shop")
    page.get_by_label("Camera 1 stream address").fill(server.url("shop").replace("rtsp://", "rtsp://me:s3cret@"))
    page.get_by_label("Camera 2 name").fill("till")
    page.get_by_label("Camera 2 stream address").fill(server.url("till"))
    page.get_by_role("button", name="Test and share these cameras").click()
    expect(page.locator(".notice-ok")).to_contain_text("2 camera(s) tested and shared", timeout=WAIT_MS)
    expect(page.locator(".shared-camera")).to_have_count(2)
    expect(page.locator("#shared-cameras")).to_contain_text("rtsp://***@127.0.0.1")
    expect(page.locator("body")).not_to_contain_text("s3cret")
    page.screenshot(path="/tmp/vigil-live-owner-shares.png", full_page=True)


def officer_asks_to_view(page: Page, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/login")
    page.get_by_label("Username").fill("olly")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Camera registry").click()
    page.get_by_label("Case reference").select_option(CASE)
    page.get_by_label("Purpose").fill(PURPOSE)
    page.get_by_role("button", name="Continue").click()
    live = page.locator("#integrated-cameras li").filter(has_text="shop (Main Street shop)")
    expect(live.locator(".badge-live")).to_have_text("live", timeout=WAIT_MS)
    live.get_by_role("link").click()
    page.get_by_role("button", name="Ask the owner to view").click()
    expect(page.locator(".notice-ok")).to_contain_text("The owner has been asked")
    expect(page.locator("#live-status")).to_have_text("waiting for the owner's approval", timeout=WAIT_MS)


def owner_approves(page: Page, base: str, mailbox: Mailbox) -> None:
    from playwright.sync_api import expect

    link = links_in(mailbox.wait_for(OWNER, 3)[2])[0]
    page.goto(link.replace(PUBLIC, base))
    expect(page.get_by_role("heading", name=re.compile("May an officer view your camera"))).to_be_visible(
        timeout=WAIT_MS
    )
    expect(page.locator("#approval-details")).to_contain_text(PURPOSE)
    page.get_by_role("button", name="Approve this view").click()
    expect(page.get_by_role("heading", name="Thank you: your answer is saved")).to_be_visible(timeout=WAIT_MS)


@pytest.mark.browser
def test_owner_shares_officer_views_after_approval_and_pausing_stops_the_view(
    tmp_path: Path, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    from playwright.sync_api import expect

    settings = make_settings(
        tmp_path / "data",
        mail={"host": "127.0.0.1", "port": mailbox.port, "link_base_url": PUBLIC},
        registry={"allow_local_streams": True, "live_connect_timeout_seconds": 5},
    )
    app = create_app(settings)
    seed(app, lambda db: make_user(db, "olly", trained_for=("registry", "requests"), cases=(CASE,)))
    _, token = seed(app, lambda db: active_owner(db, settings, mailbox, email=OWNER, kind="business"))
    with serve(app) as base, chromium() as browser:
        problems: list[str] = []
        owner, officer = browser.new_context().new_page(), browser.new_context().new_page()
        for page in (owner, officer):
            page.on("pageerror", lambda error: problems.append(str(error)))
        owner_shares_two_cameras(owner, base, token, camera_server)
        officer_asks_to_view(officer, base)
        expect(officer.locator("#live-picture")).to_be_hidden()
        assert officer.locator("#live-view").get_attribute("data-pictures") is None  # no picture before approval
        owner_approves(owner, base, mailbox)
        expect(officer.locator("#live-view")).to_have_attribute("data-pictures", re.compile(r"^[1-9]"), timeout=60_000)
        expect(officer.locator("#live-picture")).to_be_visible()
        expect(officer.locator("#live-status")).to_contain_text("live until")
        officer.screenshot(path="/tmp/vigil-live-officer-view.png", full_page=True)

        owner.goto(base + "/register/manage/live")
        owner.get_by_role("button", name="Pause sharing shop").click()
        expect(owner.locator(".notice-ok")).to_contain_text("Sharing paused; 1 open view(s) ended")
        expect(officer.locator("#live-status")).to_have_text("ended: the owner paused sharing", timeout=WAIT_MS)
        expect(officer.locator("#live-picture")).to_be_hidden()
        wait_for(lambda: app.state.web.viewers.running() == [], timeout=5, what="the reader to stop")
        rows = owner.locator(".view-log-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(CASE)
        expect(rows.first).to_contain_text(PURPOSE)
        expect(rows.first).to_contain_text("investigator")
        expect(owner.locator("#view-log")).not_to_contain_text("olly")
        owner.screenshot(path="/tmp/vigil-live-owner-log.png", full_page=True)
        assert problems == [], problems
