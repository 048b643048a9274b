"""An administrator gives a supervisor the address vigil's notices go to, from the users page in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.models import AuditEntry, User
from vigil.web.app import create_app

TIMEOUT_MS = 20_000


@pytest.mark.browser
def test_an_administrator_sets_a_supervisors_email_and_a_bad_one_is_refused_unchanged(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    seed(app, lambda db: (make_user(db, "ada", "admin"), make_user(db, "sue", "supervisor")))
    with serve(app) as base, chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(base + "/login")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(base + "/")
        page.goto(base + "/users")
        page.get_by_text("Manage sue").click()
        page.get_by_label("Email of sue").fill("sue@force.example")
        page.get_by_role("button", name="Set email").click()
        expect(page.get_by_text("Email of sue set to sue@force.example.")).to_be_visible()
        expect(page.locator('[data-field="email"]')).to_have_text("sue@force.example")

        page.get_by_text("Manage sue").click()
        page.get_by_label("Email of sue").fill("sue@localhost")  # the browser accepts it; vigil wants a domain
        page.get_by_role("button", name="Set email").click()
        expect(page.get_by_text("is not an email address")).to_be_visible()
        expect(page.locator('[data-field="email"]')).to_have_text("sue@force.example")

    def stored(db: Session) -> tuple[str, list[str]]:
        sue = db.execute(select(User).where(User.username == "sue")).scalar_one()
        changes = db.execute(select(AuditEntry.actor).where(AuditEntry.action == "user.email")).scalars()
        return sue.email, list(changes)

    assert seed(app, stored) == ("sue@force.example", ["ada"])
