"""A monitoring-unit operator's shift, end to end, with nothing stood in: the tests' RTSP server loops PETS09 as a
camera, the web server's live supervisor runs a real worker process that records, analyses and runs the rules,
and the operator works in Chromium. They state a purpose and watch the camera wall (live pictures from the
worker), draw a zone on the camera's recorded still, save the rule, and the worker's alert for a person walking
into that zone reaches the open console by Server-Sent Events with its alarm, which stops when they acknowledge.
Screenshots: /tmp/journeys/live_operator/ (tests/journeys/shots.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.journeys.shots import Shots
from tests.live.conftest import RECORDER, live_settings
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.rtsp import rtsp_server
from tests.support.webapp import chromium, seed, serve
from vigil.db.live_models import LiveSegment
from vigil.db.models import AuditEntry
from vigil.db.rule_models import LiveRule, LiveRuleAlert
from vigil.web.app import create_app

pytestmark = [pytest.mark.data, pytest.mark.browser]
CASE = "CUM-2026-000777"
PURPOSE = "watch the square for the reported pickpocket during the market"
WAIT_MS = 60_000


def _world(db: Session) -> None:
    make_user(db, RECORDER, "operator", trained_for=("analytics",))
    make_user(db, "olive", "operator", trained_for=("analytics",), cases=[CASE])
    make_camera(db, "CAM-SQ", pia_review=date.today() + timedelta(days=200))


def _segments(db: Session) -> int:
    return len(db.execute(select(LiveSegment).where(LiveSegment.camera_code == "CAM-SQ")).all())


def test_an_operator_watches_the_wall_draws_a_zone_and_acknowledges_the_workers_alert(
    pets_clip: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    shots = Shots("live_operator")
    with rtsp_server({"pets": pets_clip}) as server:
        settings = live_settings(
            tmp_path / "data", {"CAM-SQ": server.url("pets")}, enabled=True, wall_picture_seconds=0.5
        )
        app = create_app(settings)
        seed(app, _world)
        with serve(app) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(base + "/login")
            page.get_by_label("Username").fill("olive")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).to_have_url(base + "/", timeout=WAIT_MS)

            # The camera wall: purpose first, then the worker's live picture.
            page.locator(".mainnav summary", has_text="Live cameras").click()
            page.get_by_role("link", name="Camera wall").click()
            page.get_by_label("Purpose").fill(PURPOSE)
            page.get_by_label(re.compile("Case reference")).fill(CASE)
            page.get_by_role("button", name="Start watching").click()
            picture = page.locator('figure[data-camera="CAM-SQ"] img')
            expect(picture).to_have_attribute("data-loaded", re.compile(r"^([2-9]|\d\d+)$"), timeout=WAIT_MS)
            assert picture.evaluate("img => img.naturalWidth") > 0
            expect(page.locator('figure[data-camera="CAM-SQ"] [data-field="state"]')).to_have_text("online")
            shots.take(page, "camera-wall")

            # A rule drawn on the still of the latest recorded segment (the worker records 3 s segments).
            for _ in range(60):
                if seed(app, _segments) >= 1:
                    break
                page.wait_for_timeout(1000)
            page.locator(".mainnav summary", has_text="Live cameras").click()
            page.get_by_role("link", name="Live rules").click()
            page.get_by_label("Camera").select_option("CAM-SQ")
            page.get_by_role("button", name="Show its picture").click()
            still = page.locator("#rule-view img")
            expect(still).to_have_js_property("complete", True, timeout=WAIT_MS)
            assert still.evaluate("img => img.naturalWidth") == 480  # the recorded still, not a broken picture
            page.get_by_role("button", name="Draw zone").click()
            layer = page.locator("#rule-layer")
            box = layer.bounding_box()
            assert box is not None
            for fx, fy in ((0.02, 0.35), (0.98, 0.35), (0.98, 0.98), (0.02, 0.98)):  # the square's lower part
                layer.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
            page.get_by_role("button", name="Finish").click()
            expect(page.locator("#draw-status")).to_contain_text("Zone drawn (4 corners)", timeout=WAIT_MS)
            page.get_by_label("Name").fill("Market square")
            page.get_by_label("Case reference").fill(CASE)
            page.get_by_label("Purpose").fill(PURPOSE)
            page.get_by_role("button", name="Save rule").click()
            expect(page.get_by_role("status").first).to_contain_text("Rule Market square saved", timeout=WAIT_MS)
            shots.take(page, "rule-drawn")

            # The console: the worker picks the rule up, a person walks into the zone, the alarm rings.
            page.locator(".mainnav summary", has_text="Live cameras").click()
            page.get_by_role("link", name="Alert console").click()
            card = page.locator(".live-alert").first
            expect(card).to_be_visible(timeout=WAIT_MS)
            expect(card).to_contain_text("Market square", timeout=WAIT_MS)
            expect(page.locator("#alert-sound")).to_have_attribute("data-ringing", "1", timeout=WAIT_MS)
            expect(card.locator("img").first).to_have_js_property("complete", True, timeout=WAIT_MS)
            assert card.locator("img").first.evaluate("img => img.naturalWidth") > 0  # the snapshot with its box
            shots.take(page, "alert-ringing")
            alert_id = int(card.get_attribute("data-alert") or 0)
            card.get_by_label("Note on the alert").fill("checked on the wall: a shopper, not our suspect")
            card.get_by_role("button", name="Acknowledge").click()
            expect(card).to_have_attribute("data-state", "acknowledged", timeout=WAIT_MS)
            shots.take(page, "alert-acknowledged")

            # The rule is renewed, then ended (after the page asks), from the rules page's buttons.
            page.locator(".mainnav summary", has_text="Live cameras").click()
            page.get_by_role("link", name="Live rules").click()
            row = page.locator("tr[data-rule]").first
            row.get_by_label(re.compile("Days until rule")).fill("20")
            row.get_by_role("button", name="Renew").click()
            expect(page.get_by_role("status").first).to_contain_text("renewed", timeout=WAIT_MS)
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator("tr[data-rule]").first.get_by_role("button", name="End").click()
            expect(page.get_by_role("status").first).to_contain_text("ended", timeout=WAIT_MS)
            expect(page.locator("tr[data-rule]")).to_have_count(0, timeout=WAIT_MS)
            assert problems == []

        def outcome(db: Session) -> tuple[str, str, str, list[str]]:
            alert = db.get(LiveRuleAlert, alert_id)
            assert alert is not None
            rule = db.get(LiveRule, alert.rule_id)
            assert rule is not None
            actions = [e.action for e in db.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
            return alert.state, alert.camera_code, rule.case.reference, actions

        state, camera, case, actions = seed(app, outcome)
    assert (state, camera, case) == ("acknowledged", "CAM-SQ", CASE)
    for action in ("live.view.start", "live_alert.acknowledge", "live_rule.renew", "live_rule.end"):
        assert action in actions, actions
    assert any(a.startswith("live_rule.") for a in actions), actions
