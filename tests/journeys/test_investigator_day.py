"""The investigator's whole day in one real browser session (issue 10, "Done when").

A supervisor has opened case X with the investigator as a member (seeded: the supervisor's own Cases page journey is
tests/web/test_cases_page.py::test_a_supervisor_opens_a_case_adds_a_member_who_then_picks_it). The investigator logs
in, picks the case and states a purpose on the context page, uploads Intel's sample video on the Footage page with
the recording start in local force time (summer time, so local and UTC differ), follows the analysis to its end,
searches by a description of what the analysis found, opens Review on a result and sees the clip play with the box
drawn, confirms it with a note, makes a synopsis of the results that plays, creates and downloads an evidence
bundle, and the real ``vigil export verify`` says it is intact. Everything runs for real: uvicorn, Chromium with
JavaScript, the shipped models in the app's own analysis worker, the shared footage.

The other roles' days are already whole journeys in one browser session, so they are not repeated here:
- administrator: tests/web/test_browser.py::test_first_administrator_sets_up_users_places_and_checks_the_audit_log
  (and account upkeep in tests/web/test_admin_browser.py);
- resident and owner: tests/registry/test_registry_browser.py::
  test_resident_registers_officer_requests_owner_uploads_and_the_footage_is_analysed_in_the_case.

Screenshots: /tmp/journeys/investigator_day/NN-step.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from tests.conftest import make_settings, shared_data_dir
from tests.journeys.shots import Shots
from tests.support.builders import PASSWORD, make_camera, make_case, make_user
from tests.support.investigation import (
    CAMERA,
    CASE,
    Found,
    check_the_bundle_verifies,
    download_the_bundle,
    render_the_synopsis,
    review_and_confirm,
    what_was_found,
)
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

VIDEO = Path("intel-sample-videos") / "person-bicycle-car-detection.mp4"
ANALYSIS_TIMEOUT_MS = 300_000
WAIT_MS = 20_000
PURPOSE = "trace the pedestrian seen near the bank in the 1 July robbery"


def case_with_its_investigator(db: Session) -> None:
    """sue (supervisor) opened the case with ivy as its member; PEN-01 has a current PIA."""
    sue = make_user(db, "sue", "supervisor")
    ivy = make_user(db, "ivy", trained_for=("analytics", "export"))
    make_case(db, CASE, title="Robbery near the bank, Market Square", members=[ivy], opened_by=sue)
    make_camera(db, CAMERA, pia_review=utcnow().date() + timedelta(days=200), location="Market Square, Penrith")


@pytest.mark.browser
@pytest.mark.data
def test_investigator_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    video = shared_data_dir() / VIDEO
    if not video.exists():
        pytest.skip(f"{video} is not available")
    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed(app, case_with_its_investigator)
    shots = Shots("investigator_day")
    with serve(app) as base, chromium() as browser:
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(30_000)  # actions and waits, for a busy machine
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

        pick_the_case(page, base, shots)
        upload_and_follow_the_analysis(page, video, shots)
        found = what_was_found(app)
        results_url, track_id = search_by_description(page, found, shots)
        review_and_confirm(page, track_id, found.moments[track_id])
        # after the verdict the review page reloads: its video shows the picture again (frames decoded, not grey)
        page.wait_for_function("() => document.getElementById('review-video').videoWidth > 0", timeout=30_000)
        shots.take(page, "review-confirmed")
        render_the_synopsis(page, results_url, track_id, found)
        heading = page.get_by_role("heading", name=re.compile("Video synopsis"))
        expect(heading).to_contain_text(f"{CAMERA} · 2026-07-01 14:05 BST – 2026-07-01 14:05 BST")  # local, zone shown
        shots.take(page, "synopsis-playing")
        bundle = download_the_bundle(page, tmp_path, track_id)
        shots.take(page, "export-created")
        context.close()
    assert problems == [], problems
    check_the_bundle_verifies(bundle, settings.data_dir, monkeypatch)


def pick_the_case(page: Page, base: str, shots: Shots) -> None:
    """Log in; on the context page the case the supervisor opened is offered; pick it and state the purpose."""
    from playwright.sync_api import expect

    page.goto(base + "/login")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="State a case and purpose").click()
    expect(page).to_have_url(re.compile(r"/context"))
    choices = page.get_by_label("Case reference").locator("option")
    expect(choices).to_have_count(1)
    expect(choices).to_have_text(re.compile(f"^{CASE}"))
    page.get_by_label("Case reference").select_option(CASE)
    page.get_by_label("Purpose").fill(PURPOSE)
    shots.take(page, "context")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".context-bar")).to_contain_text(f"Working on case {CASE}", timeout=WAIT_MS)


def upload_and_follow_the_analysis(page: Page, video: Path, shots: Shots) -> None:
    """Upload the video for the case with a local (BST) start; the analysis runs to its end on the page."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Footage", exact=True).click()
    expect(page.get_by_label("Case reference (optional)")).to_have_value(CASE)  # the working case
    page.get_by_label("Video file").set_input_files(str(video))
    page.get_by_label("Camera", exact=True).select_option(CAMERA)
    page.get_by_label("Recording start (Europe/London, optional)").fill("2026-07-01T14:05:00")
    shots.take(page, "upload-form")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-text")).to_contain_text("upload complete", timeout=60_000)
    expect(page.locator("#upload-result")).to_contain_text("person-bicycle-car-detection.mp4 stored as footage 1")
    row = page.locator("#footage-1")
    bar = row.locator(".job-bar")
    expect(bar).to_be_visible(timeout=WAIT_MS)  # the analysis was started with the upload and shows its progress
    shots.take(page, "analysis-running")
    expect(bar).to_have_count(0, timeout=ANALYSIS_TIMEOUT_MS)
    expect(row).to_contain_text("analysed", timeout=WAIT_MS)
    expect(row).to_contain_text("2026-07-01 14:05:00 BST")  # as typed, in local time with the zone shown
    shots.take(page, "analysed")


def search_by_description(page: Page, found: Found, shots: Shots) -> tuple[str, int]:
    """Describe the person in the colour the analysis found; exactly the person tracks in that top come back."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Description").fill(f"person in a {found.colour} top on {CAMERA}")
    page.get_by_role("button", name="Understand").click()
    understood = page.locator("#understood")
    expect(understood).to_contain_text(f"top: {found.colour}")
    expect(understood).to_contain_text("class: person")
    page.get_by_role("button", name="Run the search").click()
    cards = page.locator("#results .track-card")
    expect(cards).to_have_count(len(found.track_ids), timeout=WAIT_MS)
    assert {int(card.get_attribute("data-track-id") or 0) for card in cards.all()} == found.track_ids
    first = cards.first
    first.locator("img").scroll_into_view_if_needed()
    page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=first.locator("img").element_handle()
    )
    page.evaluate("window.scrollTo(0, 0)")
    shots.take(page, "search-results")
    return page.url, int(first.get_attribute("data-track-id") or 0)
