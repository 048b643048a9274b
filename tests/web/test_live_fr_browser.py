"""An operator runs a live facial-recognition deployment in a real browser: plans it, starts it on the Hamilton
clip played as a live camera by the camera's worker process (the web server's live supervisor), receives the alert
the worker stored, pushed to the console, confirms it, ends the deployment, and the public transparency page shows
the results."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.conftest import make_settings, shared_data_dir
from tests.faces.live_support import file_camera
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.faces.images import read_photo
from vigil.faces.watchlists import SubjectForm, add_subjects, create_subject, create_watchlist, enrol_photos
from vigil.governance.camera_sources import source_policy
from vigil.vision.faces.recognizer import default_recognizer
from vigil.web.app import create_app

EXAMPLES = Path("faces-face_recognition") / "examples"
SCREENSHOTS = Path("/tmp")


def _watchlist(photo: Path, settings_dir: Path) -> object:
    def build(db: Session) -> None:
        user = make_user(db, "olive", "operator", trained_for=("live_fr",))
        form = SubjectForm(
            "WARRANT-77", "wanted", "Wanted on warrant for burglary in Penrith", "Warrant 77", date(2030, 1, 1)
        )
        create_subject(db, user=user, form=form)
        settings = make_settings(settings_dir)
        enrol_photos(
            db,
            settings=settings,
            user=user,
            recognizer=default_recognizer(threads=1),
            subject_ref="WARRANT-77",
            photos=[(photo.name, read_photo(photo, max_mb=20))],
        )
        create_watchlist(db, user=user, name="hamilton-night", kind="deployment")
        add_subjects(db, user=user, watchlist_name="hamilton-night", subject_refs=["WARRANT-77"])

    return build


@pytest.mark.browser
@pytest.mark.data
def test_an_operator_confirms_a_pushed_alert_and_the_public_sees_the_results(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    clip, photo = (
        shared_data_dir() / EXAMPLES / "short_hamilton_clip.mp4",
        shared_data_dir() / EXAMPLES / "lin-manuel-miranda.png",
    )
    if not clip.is_file() or not photo.is_file():
        pytest.skip("shared face data absent")
    settings = make_settings(tmp_path / "data", faces={"allow_file_sources": True}, live={"enabled": True})
    app = create_app(settings)
    seed(app, _watchlist(photo, tmp_path / "data"))
    seed(app, lambda db: file_camera(db, clip, code="CORN-N", sources=source_policy(settings)))
    local_now = utcnow().astimezone(settings.zone)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("olive")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.locator(".mainnav summary", has_text="Facial recognition").click()  # the menu groups pages by area
        page.get_by_role("link", name="Live FR").click()

        page.get_by_label("Name").fill("Hamilton night")
        page.get_by_label("Location (public wording)").fill("Penrith, Corn Market")
        page.get_by_label(re.compile(r"^Start")).fill((local_now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label(re.compile(r"^End")).fill((local_now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Alert threshold (similarity 0-1)").fill("0.6")
        page.get_by_label("Authorising officer").fill("Supt A. Example")
        page.get_by_role("checkbox", name=re.compile("CORN-N")).check()  # a registered camera source, not a typed URL
        page.get_by_label("Public notice").fill("Live facial recognition is in use at the Corn Market this evening.")
        page.get_by_role("button", name="Plan deployment").click()
        expect(page.locator(".notice-ok")).to_contain_text("Deployment Hamilton night planned.")

        page.goto(base + "/transparency/facial-recognition")
        expect(page.get_by_role("heading", name="Hamilton night")).to_be_visible()

        page.goto(base + "/fr/deployments")
        page.get_by_role("button", name="Start").click()
        expect(page).to_have_url(re.compile(r"/fr/deployments/1/console$"))
        alert = page.locator("#fr-alerts .fr-alert").first
        expect(alert).to_be_visible(timeout=90_000)  # pushed while the clip plays, no reload
        expect(alert.locator('[data-field="camera"]')).to_have_text("CORN-N")
        stream = page.locator('#fr-streams li[data-camera="CORN-N"]')
        expect(stream.locator('[data-field="state"]')).to_have_text(re.compile("online|offline"), timeout=20_000)
        expect(alert.locator('[data-field="at"]')).to_have_text(re.compile(r"^\d\d:\d\d:\d\d (GMT|BST)$"))
        assert float(alert.locator('[data-field="score"]').inner_text()) >= 0.6
        for which in ("crop", "reference"):  # both faces load through their authorised routes
            images = f"document.querySelectorAll('#fr-alerts img[data-src={which}]')"
            loaded = f"() => [...{images}].some(i => i.naturalWidth)"
            page.wait_for_function(loaded, timeout=10_000)
        page.screenshot(path=str(SCREENSHOTS / "vigil-live-fr-console.png"), full_page=True)
        alert.get_by_label("Note / outcome").fill("Spoke to the person: confirmed on warrant")
        alert.get_by_role("button", name="Confirm").click()
        expect(page.locator(".notice-ok")).to_contain_text("confirmed")
        page.once("dialog", lambda dialog: dialog.accept())  # ending deletes the watchlist data: it asks first
        page.get_by_role("button", name="End deployment").click()
        expect(page.locator(".notice-ok")).to_contain_text("has ended")

        cells = page.locator("tr[data-deployment='1'] td")
        for _ in range(30):  # the camera's worker adds its last count of faces seen when it notices the end
            page.goto(base + "/transparency/facial-recognition")
            faces_seen = int(cells.nth(2).inner_text())
            if faces_seen:
                break
            page.wait_for_timeout(1000)
        alerts, true_alerts, false_alerts = (int(cells.nth(i).inner_text()) for i in (3, 4, 5))
        assert faces_seen >= 1 and true_alerts >= 1 and alerts == true_alerts + false_alerts + 0
        page.screenshot(path=str(SCREENSHOTS / "vigil-live-fr-public.png"), full_page=True)
        assert problems == []
