"""The live facial-recognition day of a supervisor and an operator, in one real browser (two contexts).

The administrator has registered the camera's live source (their own browser journey is
tests/web/test_live_fr_streams_browser.py; here a file source, allowed for tests only, stands for the camera, seeded
through the same service). The supervisor builds a deployment watchlist on the Watchlists page from a shared face
photo, plans a deployment through the form on that registered camera and starts it. The operator, already at the
Live FR page in a second browser context, opens the console and sees the alert pushed while the stream plays (the
camera shows an empty street first, then the Hamilton clip), types a note and clicks Confirm. The camera's worker is
run by the live supervisor, started here as `vigil live run` would be once the deployment is live (so the street is
empty when the operator opens the console); the worker stores the alert and the console reads it from the database.
The supervisor ends the deployment, accepting the browser's confirmation, and the public transparency page shows the
results with nothing still under review.

Screenshots: /tmp/journeys/supervisor_and_operator_day/NN-step.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import av
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings, shared_data_dir
from tests.faces.live_support import file_camera
from tests.journeys.shots import Shots
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.db.face_models import Alert
from vigil.governance.camera_sources import source_policy
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

EXAMPLES = Path("faces-face_recognition") / "examples"
CAMERA = "CORN-N"
WATCHLIST = "corn-market-evening"
NOTE = "Stopped and spoke to him at the Corn Market: confirmed as the subject of warrant 77"
LEAD_IN_S = 20  # seconds of empty street before the clip: the operator is watching the console before the face
WAIT_MS = 20_000


def street_then_clip(clip: Path, out: Path) -> Path:
    """The camera's view: ``LEAD_IN_S`` seconds of the clip's first frame darkened to an empty grey, then the clip."""
    with av.open(str(clip)) as source, av.open(str(out), "w") as sink:
        frames = [frame.to_ndarray(format="bgr24") for frame in source.decode(video=0)]
        stream = sink.add_stream("libx264", rate=30)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast"}
        empty = (frames[0] // 8).astype(frames[0].dtype)
        for image in [empty] * (30 * LEAD_IN_S) + frames:
            sink.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        sink.mux(stream.encode(None))
    return out


@pytest.mark.browser
@pytest.mark.data
def test_supervisor_and_operator_day(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    clip, photo = (
        shared_data_dir() / EXAMPLES / "short_hamilton_clip.mp4",
        shared_data_dir() / EXAMPLES / "lin-manuel-miranda.png",
    )
    if not clip.is_file() or not photo.is_file():
        pytest.skip("shared face data absent")
    settings = make_settings(tmp_path / "data", faces={"allow_file_sources": True})
    app = create_app(settings)
    camera_view = street_then_clip(clip, tmp_path / "corn-market.mp4")

    def staff(db: Session) -> None:
        make_user(db, "sue", "supervisor", trained_for=("live_fr",))
        make_user(db, "olive", "operator", trained_for=("live_fr",))
        file_camera(db, camera_view, code=CAMERA, sources=source_policy(settings))

    seed(app, staff)
    shots = Shots("supervisor_and_operator_day")
    with serve(app) as base, chromium() as browser:
        problems: list[str] = []
        sue = new_page(browser.new_context(viewport={"width": 1280, "height": 1000}), problems)
        olive = new_page(browser.new_context(viewport={"width": 1280, "height": 1000}), problems)
        log_in(sue, base, "sue")
        build_the_watchlist(sue, photo, shots)
        plan_the_deployment(sue, settings.zone, shots)
        log_in(olive, base, "olive")
        open_live_fr(olive)
        sue.get_by_role("button", name="Start").click()
        expect(sue).to_have_url(re.compile(r"/fr/deployments/1/console$"), timeout=WAIT_MS)
        expect(sue.locator("#fr-status")).to_have_text("live")
        app.state.system.live.start()  # the camera's worker: it plays the camera's view from the empty street

        olive.reload()
        olive.get_by_role("link", name="Console").click()
        expect(olive).to_have_url(re.compile(r"/fr/deployments/1/console$"), timeout=WAIT_MS)
        expect(olive.locator("#fr-none")).to_be_visible()  # the face is not in view yet: no alert on the page
        shots.take(olive, "operator-console-waiting")
        confirm_the_pushed_alert(olive, shots)

        sue.reload()
        sue.once("dialog", lambda dialog: dialog.accept())  # ending deletes the watchlist data: it asks first
        sue.get_by_role("button", name="End deployment").click()
        expect(sue.locator(".notice-ok")).to_contain_text("has ended", timeout=WAIT_MS)
        shots.take(sue, "supervisor-ended")

        row = sue.locator("tr[data-deployment='1']")
        for _ in range(30):  # the worker adds its last count of faces seen when it notices the end
            sue.goto(base + "/transparency/facial-recognition")
            expect(row).not_to_contain_text("still under review")
            cells = [row.locator("td").nth(i).inner_text() for i in range(2, 7)]
            faces_seen, alerts, true_alerts, false_alerts, engaged = (int(cell) for cell in cells)
            if faces_seen:
                break
            sue.wait_for_timeout(1000)
        assert faces_seen >= 1 and alerts >= 1 and (true_alerts, false_alerts, engaged) == (alerts, 0, 0), cells
        shots.take(sue, "transparency")
        assert problems == [], problems

    outcomes = seed(app, lambda db: [(a.outcome, a.outcome_note) for a in db.execute(select(Alert)).scalars()])
    assert outcomes and ("confirmed", NOTE) in outcomes and all(outcome != "pending" for outcome, _ in outcomes)


def new_page(context: BrowserContext, problems: list[str]) -> Page:
    context.set_default_timeout(30_000)  # actions and waits, for a busy machine
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page


def log_in(page: Page, base: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login"), timeout=WAIT_MS)


def open_live_fr(page: Page) -> None:
    page.locator(".mainnav summary", has_text="Facial recognition").click()  # the menu groups pages by area
    page.get_by_role("link", name="Live FR").click()


def build_the_watchlist(page: Page, photo: Path, shots: Shots) -> None:
    """A deployment watchlist, a subject with its authority, and the subject's face enrolled from the photo."""
    from playwright.sync_api import expect

    page.locator(".mainnav summary", has_text="Facial recognition").click()
    page.get_by_role("link", name="Watchlists").click()
    page.get_by_label("New watchlist").fill(WATCHLIST)
    page.get_by_label("Kind").select_option("deployment")
    page.get_by_role("button", name="Create watchlist").click()
    expect(page.locator(".notice-ok")).to_contain_text(WATCHLIST, timeout=WAIT_MS)
    page.locator("#s-reference").fill("WARRANT-77")
    page.locator("#s-category").select_option("wanted")
    page.locator("#s-reason").fill("Wanted on warrant for burglary in Penrith")
    page.locator("#s-authority").fill("Warrant 77, Carlisle Magistrates")
    page.locator("#s-expires").fill((utcnow().date() + timedelta(days=180)).isoformat())
    page.get_by_role("button", name="Add subject").click()
    expect(page.locator(".notice-ok")).to_contain_text("WARRANT-77", timeout=WAIT_MS)
    page.get_by_label("Subject", exact=True).select_option("WARRANT-77")
    page.get_by_label(re.compile(r"^Photo")).set_input_files(str(photo))
    page.get_by_label("Also add to watchlist (optional)").select_option(WATCHLIST)
    page.get_by_role("button", name="Enrol").click()
    expect(page.locator(".notice-ok").filter(has_text="Photo enrolled for WARRANT-77")).to_contain_text(
        f"added to {WATCHLIST}", timeout=WAIT_MS
    )
    expect(page.locator(".notice-error")).to_have_count(0)
    shots.take(page, "watchlist-built")


def plan_the_deployment(page: Page, zone: object, shots: Shots) -> None:
    from playwright.sync_api import expect

    local_now = utcnow().astimezone(zone)  # type: ignore[arg-type]
    open_live_fr(page)
    page.get_by_label("Name").fill("Corn Market evening")
    page.get_by_label("Location (public wording)").fill("Penrith, Corn Market")
    page.get_by_label(re.compile(r"^Start")).fill((local_now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label(re.compile(r"^End")).fill((local_now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Watchlist (built for this deployment)").select_option(WATCHLIST)
    page.get_by_label("Alert threshold (similarity 0-1)").fill("0.6")
    page.get_by_label("Authorising officer").fill("Supt A. Example")
    page.get_by_role("checkbox", name=re.compile(CAMERA)).check()  # a registered camera source, not a typed URL
    page.get_by_label("Public notice").fill("Live facial recognition is in use at the Corn Market this evening.")
    page.get_by_role("button", name="Plan deployment").click()
    expect(page.locator(".notice-ok")).to_contain_text("Deployment Corn Market evening planned.", timeout=WAIT_MS)
    shots.take(page, "deployment-planned")


def confirm_the_pushed_alert(page: Page, shots: Shots) -> None:
    """The alert arrives without a reload; the operator notes and confirms it, then settles any later ones."""
    from playwright.sync_api import expect

    alert = page.locator("#fr-alerts .fr-alert").first
    expect(alert).to_be_visible(timeout=90_000)  # pushed once the face comes into view
    expect(alert.locator('[data-field="camera"]')).to_have_text(CAMERA)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#fr-alerts img[data-src=crop]')].some(i => i.naturalWidth)",
        timeout=WAIT_MS,
    )
    page.wait_for_function(  # the figures follow the pushed alerts, all still awaiting an outcome
        """() => { const n = document.querySelectorAll('#fr-alerts .fr-alert').length;
        return n > 0 && document.getElementById('fr-alert-count').textContent === String(n)
          && document.getElementById('fr-pending-count').textContent === String(n); }""",
        timeout=WAIT_MS,
    )
    shots.take(page, "operator-alert-pushed")
    alert_id = alert.get_attribute("data-alert")
    alert.get_by_label("Note / outcome").fill(NOTE)
    alert.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.locator(".notice-ok")).to_contain_text(f"Alert {alert_id}: confirmed", timeout=WAIT_MS)
    shots.take(page, "operator-confirmed")
    stream = page.locator(f'#fr-streams li[data-camera="{CAMERA}"]')
    # The clip has played out (the file stands for a camera: its worker replays it after a backoff, from the empty
    # street, so no face comes into view while the operator settles the later sightings).
    expect(stream.locator('[data-field="state"]')).to_have_text("offline", timeout=90_000)
    page.reload()
    pending = page.locator("#fr-alerts .fr-alert").filter(
        has=page.locator('[data-field="outcome"]', has_text="pending")
    )
    while pending.count():  # the same face seen again later: the operator confirms each sighting too
        later = pending.first
        later_id = later.get_attribute("data-alert")
        later.get_by_label("Note / outcome").fill("Same person, same stop")
        later.get_by_role("button", name="Confirm", exact=True).click()
        expect(page.locator(".notice-ok")).to_contain_text(f"Alert {later_id}: confirmed", timeout=WAIT_MS)
