"""The exports page: the case's confirmed tracks, "Create bundle", downloads that verify, and clear refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import analysed_footage
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, chromium, log_in, notices, page_csrf, seed, serve
from vigil.db.models import AuditEntry, EvidenceExport, Track
from vigil.governance.audit import AuditContext
from vigil.governance.keys import secret_key
from vigil.search.export.verify import verify_bundle
from vigil.search.review.marks import mark_track
from vigil.web.app import create_app

CASE, PURPOSE = "CUM-2026-000555", "identify the man who took the bicycle outside the bank"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path / "data"))) as test_client:
        yield test_client


def confirmed_case(client: TestClient) -> list[int]:
    """ivy (analytics + export), ned (analytics only); analysed footage, track 1 confirmed and 2 rejected."""
    settings = client.app.state.system.settings  # type: ignore[attr-defined]

    def build(db: Session) -> list[int]:
        ivy = make_user(db, "ivy", trained_for=("analytics", "export"), cases=(CASE, "CUM-2026-000001"))
        make_user(db, "ned", trained_for=("analytics",), cases=(CASE,))
        footage = analysed_footage(db, settings, user=ivy)
        ids = list(db.execute(select(Track.id).where(Track.footage_id == footage.id).order_by(Track.id)).scalars())
        context = AuditContext(case_ref=CASE, purpose=PURPOSE)
        mark_track(db=db, user=ivy, context=context, track_id=ids[0], verdict="confirmed", note="same jacket")
        mark_track(db=db, user=ivy, context=context, track_id=ids[1], verdict="rejected", note="")
        return ids

    return seed(client.app, build)  # type: ignore[arg-type]


def with_context(client: TestClient, username: str = "ivy") -> httpx.Response:
    """Log in and open /exports, stating the case and purpose on the way; the exports page it lands on."""
    assert log_in(client, username, PASSWORD) == "/"
    detour = client.get("/exports", follow_redirects=False)
    assert detour.status_code == 303 and urlsplit(detour.headers["location"]).path == "/context"
    next_url = parse_qs(urlsplit(detour.headers["location"]).query)["next"][0]
    return client.post(
        "/context",
        data={"case_ref": CASE, "purpose": PURPOSE, "next": next_url, "csrf_token": page_csrf(client, "/context")},
    )


def create(client: TestClient, tracks: list[int]) -> httpx.Response:
    token = page_csrf(client, f"/exports?case={CASE}")
    return client.post(f"/exports?case={CASE}", data={"track": [str(t) for t in tracks], "csrf_token": token})


def rows(client: TestClient, model: type[EvidenceExport] | type[AuditEntry]) -> list[object]:
    return seed(client.app, lambda db: list(db.execute(select(model)).scalars()))  # type: ignore[arg-type]


def test_confirmed_tracks_are_offered_bundled_and_downloaded(client: TestClient, tmp_path: Path) -> None:
    ids = confirmed_case(client)
    page = with_context(client)
    assert page.status_code == 200 and page.url.path == "/exports"
    assert "Confirmed tracks (1)" in page.text and 'href="/exports"' in page.text
    assert re.search(rf'name="track" value="{ids[0]}"[^>]*checked', page.text)
    assert f'value="{ids[1]}"' not in page.text  # the rejected track is not offered
    made = create(client, [ids[0]])
    assert made.url.path == "/exports" and notices(made.text)[0].startswith("The evidence bundle was created")
    [row] = rows(client, EvidenceExport)
    assert isinstance(row, EvidenceExport) and f"/exports/{row.id}/download?case={CASE}" in made.text
    download = client.get(f"/exports/{row.id}/download", params={"case": CASE})
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert f'filename="{CASE}-export-{row.id}.zip"' in download.headers["content-disposition"]
    saved = tmp_path / "downloaded.zip"
    saved.write_bytes(download.content)
    settings = client.app.state.system.settings  # type: ignore[attr-defined]
    report = verify_bundle(saved, secret=secret_key(settings))
    assert report.ok and report.origin_checked, report.problems
    actions = [e.action for e in rows(client, AuditEntry) if isinstance(e, AuditEntry) and e.actor == "ivy"]
    assert actions.count("export.create") == 1 and actions.count("export.download") == 1


@pytest.mark.parametrize(
    ("choose", "message"),
    [
        (lambda ids: [ids[1]], "is not confirmed for case CUM-2026-000555"),
        (lambda ids: [], "choose at least one confirmed track to export"),
        (lambda ids: [ids[0], 999999], "track 999999 is not confirmed"),
    ],
    ids=["rejected track", "nothing ticked", "unknown track"],
)
def test_bad_choices_are_shown_clearly_and_make_nothing(client: TestClient, choose, message: str) -> None:  # type: ignore[no-untyped-def]
    ids = confirmed_case(client)
    with_context(client)
    page = create(client, choose(ids))
    assert page.url.path == "/exports" and any(message in text for text in notices(page.text)), notices(page.text)
    assert rows(client, EvidenceExport) == []


def test_untrained_user_is_refused_and_audited(client: TestClient) -> None:
    confirmed_case(client)
    page = with_context(client, "ned")
    assert page.status_code == 403 and "no current training record for evidence export" in page.text
    refused = [e for e in rows(client, AuditEntry) if isinstance(e, AuditEntry) and e.outcome == "refused"]
    assert [(e.actor, e.action, e.case_ref) for e in refused] == [("ned", "export.list", CASE)]


def test_a_bundle_of_another_case_is_not_found(client: TestClient) -> None:
    ids = confirmed_case(client)
    with_context(client)
    create(client, [ids[0]])
    [row] = rows(client, EvidenceExport)
    assert isinstance(row, EvidenceExport)
    other = "CUM-2026-000001"
    path = f"/exports/{row.id}/download?case={other}"
    detour = client.get(path, follow_redirects=False)
    assert detour.status_code == 303  # no purpose stated for that case: off to the context form first
    token = page_csrf(client, "/context")
    refused = client.post("/context", data={"case_ref": other, "purpose": PURPOSE, "next": path, "csrf_token": token})
    assert refused.status_code == 404 and f"case {other} has no export {row.id}" in refused.text
    assert client.get(f"/exports/{row.id + 1}/download", params={"case": CASE}).status_code == 404
    downloads = [e for e in rows(client, AuditEntry) if isinstance(e, AuditEntry) and e.action == "export.download"]
    assert downloads == []


def test_exports_page_has_no_inline_script_or_style(client: TestClient) -> None:
    confirmed_case(client)
    html = with_context(client).text
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert " on" + "click=" not in html and "javascript:" not in html


@pytest.mark.browser
def test_investigator_creates_and_downloads_a_bundle_that_verifies(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    client = TestClient(app)
    confirmed_case(client)
    with serve(app) as base, chromium() as browser:
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("ivy")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.locator(".mainnav summary", has_text="Analysis").click()  # the menu groups pages by area
        page.get_by_role("link", name="Exports").click()
        page.get_by_label("Case reference").select_option(CASE)
        page.get_by_label("Purpose").fill(PURPOSE)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Confirmed tracks (1)")).to_be_visible()
        expect(page.locator("input[name=track]")).to_be_checked()
        page.get_by_role("button", name="Create bundle").click()
        expect(page.locator(".notice-ok")).to_contain_text("The evidence bundle was created")
        with page.expect_download() as waiting:
            page.get_by_role("link", name="Download").click()
        download = waiting.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        page.screenshot(path="/tmp/vigil-exports.png", full_page=True)
        context.close()
    assert saved.name == f"{CASE}-export-1.zip"
    report = verify_bundle(saved, secret=secret_key(app.state.system.settings))
    assert report.ok and report.origin_checked, report.problems
    assert problems == [], problems
