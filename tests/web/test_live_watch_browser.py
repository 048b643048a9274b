"""Watches in a real browser: an operator saves an appearance watch on two cameras from the rules page, and a
description vigil cannot read is refused with a clear message and nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.rule_models import LiveRule
from vigil.web.app import create_app

CASE = "CUM-2026-000515"
WAIT_MS = 20_000


@pytest.mark.browser
def test_an_operator_saves_an_appearance_watch_and_an_unreadable_one_is_refused(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))

    def world(db: Session) -> None:
        make_user(db, "olive", "operator", trained_for=("analytics",), cases=[CASE])
        make_camera(db, "PEN-01")
        make_camera(db, "PEN-02")

    seed(app, world)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("olive")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(base + "/", timeout=WAIT_MS)

        def fill(description: str) -> None:
            page.goto(base + "/live/rules")
            page.get_by_label("Watch title").fill("Robber in red")
            page.get_by_label("Watch on (one or more)").select_option(["PEN-01", "PEN-02"])
            page.get_by_label("Description (appearance watch)").fill(description)
            page.get_by_label("Watch for case").fill(CASE)
            page.get_by_label("Why the watch is needed").fill("look out for the reported robber in a red top")
            page.get_by_role("button", name="Save watch").click()

        fill("xyzzy plugh")
        expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text(
            "found nothing to look for", timeout=WAIT_MS
        )
        assert seed(app, lambda db: db.execute(select(LiveRule)).first()) is None

        fill("red top and a backpack heading north")
        expect(page.get_by_role("status").first).to_contain_text("Watch Robber in red saved", timeout=WAIT_MS)
        expect(page.locator("tr[data-rule]")).to_have_count(1, timeout=WAIT_MS)
        expect(page.locator("tr[data-rule]")).to_contain_text("appearance watch", timeout=WAIT_MS)
        expect(page.locator("tr[data-rule]")).to_contain_text("PEN-01, PEN-02", timeout=WAIT_MS)

        def saved(db: Session) -> tuple[str, str, dict[str, object]]:
            rule = db.execute(select(LiveRule)).scalar_one()
            return rule.kind, rule.case.reference, json.loads(rule.params)

        kind, case, params = seed(app, saved)
        assert (kind, case, params["cameras"]) == ("appearance_watch", CASE, ["PEN-01", "PEN-02"])
        assert params["query"]["upper_colours"] == ["red"] and params["query"]["carried"] == ["backpack"]
        assert problems == []
