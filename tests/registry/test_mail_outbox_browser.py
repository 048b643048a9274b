"""A footage request sent while the mail server is down (issue 10, item 5): the officer sees the true state
(queued, mail server unreachable: will retry, in amber; never a green "sent"), and once the server is back a retry
delivers the email through the real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.registry.builders import active_owner
from tests.registry.smtp import Mailbox, links_in
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import chromium, free_port, seed, serve
from vigil.db.base import utcnow
from vigil.web.app import create_app

CASE = "CUM-2026-000512"
TIMEOUT_MS = 20_000


@pytest.mark.browser
def test_a_request_sent_while_mail_is_down_shows_queued_and_a_retry_delivers_it(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    mailbox = Mailbox(port=free_port())
    settings = make_settings(tmp_path / "data", mail={"port": mailbox.port, "link_base_url": "https://vigil.example"})
    app = create_app(settings)
    server = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    server.start()

    def people(db: Session) -> str:
        make_user(db, "olly", trained_for=("analytics", "registry", "requests"), cases=(CASE,))
        owner, _ = active_owner(db, settings, mailbox, name="Dana Doorbell")
        return owner.email

    email = seed(app, people)
    server.stop()  # the mail server goes down
    with serve(app) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/login")
        page.get_by_label("Username").fill("olly")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Camera registry").click()
        page.get_by_label("Case reference").select_option(CASE)
        page.get_by_label("Purpose").fill("ask doorbell owners near the burglary for footage")
        page.get_by_role("button", name="Continue").click()
        at = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        page.goto(base + f"/registry?case={CASE}&lat=54.6641&lon=-2.7527&radius=200&at={at}")
        page.locator(".near-row").filter(has_text="Dana Doorbell").get_by_role("checkbox").check()
        page.get_by_label("From (local)").fill((utcnow() - timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("To (local)").fill((utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_role("button", name="Send footage requests").click()
        notice = page.locator(".notice-warn")
        expect(notice).to_contain_text("1 queued: the mail server is unreachable", timeout=TIMEOUT_MS)
        expect(notice).to_contain_text("will be retried")
        expect(page.locator(".notice-ok")).to_have_count(0)  # no success message for a failure
        state = page.locator(".mail-state")
        expect(state).to_contain_text("email queued, mail server unreachable: will retry")
        expect(state).to_have_class(re.compile("mail-queued"))
        expect(page.locator(".request-status")).to_have_text("not emailed yet")
        page.screenshot(path="/tmp/vigil-mail-queued.png", full_page=True)
        assert len(mailbox.to(email)) == 2  # only the registration's two emails

        server = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
        server.start()  # the mail server is back
        try:
            page.get_by_role("button", name="Retry sending queued emails now").click()
            expect(page.locator(".notice-ok")).to_contain_text("1 queued email(s) sent", timeout=TIMEOUT_MS)
            expect(page.locator(".mail-state")).to_have_text("email sent")
            expect(page.locator(".request-status")).to_have_text("sent")
            delivered = mailbox.wait_for(email, 3)[2]
        finally:
            server.stop()
    assert CASE in delivered["Subject"] and "/upload#" in links_in(delivered)[0]
