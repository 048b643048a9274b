"""The face pages through the real app (TestClient): register, enrolment feedback, retrospective search, verdicts;
and one run in a real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.faces.builders import PURPOSE, encode, hopper, side_by_side
from tests.support.builders import PASSWORD, make_user
from tests.support.face_pages import CASE, staff
from tests.support.webapp import TestClient, chromium, csrf_of, log_in, notices, seed, serve
from vigil.db.face_models import Enrolment, RetroCandidate
from vigil.db.models import AuditEntry
from vigil.web.app import create_app

LOADED = "image => image.complete && image.naturalWidth > 0"


def app_for(tmp_path: Path) -> TestClient:
    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed(app, lambda db: staff(db, settings.data_dir))
    return TestClient(app)


def post(client: TestClient, url: str, page: str, **fields: object) -> str:
    files = fields.pop("files", None)
    data = {"csrf_token": csrf_of(client.get(page).text), **fields}
    return client.post(url, data=data, files=files).text  # type: ignore[arg-type]


def test_register_enrolment_feedback_and_retrospective_search(tmp_path: Path) -> None:
    client = app_for(tmp_path)
    log_in(client, "sue", PASSWORD)
    page = "/fr/watchlists"
    shown = post(
        client,
        "/fr/subjects",
        page,
        reference="WAR-1",
        category="wanted",
        reason="Wanted on warrant for robbery",
        authority="Warrant 2024/17",
        expires="2099-01-01",
    )
    assert "Subject WAR-1 added." in notices(shown) and 'id="subject-WAR-1"' in shown
    assert "Watchlist Station created." in notices(post(client, "/fr/watchlists", page, name="Station"))
    tiny = cv2.resize(hopper(), None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    refused = post(
        client, "/fr/subjects/enrol", page, subject="WAR-1", watchlist="", files={"image": ("t.jpg", encode(tiny))}
    )
    assert any("face too poor to enrol: eye distance" in n for n in notices(refused))
    good = {"image": ("hopper.jpg", encode(hopper()), "image/jpeg")}
    enrolled = post(client, "/fr/subjects/enrol", page, subject="WAR-1", watchlist="Station", files=good)
    assert any(n.startswith("Face quality 0.9") for n in notices(enrolled))
    assert "Photo enrolled for WAR-1 and added to Station." in notices(enrolled)
    crop = re.search(r'src="(/fr/enrolments/\d+/crop\.jpg)"', enrolled)
    assert crop and client.get(crop.group(1)).headers["content-type"] == "image/jpeg"

    detour = client.get(f"/fr/retro?case={CASE}", follow_redirects=False)
    assert detour.status_code == 303 and detour.headers["location"].startswith("/context")
    post(client, "/context", "/context", case_ref=CASE, purpose=PURPOSE, next=f"/fr/retro?case={CASE}")
    retro = client.get(f"/fr/retro?case={CASE}").text
    assert "not an identification" in retro and "1 video, 0 already indexed (0 faces)" in retro
    retro_url = f"/fr/retro?case={CASE}"
    results = post(client, retro_url, retro_url, files={"probe": ("p.jpg", encode(hopper()))})
    assert "Candidate 1" in results and "Watch this moment" in results
    link = re.search(r'href="(/footage/\d+/video\?t=([0-9.]+))&amp;case=', results)
    assert link and 3.0 <= float(link.group(2)) < 5.0
    face = re.search(r'src="(/fr/retro/\d+/faces/\d+\.jpg\?case=[^"]+)"', results)
    assert face and client.get(face.group(1).replace("&amp;", "&")).headers["content-type"] == "image/jpeg"
    action = re.search(r'action="(/fr/retro/candidates/\d+\?case=[^"]+)"', results)
    search = re.search(r'name="search" value="(\d+)"', results)
    assert action and search
    search_page = f"/fr/retro/{search.group(1)}?case={CASE}"
    decided = post(client, action.group(1), search_page, verdict="confirmed", note="same face", search=search.group(1))
    assert "Candidate confirmed." in notices(decided) and 'class="face-card face-confirmed"' in decided
    with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
        assert db.execute(select(RetroCandidate.verdict)).scalars().first() == "confirmed"
        actions = set(db.execute(select(AuditEntry.action)).scalars())
    assert {"fr.subject.create", "fr.enrol", "fr.retro.search", "fr.retro.verdict", "fr.register.view"} <= actions


def test_untrained_users_and_other_cases_are_refused(tmp_path: Path) -> None:
    client = app_for(tmp_path)
    log_in(client, "ivan", PASSWORD)
    assert client.get("/fr/watchlists").status_code == 403
    post(client, "/context", "/context", case_ref=CASE, purpose=PURPOSE, next="/")
    refused = client.get(f"/fr/retro?case={CASE}")
    assert refused.status_code == 403 and "retrospective facial recognition" in refused.text
    assert "retrospective_fr" not in refused.text
    assert client.get(f"/fr/retro/1/probe.jpg?case={CASE}").status_code == 403


@pytest.mark.browser
def test_face_search_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed(app, lambda db: staff(db, settings.data_dir))
    probe, tiny = tmp_path / "probe.jpg", tmp_path / "tiny.jpg"
    probe.write_bytes(encode(hopper()))
    tiny.write_bytes(encode(cv2.resize(hopper(), None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)))
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("sue")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.locator(".mainnav summary", has_text="Facial recognition").click()  # the menu groups pages by area
        page.get_by_role("link", name="Watchlists").click()
        page.get_by_label("Reference (warrant or missing-person number)").fill("WAR-1")
        page.get_by_label("Reason").fill("Wanted on warrant for robbery")
        page.get_by_label("Authority").fill("Warrant 2024/17")
        page.get_by_label("Expires").fill("2099-01-01")
        page.get_by_role("button", name="Add subject").click()
        page.get_by_label("New watchlist").fill("Station")
        page.get_by_role("button", name="Create watchlist").click()
        page.get_by_label("Photo (if it shows several faces you will choose one)").set_input_files(str(tiny))
        page.get_by_role("button", name="Enrol").click()
        expect(page.get_by_role("alert")).to_contain_text("face too poor to enrol: eye distance")
        page.get_by_label("Photo (if it shows several faces you will choose one)").set_input_files(str(probe))
        page.get_by_label("Also add to watchlist (optional)").select_option("Station")
        page.get_by_role("button", name="Enrol").click()
        expect(page.locator(".notice-ok").first).to_contain_text("fit to enrol")
        page.wait_for_function(LOADED, arg=page.get_by_alt_text("Enrolled face 1 of WAR-1").element_handle())
        page.screenshot(path=str(tmp_path / "watchlists.png"), full_page=True)
        page.locator(".mainnav summary", has_text="Facial recognition").click()  # the menu groups pages by area
        page.get_by_role("link", name="Face search").click()
        page.get_by_label("Case reference").select_option(CASE)
        page.get_by_label("Purpose").fill(PURPOSE)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Probe photo (one face)").set_input_files(str(probe))
        page.get_by_role("button", name="Search this case's footage").click()
        card = page.locator(".face-card").first
        expect(card).to_contain_text("Candidate 1")
        expect(page.get_by_role("note")).to_contain_text("not an identification")
        page.wait_for_function(LOADED, arg=card.locator("img").element_handle())  # the candidate's face crop loads
        card.get_by_label("Note on candidate 1").fill("Same face, same clothing")
        card.get_by_label("Verdict on candidate 1").select_option("confirmed")
        card.get_by_role("button", name="Record verdict").click()
        expect(page.locator(".face-card").first).to_contain_text("confirmed")
        page.screenshot(path=str(tmp_path / "face-search.png"), full_page=True)
        assert problems == []


@pytest.mark.browser
def test_choosing_the_face_to_enrol_by_clicking_it_on_the_photo(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed(app, lambda db: staff(db, settings.data_dir))
    group = tmp_path / "group.jpg"
    group.write_bytes(encode(side_by_side(hopper(), hopper()[:, ::-1].copy())))
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("sue")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(base + "/fr/watchlists")
        page.get_by_label("Reference (warrant or missing-person number)").fill("WAR-1")
        page.get_by_label("Reason").fill("Wanted on warrant for robbery")
        page.get_by_label("Authority").fill("Warrant 2024/17")
        page.get_by_label("Expires").fill("2099-01-01")
        page.get_by_role("button", name="Add subject").click()
        page.get_by_label("Photo (if it shows several faces you will choose one)").set_input_files(str(group))
        page.get_by_role("button", name="Enrol", exact=True).click()
        expect(page.get_by_role("heading", name="Choose the face to enrol for WAR-1")).to_be_visible(timeout=20_000)
        photo = page.get_by_alt_text("The uploaded photo, with each face found boxed and numbered")
        page.wait_for_function(LOADED, arg=photo.element_handle())
        box = page.locator(".face-choice .face-box", has_text="2")
        expect(box).to_be_visible(timeout=20_000)
        drawn, shown = box.bounding_box(), photo.bounding_box()
        assert drawn and shown and drawn["x"] > shown["x"] + shown["width"] / 2, "face 2 is boxed on the right half"
        page.screenshot(path=str(tmp_path / "choose.png"), full_page=True)
        box.click()
        expect(page.locator(".notice-ok").last).to_contain_text(
            "Face 2 of the photo enrolled for WAR-1", timeout=20_000
        )
        expect(page.get_by_alt_text("Enrolled face 1 of WAR-1")).to_be_visible(timeout=20_000)
        assert problems == []
    assert not list((settings.data_dir / "faces" / "held").rglob("*.img")), "the held photo is deleted once enrolled"


def test_a_held_photo_is_shown_to_its_uploader_only(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    app = create_app(settings)

    def people(db: Session) -> None:
        staff(db, settings.data_dir)
        make_user(db, "olly", "operator", trained_for=("live_fr",))

    seed(app, people)
    client = TestClient(app)
    log_in(client, "sue", PASSWORD)
    page = "/fr/watchlists"
    post(
        client,
        "/fr/subjects",
        page,
        reference="WAR-1",
        category="wanted",
        reason="Wanted on warrant for robbery",
        authority="Warrant 2024/17",
        expires="2099-01-01",
    )
    group = {"image": ("g.jpg", encode(side_by_side(hopper(), hopper())), "image/jpeg")}
    choose = post(client, "/fr/subjects/enrol", page, subject="WAR-1", watchlist="", files=group)
    held = re.search(r'src="(/fr/held/([0-9a-f]{64})\.jpg)"', choose)
    assert held and client.get(held.group(1)).headers["content-type"] == "image/jpeg"
    other = TestClient(app)
    log_in(other, "olly", PASSWORD)
    assert other.get(held.group(1)).status_code == 404
    stolen = post(other, "/fr/subjects/enrol/choose", page, photo=held.group(2), subject="WAR-1", watchlist="", face=1)
    assert any("no longer held" in n for n in notices(stolen))
    assert client.get("/fr/held/../../secret.jpg").status_code == 404
    with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
        assert db.execute(select(Enrolment)).first() is None, "nothing enrolled for the other user"


def test_a_supervisor_override_shows_on_the_subject(tmp_path: Path) -> None:
    client = app_for(tmp_path)
    log_in(client, "sue", PASSWORD)
    page = "/fr/watchlists"
    post(
        client,
        "/fr/subjects",
        page,
        reference="MISS-4",
        category="missing",
        reason="Missing from home since Friday",
        authority="Insp. Dale",
        expires="2099-01-01",
    )
    small = cv2.resize(hopper(), None, fx=0.32, fy=0.32, interpolation=cv2.INTER_AREA)
    files = {"image": ("s.jpg", encode(small), "image/jpeg")}
    refused = post(client, "/fr/subjects/enrol", page, subject="MISS-4", watchlist="", files=files)
    assert any("limit at least 30 px to enrol" in n for n in notices(refused)) and "Enrolled face 1" not in refused
    reason = "The only photo the family holds"
    shown = post(
        client, "/fr/subjects/enrol", page, subject="MISS-4", watchlist="", override_reason=reason, files=files
    )
    assert "Photo enrolled for MISS-4." in notices(shown)
    assert "quality check overridden by a supervisor (eye distance 2" in shown and reason in shown
