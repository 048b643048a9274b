"""The first administrator sets vigil up in a real browser (headless Chromium against uvicorn)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import make_settings
from tests.support.webapp import chromium, serve
from vigil.db.base import utcnow
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

NEW_PASSWORD = "seven lanterns over the fells"


@pytest.mark.browser
def test_first_administrator_sets_up_users_places_and_checks_the_audit_log(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    first_password = app.state.first_admin_password
    today = utcnow().date()
    with serve(app) as base, chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(base + "/")
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password", exact=True).fill(first_password)
        page.get_by_role("button", name="Log in").click()

        expect(page).to_have_url(base + "/password")
        expect(page.get_by_text("You must choose a new password")).to_be_visible()
        page.get_by_label("Current password").fill(first_password)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status").first).to_contain_text("Your password has been changed")

        page.locator(".mainnav summary", has_text="Administration").click()  # the menu groups pages by area
        page.get_by_role("link", name="Users & training").click()
        page.locator("#new-username").fill("ivy")
        page.get_by_label("Full name").fill("Ivy Inspector")
        page.get_by_label("Role", exact=True).select_option("investigator")
        expect(page.get_by_label("Initial password")).to_have_count(0)  # nobody chooses another's password
        page.get_by_role("button", name="Add user").click()
        expect(page.get_by_role("status").first).to_contain_text("User ivy added")
        assert len(page.get_by_label("One-time password").input_value()) >= 12
        page.get_by_role("link", name="Back to users").click()

        def record_training(on: Page) -> None:
            on.get_by_label("User", exact=True).select_option("ivy")
            on.get_by_label("Capability").select_option("analytics")
            on.get_by_label("Course").fill("CCTV analytics foundation")
            on.get_by_label("Completed on").fill(str(today - timedelta(days=30)))
            on.get_by_label("Expires on").fill(str(today + timedelta(days=335)))
            on.get_by_role("button", name="Record training").click()

        record_training(page)  # the creator of the account may not also unlock its capabilities
        expect(page.get_by_role("alert").first).to_contain_text("you created this account")

        page.locator("#new-username").fill("sue")
        page.get_by_label("Full name").fill("Sue Supervisor")
        page.get_by_label("Role", exact=True).select_option("supervisor")
        page.get_by_role("button", name="Add user").click()
        sue_password = page.get_by_label("One-time password").input_value()
        sue = browser.new_context().new_page()
        sue.goto(base + "/login")
        sue.get_by_label("Username").fill("sue")
        sue.get_by_label("Password", exact=True).fill(sue_password)
        sue.get_by_role("button", name="Log in").click()
        sue.get_by_label("Current password").fill(sue_password)
        sue.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        sue.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        sue.get_by_role("button", name="Change password").click()
        expect(sue.get_by_role("status").first).to_contain_text("Your password has been changed")
        sue.goto(base + "/users")
        record_training(sue)  # another supervisor may
        expect(sue.get_by_role("status").first).to_contain_text(
            "Training in analytics (searching footage) recorded for ivy"
        )
        expect(sue.get_by_role("cell", name=re.compile("CCTV analytics foundation"))).to_be_visible()
        page.goto(base + "/users")

        page.locator(".mainnav summary", has_text="Administration").click()  # the menu groups pages by area
        page.get_by_role("link", name="Locations & PIAs").click()
        page.locator("#loc-name").fill("Market Square, Penrith")
        page.locator("#loc-lat").fill("54.6641")
        page.locator("#loc-lon").fill("-2.7527")
        page.get_by_role("button", name="Add location").click()
        expect(page.get_by_role("status").first).to_contain_text("Location Market Square, Penrith added")
        expect(page.get_by_text("no current PIA")).to_be_visible()
        page.get_by_label("PIA reference").fill("PIA-2026-014")
        page.get_by_label("Approved purposes").fill("Prevention and detection of crime")
        page.get_by_label("Approved on").fill(str(today - timedelta(days=10)))
        page.get_by_label("Review by").fill(str(today + timedelta(days=365)))
        page.get_by_label("Approved by").fill("Supt J. Hale")
        page.get_by_role("button", name="Record PIA").click()
        expect(page.get_by_role("status").first).to_contain_text("PIA PIA-2026-014 recorded")

        page.locator(".mainnav summary", has_text="Administration").click()  # the menu groups pages by area
        page.get_by_role("link", name="Audit log").click()
        log = page.locator("table.audit")
        for action in ("user.create", "training.add", "location.add", "pia.add", "user.password_change"):
            expect(log.get_by_text(action, exact=True).first).to_be_visible()
        page.get_by_role("button", name="Verify chain").click()
        expect(page.get_by_role("status").first).to_contain_text("intact")
        assert problems == [], problems  # e.g. no Content-Security-Policy violations
