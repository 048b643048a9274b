"""The dashboards page: the form, the summary, four kinds of picture that load as PNG and CSV downloads, each
re-authorised; one audit entry per page view, one per download; clear errors; refusals."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import make_footage, make_track
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.scenes import crossing_scene, write_video
from tests.support.webapp import TestClient, chromium, log_in, page_csrf, seed, serve
from vigil.db.models import AuditEntry
from vigil.governance import audit
from vigil.web.app import create_app

CASE, PURPOSE = "CUM-2026-000555", "study footfall near the market for a patrol plan"
DAY = {"from": "2026-07-04T00:00", "to": "2026-07-05T00:00"}  # local (BST) Saturday 4 July 2026


def _seed(client: TestClient, tmp_path: Path) -> None:
    """ivy (trained), ned (untrained); camera PEN-01 with footage and five tracks on Saturday 4 July 2026 (BST)."""
    data_dir = client.app.state.system.settings.data_dir  # type: ignore[attr-defined]

    def build(db: Session) -> None:
        ivy = make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        make_user(db, "ned", cases=(CASE,))
        camera = make_camera(db, "PEN-01")
        video = write_video(crossing_scene(10), tmp_path / "scene.mp4")
        start = datetime(2026, 7, 4, 8, 0, tzinfo=UTC)  # 09:00 BST
        footage = make_footage(db, camera=camera, user=ivy, video=video, data_dir=data_dir, start=start)
        for minutes, kind in ((0, "person"), (10, "person"), (20, "car"), (70, "person"), (75, "person")):
            make_track(db, footage, class_name=kind, offset_s=minutes * 60.0)

    seed(client.app, build)  # type: ignore[arg-type]


def _signed_in(client: TestClient, tmp_path: Path, username: str = "ivy") -> TestClient:
    _seed(client, tmp_path)
    assert log_in(client, username, PASSWORD) == "/"
    return client


def _state_context(client: TestClient, detour: httpx.Response) -> httpx.Response:
    assert detour.status_code == 303 and urlsplit(detour.headers["location"]).path == "/context"
    next_url = parse_qs(urlsplit(detour.headers["location"]).query)["next"][0]
    return client.post(
        "/context",
        data={"case_ref": CASE, "purpose": PURPOSE, "next": next_url, "csrf_token": page_csrf(client, "/context")},
    )


def _entries(client: TestClient, prefix: str) -> list[AuditEntry]:
    return seed(client.app, lambda db: list(audit.query_entries(db, action_prefix=prefix)))  # type: ignore[arg-type]


def _links(page: str, pattern: str) -> list[str]:
    return [html.unescape(link) for link in re.findall(pattern, page)]


def test_the_page_shows_a_summary_pictures_that_load_and_csv(client: TestClient, tmp_path: Path) -> None:
    _signed_in(client, tmp_path)
    form = _state_context(client, client.get("/dashboards", follow_redirects=False))
    assert form.status_code == 200 and 'name="camera"' in form.text and "PEN-01" in form.text
    assert 'href="/dashboards" aria-current="page"' in form.text and "<img" not in form.text
    assert not _entries(client, "dashboard.view"), "the empty form shows no footage-derived data"

    page = client.get("/dashboards", params={"camera": "PEN-01", **DAY, "case": CASE})
    assert page.status_code == 200
    total = re.search(r'id="total-tracks">([^<]*)<', page.text)
    busiest = re.search(r'id="busiest-hour">([^<]*)<', page.text)
    assert total and total.group(1) == "5 (4 person, 1 car)"
    assert busiest and html.unescape(busiest.group(1)) == "Sat 09:00–10:00, 3 tracks"  # 08:xx UTC is 09:xx BST

    pictures = _links(page.text, r'<img src="([^"]+)"')
    assert len(pictures) == 4 and {urlsplit(p).path for p in pictures} == {
        "/dashboards/counts.png",
        "/dashboards/busiest.png",
        "/dashboards/paths/PEN-01.png",
        "/dashboards/dwell/PEN-01.png",
    }
    for src in pictures:
        picture = client.get(src)
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/png", src
        image = cv2.imdecode(np.frombuffer(picture.content, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.std() > 20, src
    assert len(_entries(client, "dashboard.view")) == 1, "one entry per page view, none per picture"
    [view] = _entries(client, "dashboard.view")
    assert (view.actor, view.case_ref, view.purpose) == ("ivy", CASE, PURPOSE)
    assert '"from":"2026-07-03T23:00:00+00:00"' in view.details and '"cameras":["PEN-01"]' in view.details

    downloads = _links(page.text, r'<a class="button" href="([^"]+\.csv[^"]*)"')
    assert {urlsplit(d).path for d in downloads} == {
        f"/dashboards/{n}.csv" for n in ("counts", "busiest", "paths", "dwell")
    }
    for href in downloads:
        response = client.get(href)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv"), href
        assert "attachment" in response.headers["content-disposition"]
        assert len(list(csv.reader(io.StringIO(response.text)))) >= 2, href
    counts = {r["bucket_start_local"]: r for r in csv.DictReader(io.StringIO(client.get(downloads[0]).text))}
    assert counts["2026-07-04T09:00:00+01:00"]["person"] == "2" and counts["2026-07-04T09:15:00+01:00"]["car"] == "1"
    assert len(_entries(client, "dashboard.export")) == 5


def test_bad_input_is_shown_on_the_form(client: TestClient, tmp_path: Path) -> None:
    _signed_in(client, tmp_path)
    _state_context(client, client.get("/dashboards", follow_redirects=False))
    cases = [
        ({"camera": "NOPE-1", **DAY}, "no camera NOPE-1"),
        ({"camera": "PEN-01", "from": "yesterday", "to": DAY["to"]}, "from: &#39;yesterday&#39; is not a date/time"),
        ({"camera": "PEN-01", "from": DAY["to"], "to": DAY["from"]}, "end of the range must be after its start"),
        ({"camera": "PEN-01", "from": "2026-01-01T00:00", "to": DAY["to"]}, "at most 92 days"),
    ]
    for params, message in cases:
        page = client.get("/dashboards", params={**params, "case": CASE})
        assert page.status_code == 422 and message in page.text and "<img" not in page.text, params
    picture = client.get("/dashboards/counts.png", params={"camera": "NOPE-1", **DAY, "case": CASE})
    assert picture.status_code == 404
    assert (
        client.get("/dashboards/paths/KES-09.png", params={"camera": "PEN-01", **DAY, "case": CASE}).status_code == 404
    )
    assert client.get("/dashboards/elsewhere.csv", params={"camera": "PEN-01", **DAY, "case": CASE}).status_code == 422
    assert client.get("/dashboards", params={"camera": "PEN-01", "colour": "red", "case": CASE}).status_code == 422
    assert not _entries(client, "dashboard.view")


def test_untrained_users_are_refused_pages_and_pictures(client: TestClient, tmp_path: Path) -> None:
    _signed_in(client, tmp_path, "ned")
    _state_context(client, client.get("/dashboards", follow_redirects=False))
    params = {"camera": "PEN-01", **DAY, "case": CASE}
    assert client.get("/dashboards", params=params).status_code == 403
    assert client.get("/dashboards/counts.png", params=params).status_code == 403
    assert client.get("/dashboards/counts.csv", params=params).status_code == 403
    assert {e.outcome for e in _entries(client, "dashboard.")} == {"refused"}


def test_pictures_need_the_stated_purpose_of_the_case(client: TestClient, tmp_path: Path) -> None:
    _signed_in(client, tmp_path)
    response = client.get("/dashboards/counts.png", params={"camera": "PEN-01", **DAY}, follow_redirects=False)
    assert response.status_code == 303 and urlsplit(response.headers["location"]).path == "/context"


def test_administrators_have_no_dashboards_link(client: TestClient) -> None:
    def build(db: Session) -> None:
        make_user(db, "ada", "admin")

    seed(client.app, build)  # type: ignore[arg-type]
    assert log_in(client, "ada", PASSWORD) == "/"
    assert 'href="/dashboards"' not in client.get("/").text


@pytest.mark.browser
def test_an_investigator_opens_a_dashboard_in_a_real_browser(tmp_path: Path) -> None:
    """Headless Chromium: the nav link, the purpose form, the dashboard form; every picture decodes (naturalWidth);
    no console errors (the CSP forbids inline scripts). A screenshot goes to /tmp for a person to look at."""
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    _seed(TestClient(app), tmp_path)  # through the app's own sessions, without running its lifespan
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("ivy")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.locator(".mainnav summary", has_text="Analysis").click()  # the menu groups pages by area
        page.get_by_role("link", name="Dashboards").click()
        page.get_by_label("Case reference").select_option(CASE)
        page.get_by_label("Purpose").fill(PURPOSE)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Cameras").select_option(["PEN-01"])
        page.get_by_label("From (Europe/London)").fill(DAY["from"])
        page.get_by_label("To (Europe/London)").fill(DAY["to"])
        page.get_by_role("button", name="Show dashboard").click()
        expect(page.locator("#total-tracks")).to_have_text("5 (4 person, 1 car)")
        pictures = page.locator("main img")
        expect(pictures).to_have_count(4)
        for index in range(4):
            picture = pictures.nth(index)
            picture.scroll_into_view_if_needed()
            expect(picture).to_have_js_property("complete", True, timeout=60_000)
            assert picture.evaluate("img => img.naturalWidth") in (900, 1000), picture.get_attribute("src")
        page.screenshot(path="/tmp/vigil-dashboards.png", full_page=True)
        assert not problems, problems
