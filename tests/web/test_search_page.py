"""The search page: description -> "Understood" panel (an editable form) -> results, saved searches, refusals;
through TestClient, and the whole flow once in a real headless Chromium."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import analysed_footage
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, chromium, log_in, page_csrf, seed, serve
from vigil.db.models import AuditEntry, SavedSearch
from vigil.web.app import create_app

CASE, PURPOSE = "CUM-2026-000733", "robbery on Market Square: looking for the suspect in red"


def world(app: FastAPI) -> None:
    """ivy (analytics trained), ned (not trained) and footage from camera PEN-01, analysed (two people)."""
    settings = app.state.system.settings

    def build(db: Session) -> None:
        make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        make_user(db, "ned", cases=(CASE,))
        analysed_footage(db, settings)

    seed(app, build)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path / "data"))
    with TestClient(app) as test_client:
        world(app)
        yield test_client


def with_context(client: TestClient, user: str = "ivy") -> None:
    assert log_in(client, user, PASSWORD) == "/"
    detour = client.get("/search", follow_redirects=False)
    assert detour.status_code == 303 and urlsplit(detour.headers["location"]).path == "/context"
    next_url = parse_qs(urlsplit(detour.headers["location"]).query)["next"][0]
    token = page_csrf(client, "/context")
    client.post("/context", data={"case_ref": CASE, "purpose": PURPOSE, "next": next_url, "csrf_token": token})


def audit_of(client: TestClient, action: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return seed(client.app, lambda db: list(db.execute(query).scalars()))  # type: ignore[arg-type]


def checked(page: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]+)" checked', page)


def test_description_understood_then_run_then_saved(client: TestClient) -> None:
    with_context(client)
    blank = client.get("/search").text
    assert 'id="search-form"' in blank and "Understood" not in blank and checked(blank, "upper") == []
    understood = client.get("/search", params={"q": "man in a red top walking right on PEN-01 with a pram"}).text
    assert "Understood" in understood and "top: red" in understood
    assert "does not infer gender, age or ethnicity" in understood and "pram" in understood
    assert checked(understood, "upper") == ["red"] and checked(understood, "heading") == ["right"]
    assert checked(understood, "class") == ["person"] and 'name="camera" value="PEN-01"' in understood
    assert audit_of(client, "search.run") == []  # understanding is not searching

    results = client.get(
        "/search/results",
        params={
            "case": CASE,
            "q": "red top",
            "camera": "PEN-01",
            "class": "person",
            "upper": "red",
            "heading": "right",
        },
    )
    page = results.text
    assert results.status_code == 200 and page.count('class="track-card result-card') == 1
    assert "1 candidate" in page and 'class="chip chip-red">red<' in page
    track_id = re.search(r'data-track-id="(\d+)"', page)
    assert track_id is not None
    assert f"/tracks/{track_id[1]}/review?t=" in page and f"/similar?track_id={track_id[1]}" in page
    assert f'action="/tracks/{track_id[1]}/marks' in page and "/synopsis?camera=PEN-01" in page
    (entry,) = audit_of(client, "search.run")
    assert (entry.actor, entry.case_ref, entry.purpose) == ("ivy", CASE, PURPOSE)
    assert json.loads(entry.details)["results"] == 1

    query_json = html.unescape(re.search(r'name="query" value="([^"]+)"', page)[1])  # type: ignore[index]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
    saved = client.post(
        "/search/saved",
        params={"case": CASE},
        data={"csrf_token": token, "name": "Red top going right", "query": query_json, "description": "red top"},
    )
    assert saved.status_code == 200 and saved.url.path == "/search/results"
    assert "Red top going right" in saved.text
    saved_id = seed(client.app, lambda db: db.execute(select(SavedSearch.id)).scalar_one())  # type: ignore[arg-type]
    again = client.get(f"/search/saved/{saved_id}", params={"case": CASE})
    assert again.url.path == "/search/results" and again.text.count('class="track-card result-card') == 1
    assert [e.case_ref for e in audit_of(client, "search.save") + audit_of(client, "search.load")] == [CASE, CASE]


def test_bad_filters_show_a_clear_error_not_a_traceback(client: TestClient) -> None:
    with_context(client)
    page = client.get("/search/results", params={"case": CASE, "speed_min": "fast"})
    assert page.status_code == 200 and "Speed min must be a number" in page.text
    page = client.get("/search/results", params={"case": CASE, "dwell_min": "9", "dwell_max": "3"})
    assert "minimum (9) is above the maximum (3)" in page.text
    page = client.get("/search/results", params={"case": CASE, "camera": "NOPE-9"})
    assert "unknown camera code(s): NOPE-9" in page.text
    assert audit_of(client, "search.run") == []


def test_identification_requests_are_refused_and_audited(client: TestClient) -> None:
    with_context(client)
    page = client.get("/search", params={"q": "identify the face of the man in red", "case": CASE}).text
    assert "does not identify people" in page and "Run the search" not in page
    (entry,) = audit_of(client, "search.run")
    assert entry.outcome == "refused" and entry.case_ref == CASE


def test_an_untrained_user_is_refused(client: TestClient) -> None:
    with_context(client, "ned")
    response = client.get("/search/results", params={"case": CASE, "upper": "red"})
    assert response.status_code == 403
    assert [e.outcome for e in audit_of(client, "search.run")] == ["refused"]


def test_the_search_page_has_no_inline_script(client: TestClient) -> None:
    with_context(client)
    page = client.get("/search/results", params={"case": CASE, "class": "person"}).text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == [] and " style=" not in page
    assert '<a href="/search" aria-current="page">Search</a>' in page


@pytest.mark.browser
def test_an_investigator_searches_by_description_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with serve(app) as base, chromium() as browser:
        world(app)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("ivy")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Search", exact=True).click()
        page.get_by_label("Case reference").select_option(CASE)
        page.get_by_label("Purpose").fill(PURPOSE)
        page.get_by_role("button", name="Continue").click()

        page.get_by_label("Description").fill("woman in a yellow top and green trousers walking left on PEN-01")
        page.get_by_role("button", name="Understand").click()
        understood = page.locator("#understood")
        expect(understood).to_contain_text("top: yellow")
        expect(understood).to_contain_text("read 'woman' as 'person'")
        expect(page.locator('input[name="upper"][value="yellow"]')).to_be_checked()
        page.locator('input[name="lower"][value="blue"]').check()  # the user widens a filter before running
        page.get_by_role("button", name="Run the search").click()

        results = page.locator("#results")
        expect(results).to_contain_text("1 candidate")
        expect(results.locator(".track-card .chip-yellow")).to_have_count(1)
        expect(results.get_by_role("link", name=re.compile("Synopsis of these results"))).to_have_count(1)
        expect(results.locator(".track-card img")).to_have_count(1)
        results.locator(".track-card img").scroll_into_view_if_needed()
        page.wait_for_function(  # the thumbnail really loads (lazy image, authorised by the case context)
            "() => { const i = document.querySelector('#results .track-card img'); return i && i.naturalWidth > 0; }"
        )
        page.get_by_label(re.compile("Save this search")).fill("Yellow top heading left")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("link", name="Yellow top heading left")).to_be_visible()
        page.screenshot(path="/tmp/vigil-search.png", full_page=True)
        assert problems == []
