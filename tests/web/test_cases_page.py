"""The Cases page (supervisors) and the working-context page offering only the user's cases (issue 10, F6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import PASSWORD, make_case, make_user
from tests.support.webapp import TestClient, chromium, log_in, notices, page_csrf, seed, serve
from vigil.db.models import AuditEntry, Case
from vigil.governance import audit
from vigil.web.app import create_app

CASE, OTHER = "CUM-2026-000100", "CUM-2026-000200"
PURPOSE = "robbery at Market Square: trace the suspect in red"


def staff(db: Session) -> None:
    sue = make_user(db, "sue", "supervisor")
    ivy = make_user(db, "ivy", trained_for=("analytics", "export"))
    bob = make_user(db, "bob", trained_for=("analytics", "export"))
    make_case(db, CASE, title="Robbery at Market Square", members=[ivy], opened_by=sue)
    make_case(db, OTHER, title="Criminal damage", members=[bob], opened_by=sue)


def refused_of(client: TestClient, actor: str) -> list[AuditEntry]:
    return seed(client.app, lambda db: [e for e in audit.query_entries(db, actor=actor) if e.outcome == "refused"])  # type: ignore[arg-type]


def test_a_non_member_stating_the_case_on_the_context_page_is_refused_and_audited(client: TestClient) -> None:
    seed(client.app, staff)  # type: ignore[arg-type]
    assert log_in(client, "bob", PASSWORD) == "/"
    form = client.get("/context", params={"case": CASE})
    assert f'<option value="{OTHER}"' in form.text and f'<option value="{CASE}"' not in form.text  # only his cases
    assert f"not a member of case {CASE}" in form.text
    token = page_csrf(client, "/context")
    path = f"/exports?case={CASE}"
    stated = client.post("/context", data={"case_ref": CASE, "purpose": PURPOSE, "next": path, "csrf_token": token})
    assert stated.url.path == "/context" and f"not a member of case {CASE}" in " ".join(notices(stated.text))
    assert client.get(path, follow_redirects=False).status_code == 303  # no context was kept: back to the form
    [refusal] = refused_of(client, "bob")
    assert (refusal.action, refusal.case_ref) == ("context.state", CASE)
    assert "Robbery at Market Square" not in client.get("/").text


def test_only_supervisors_manage_cases_and_removal_cuts_access_at_once(client: TestClient) -> None:
    seed(client.app, staff)  # type: ignore[arg-type]
    investigator = TestClient(client.app)
    log_in(investigator, "ivy", PASSWORD)
    assert investigator.get("/cases").status_code == 403
    token = page_csrf(investigator, "/context")
    forged = investigator.post("/cases", data={"reference": "CUM-2026-000300", "title": "mine", "csrf_token": token})
    assert forged.status_code == 403
    added = investigator.post("/cases/members", data={"reference": OTHER, "username": "ivy", "csrf_token": token})
    assert added.status_code == 403
    assert seed(client.app, lambda db: db.execute(select(Case.reference)).scalars().all()) == [CASE, OTHER]  # type: ignore[arg-type]
    refused = [e.action for e in refused_of(client, "ivy")]
    assert [a for a in refused if a != "case.list"] == ["case.open", "case.member.add"] and "case.list" in refused

    investigator.post("/context", data={"case_ref": CASE, "purpose": PURPOSE, "csrf_token": token})
    assert investigator.get("/exports", params={"case": CASE}).status_code == 200
    log_in(client, "sue", PASSWORD)
    sue_token = page_csrf(client, "/cases")
    removed = client.post("/cases/members/remove", data={"reference": CASE, "username": "ivy", "csrf_token": sue_token})
    assert "ivy removed from case" in " ".join(notices(removed.text))
    cut = investigator.get("/exports", params={"case": CASE})  # the purpose is still in her session cookie
    assert cut.status_code == 403 and f"not a member of case {CASE}" in cut.text


@pytest.mark.browser
def test_a_supervisor_opens_a_case_adds_a_member_who_then_picks_it(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    seed(app, staff)
    with serve(app) as base, chromium() as browser:
        sup = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        sup.on("pageerror", lambda error: problems.append(str(error)))
        sup.goto(base + "/login")
        sup.get_by_label("Username").fill("sue")
        sup.get_by_label("Password", exact=True).fill(PASSWORD)
        sup.get_by_role("button", name="Log in").click()
        sup.locator(".mainnav summary", has_text="Administration").click()  # the menu groups pages by area
        sup.get_by_role("link", name="Cases").click()
        sup.get_by_label("Case reference").fill("CUM-2026-000300")
        sup.get_by_label("Title").fill("Theft from a car on Castlegate")
        sup.get_by_role("button", name="Open case").click()
        expect(sup.locator(".notice-ok")).to_contain_text("Case CUM-2026-000300 opened", timeout=20_000)
        row = sup.locator('tr[data-case="CUM-2026-000300"]')
        row.get_by_label("Member to add to CUM-2026-000300").select_option("bob")
        row.get_by_role("button", name="Add member").click()
        expect(sup.locator(".notice-ok")).to_contain_text("bob added to case CUM-2026-000300", timeout=20_000)
        expect(sup.locator('tr[data-case="CUM-2026-000300"]')).to_contain_text("bob")
        sup.screenshot(path="/tmp/vigil-cases.png", full_page=True)

        bob = browser.new_context().new_page()
        bob.on("pageerror", lambda error: problems.append(str(error)))
        bob.goto(base + "/login")
        bob.get_by_label("Username").fill("bob")
        bob.get_by_label("Password", exact=True).fill(PASSWORD)
        bob.get_by_role("button", name="Log in").click()
        bob.goto(base + "/context?next=/exports")
        choices = bob.get_by_label("Case reference").locator("option")
        expect(choices).to_have_count(2, timeout=20_000)  # his old case and the new one, not ivy's
        bob.get_by_label("Case reference").select_option("CUM-2026-000300")
        bob.get_by_label("Purpose").fill("trace the car thief seen on Castlegate")
        bob.get_by_role("button", name="Continue").click()
        expect(bob).to_have_url(re.compile(r"/exports$"), timeout=20_000)
        expect(bob.locator("body")).to_contain_text("CUM-2026-000300", timeout=20_000)
        bob.screenshot(path="/tmp/vigil-context-cases.png", full_page=True)
        assert problems == [], problems
