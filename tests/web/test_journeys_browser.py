"""Buttons that carry their own value, in a real headless Chromium with JavaScript on: the search results' Confirm /
Reject / Unsure and the live-FR console's Confirm / Dismiss / Engaged send the clicked button's value (and the typed
note); "End deployment" asks first and a "Cancel" leaves the deployment live."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.faces.live_builders import grace_hopper
from tests.faces.live_support import NOW, enrolled_watchlist, grace_video, operator, planned_deployment
from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.face_models import Alert, Deployment, RetroCandidate
from vigil.db.models import ReviewMark
from vigil.faces.live import record_alert, start_deployment
from vigil.faces.live_engine import LiveMatcher
from vigil.vision.faces.recognizer import default_recognizer
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

CASE, PURPOSE = "CUM-2026-000733", "robbery on Market Square: looking for the suspect in red"
SHOTS = Path("/tmp/h1shots")
TIMEOUT_MS = 20_000


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def state_case(page: Page) -> None:
    page.get_by_label("Case reference").select_option(CASE)
    page.get_by_label("Purpose").fill(PURPOSE)
    page.get_by_role("button", name="Continue").click()


def verdicts(app: FastAPI) -> list[tuple[int, str]]:
    query = select(ReviewMark.track_id, ReviewMark.verdict).order_by(ReviewMark.id)
    return seed(app, lambda db: [(t, v) for t, v in db.execute(query)])


@pytest.mark.browser
def test_the_verdict_buttons_on_search_results_record_the_clicked_verdict(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with serve(app) as base, chromium() as browser:

        def world(db: Session) -> None:
            make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
            analysed_footage(db, app.state.system.settings)

        seed(app, world)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        log_in(page, base, "ivy")
        page.goto(base + "/search")
        state_case(page)
        page.get_by_label("Description").fill("person on PEN-01")
        page.get_by_role("button", name="Understand").click()
        page.get_by_role("button", name="Run the search").click()
        cards = page.locator("#results .track-card")
        expect(cards).to_have_count(2, timeout=TIMEOUT_MS)
        first, second = (int(cards.nth(i).get_attribute("data-track-id") or 0) for i in (0, 1))
        # The results come first: the filters fold into one line saying what is active.
        expect(page.locator("#filters")).not_to_have_attribute("open", "")
        expect(page.locator("#active-filters")).to_contain_text("cameras: PEN-01")
        top = (page.locator("#results").bounding_box() or {})["y"]
        assert top < 700, top
        page.screenshot(path=str(SHOTS / "search-results.png"))
        page.locator("#filters > summary").click()
        expect(page.locator('#filters input[name="camera"]')).to_be_visible()

        for track_id, button in ((first, "Confirm"), (second, "Reject"), (first, "Unsure")):
            card = page.locator(f"#results .track-card[data-track-id='{track_id}']")
            card.get_by_role("button", name=button, exact=True).click()
            expect(page.locator(".notice-ok")).to_contain_text(f"Track {track_id} marked", timeout=TIMEOUT_MS)
        expect(page.locator(".notice-error")).to_have_count(0)
        assert verdicts(app) == [(first, "confirmed"), (second, "rejected"), (first, "unsure")]
        # The page came back with the buttons working again, and each card shows its latest verdict.
        expect(page.locator(f".track-card[data-track-id='{first}'] .verdict-badge")).to_have_text("unsure")
        expect(page.locator(f".track-card[data-track-id='{second}'] .verdict-badge")).to_have_text("rejected")
        assert problems == []


def live_alert(app: FastAPI, tmp_path: Path) -> tuple[int, int]:
    """A live deployment over Grace Hopper's watchlist with one real pending alert (the real matcher's match)."""
    settings = app.state.system.settings
    recognizer = default_recognizer(threads=1)

    def build(db: Session) -> tuple[int, int]:
        user = operator(db)
        watchlist = enrolled_watchlist(db, settings, recognizer, user)
        deployment = planned_deployment(db, user, watchlist, grace_video(tmp_path / "video"))
        _, vectors = start_deployment(db, user=user, deployment_id=deployment.id, now=NOW)
        frame = np.full((600, 900, 3), 100, np.uint8)
        portrait = grace_hopper()[::2, ::2]
        frame[50 : 50 + portrait.shape[0], 200 : 200 + portrait.shape[1]] = portrait
        [match] = LiveMatcher(recognizer=recognizer, watchlist=vectors, threshold=0.5).process(frame, 1.0).matches
        alert = record_alert(
            db, deployment_id=deployment.id, match=match, camera="Market east", data_dir=settings.data_dir, at=NOW
        )
        return deployment.id, alert.id

    return seed(app, build)


OUTCOMES = [("Confirm", "confirmed"), ("Dismiss", "dismissed"), ("Engaged", "engaged")]


@pytest.mark.browser
@pytest.mark.parametrize(("button", "stored"), OUTCOMES)
def test_the_console_records_the_clicked_outcome_with_its_note_and_asks_before_ending(
    tmp_path: Path, button: str, stored: str
) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with serve(app) as base, chromium() as browser:
        deployment_id, alert_id = live_alert(app, tmp_path)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        log_in(page, base, "olive")
        page.goto(f"{base}/fr/deployments/{deployment_id}/console")
        alert = page.locator(f"#fr-alerts .fr-alert[data-alert='{alert_id}']")
        note = f"Spoke to the person: {stored} on warrant"
        alert.get_by_label("Note / outcome").fill(note)
        page.screenshot(path=str(SHOTS / "console.png"), full_page=True)
        alert.get_by_role("button", name=button, exact=True).click()
        expect(page.locator(".notice-ok")).to_contain_text(f"Alert {alert_id}: {stored}", timeout=TIMEOUT_MS)
        expect(page.locator(".notice-error")).to_have_count(0)
        stored_alert = seed(app, lambda db: db.get(Alert, alert_id))
        assert (stored_alert.outcome, stored_alert.outcome_note) == (stored, note)

        # Ending destroys the watchlist data: the browser asks first, and "Cancel" leaves the deployment live.
        questions: list[str] = []

        def dismiss(dialog: object) -> None:
            questions.append(dialog.message)  # type: ignore[attr-defined]
            dialog.dismiss()  # type: ignore[attr-defined]

        page.once("dialog", dismiss)
        page.get_by_role("button", name="End deployment").click()
        expect(page.get_by_role("button", name="End deployment")).to_be_enabled(timeout=TIMEOUT_MS)
        assert questions and "watchlist" in questions[0]
        assert seed(app, lambda db: db.get(Deployment, deployment_id).status) == "live"  # type: ignore[union-attr]
        expect(page.locator("#fr-status")).to_have_text("live")

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="End deployment").click()
        expect(page.locator(".notice-ok")).to_contain_text("has ended", timeout=TIMEOUT_MS)
        page.goto(base + "/transparency/facial-recognition")
        row = page.locator(f"tr[data-deployment='{deployment_id}']")
        expect(row).to_be_visible()
        expect(row).not_to_contain_text("still under review")
        assert problems == []


@pytest.mark.browser
def test_tracks_link_to_their_review_with_one_track_number_and_pictures_at_a_useful_size(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with serve(app) as base, chromium() as browser:

        def world(db: Session) -> int:
            make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
            analysed_footage(db, app.state.system.settings)
            later = analysed_footage(
                db, app.state.system.settings, start=SCENE_START + timedelta(hours=1), scene_frames=64
            )
            return later.id  # its tracks are numbered 1 and 2 within it, but are tracks 3 and 4 of the system

        footage_id = seed(app, world)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        log_in(page, base, "ivy")
        page.goto(f"{base}/footage/{footage_id}/tracks")
        state_case(page)
        card = page.locator(".track-card").first
        track_id = int(card.get_attribute("data-track-id") or 0)
        assert track_id > 2
        expect(card.locator(".track-no")).to_have_text(f"Track {track_id}")
        picture = card.locator(".track-thumb img")
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=picture.element_handle())
        natural = picture.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        shown = picture.evaluate("i => { const r = i.getBoundingClientRect(); return [r.width, r.height]; }")
        drawn = picture.evaluate(  # the picture inside the box (object-fit: contain keeps its aspect)
            "i => { const r = i.getBoundingClientRect(), s = Math.min(r.width / i.naturalWidth,"
            " r.height / i.naturalHeight); return [i.naturalWidth * s, i.naturalHeight * s]; }"
        )
        assert max(drawn) >= 96 and shown[1] >= 96, (natural, shown, drawn)
        assert abs(drawn[0] / drawn[1] - natural[0] / natural[1]) < 0.02
        page.screenshot(path=str(SHOTS / "tracks.png"), full_page=True)
        card.get_by_role("link", name=f"Review track {track_id}").click()
        expect(page).to_have_url(re.compile(rf"/tracks/{track_id}/review\?"))
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Review track {track_id}")
        expect(page.locator(".review-facts")).to_contain_text(f"Footage {footage_id}")
        page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
        assert problems == []


ROLES = {"olive": "operator", "ivy": "investigator", "sue": "supervisor", "ada": "admin", "aud": "auditor"}


@pytest.mark.browser
def test_the_menu_fits_one_row_at_1280_px_for_every_role_and_opens_by_area(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with serve(app) as base, chromium() as browser:
        seed(app, lambda db: [make_user(db, name, role) for name, role in ROLES.items()])
        for name, role in ROLES.items():
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            log_in(page, base, name)
            expect(page.locator(".mainnav")).to_be_visible()
            items = page.locator(".mainnav > a, .mainnav > details > summary")
            tops = {round(box["y"]) for box in (items.nth(i).bounding_box() or {} for i in range(items.count()))}
            nav = page.locator(".mainnav").bounding_box() or {}
            first = items.first.bounding_box() or {}
            assert len(tops) == 1 and nav["height"] <= first["height"] + 2, (role, tops, nav, first)
            page.screenshot(path=str(SHOTS / f"menu-{role}.png"))
            assert "retrospective_fr" not in page.locator("body").inner_text()
            page.close()

        page = browser.new_page(viewport={"width": 1280, "height": 800})
        log_in(page, base, "sue")
        page.locator(".mainnav summary", has_text="Administration").click()
        page.get_by_role("link", name="Users & training").click()
        expect(page).to_have_url(re.compile(r"/users$"))
        expect(page.locator(".navgroup.current > summary")).to_have_text("Administration")
        assert "retrospective_fr" not in page.locator("body").inner_text()
        page.locator(".mainnav summary", has_text="Facial recognition").click()
        page.screenshot(path=str(SHOTS / "menu-open.png"))
        page.get_by_role("link", name="Watchlists").click()
        expect(page).to_have_url(re.compile(r"/fr/watchlists$"))


@pytest.mark.browser
def test_a_refused_form_comes_back_with_what_was_typed(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with serve(app) as base, chromium() as browser:
        seed(app, lambda db: make_user(db, "ada", "admin"))
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        log_in(page, base, "ada")
        page.goto(base + "/locations")
        page.locator("#loc-name").fill("Market Square, Penrith")
        page.locator("#loc-address").fill("Market Square, Penrith CA11 7BX")
        page.locator("#loc-lat").fill("north of the bank")
        page.locator("#loc-lon").fill("-2.7527")
        page.get_by_role("button", name="Add location").click()
        expect(page.locator(".notice-error")).to_contain_text("Latitude must be a number", timeout=TIMEOUT_MS)
        expect(page.locator("#loc-name")).to_have_value("Market Square, Penrith")
        expect(page.locator("#loc-address")).to_have_value("Market Square, Penrith CA11 7BX")
        expect(page.locator("#loc-lat")).to_have_value("north of the bank")
        expect(page.locator("#loc-lon")).to_have_value("-2.7527")
        page.screenshot(path=str(SHOTS / "refused-form.png"), full_page=True)
        page.locator("#loc-lat").fill("54.6641")
        page.get_by_role("button", name="Add location").click()
        expect(page.locator(".notice-ok")).to_contain_text("Location Market Square, Penrith added")
        expect(page.locator("#loc-name")).to_have_value("")  # a form that worked starts afresh


@pytest.mark.browser
def test_a_face_search_verdict_is_never_preset_the_person_must_choose(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from tests.faces.builders import PURPOSE as FACE_PURPOSE
    from tests.faces.builders import encode, hopper
    from tests.support.face_pages import CASE as FACE_CASE
    from tests.support.face_pages import staff

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed(app, lambda db: staff(db, settings.data_dir))
    probe = tmp_path / "probe.jpg"
    probe.write_bytes(encode(hopper()))

    def verdict() -> str:
        return seed(app, lambda db: db.execute(select(RetroCandidate.verdict)).scalars().first() or "")

    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base, "sue")
        page.goto(f"{base}/fr/retro?case={FACE_CASE}")
        page.get_by_label("Case reference").select_option(FACE_CASE)
        page.get_by_label("Purpose").fill(FACE_PURPOSE)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Probe photo (one face)").set_input_files(str(probe))
        page.get_by_role("button", name="Search this case's footage").click()
        card = page.locator(".face-card").first
        expect(card).to_contain_text("Candidate 1", timeout=TIMEOUT_MS)
        choice = card.get_by_label("Verdict on candidate 1")
        expect(choice).to_have_value("")  # nothing chosen for the person
        card.get_by_role("button", name="Record verdict").click()  # the browser asks for a choice; nothing is sent
        assert choice.evaluate("select => select.validity.valueMissing") is True
        expect(card.locator(".badge")).to_have_text("pending")
        assert verdict() == "pending"
        page.screenshot(path=str(SHOTS / "face-search.png"), full_page=True)
        choice.select_option("rejected")
        card.get_by_role("button", name="Record verdict").click()
        expect(page.locator(".notice-ok")).to_contain_text("Candidate rejected", timeout=TIMEOUT_MS)
        assert verdict() == "rejected"
        expect(page.locator(".face-card").first.get_by_label("Verdict on candidate 1")).to_have_value("rejected")


@pytest.mark.browser
def test_a_refused_watchlist_subject_comes_back_with_what_was_typed(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with serve(app) as base, chromium() as browser:
        seed(app, lambda db: make_user(db, "sue", "supervisor", trained_for=("live_fr", "retrospective_fr")))
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        log_in(page, base, "sue")
        page.goto(base + "/fr/watchlists")
        typed = {
            "#s-reference": "WAR-2026-17",
            "#s-reason": "Wanted on warrant for robbery at the bank",
            "#s-authority": "Warrant 2026/17, Carlisle Magistrates",
            "#s-expires": "2000-01-01",
        }
        for field, value in typed.items():
            page.locator(field).fill(value)
        category = page.locator("#s-category option").nth(1).get_attribute("value") or ""
        page.locator("#s-category").select_option(category)
        page.get_by_role("button", name="Add subject").click()
        expect(page.locator(".notice-error")).to_contain_text("expiry date must be in the future", timeout=TIMEOUT_MS)
        for field, value in typed.items():
            expect(page.locator(field)).to_have_value(value)
        expect(page.locator("#s-category")).to_have_value(category)
