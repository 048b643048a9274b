"""Live rules in a real browser: an operator draws a zone by clicking on the camera's still and saves the rule;
an alert raised meanwhile reaches the open console by Server-Sent Events, the alarm sounds until the operator
clicks Acknowledge, and the decision is stored and audited; the clip appears on the open console once it is cut."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import make_footage
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.scenes import crossing_scene, write_video
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.db.rule_models import LiveRule, LiveRuleAlert
from vigil.live.rules.alerts import finish_clip, record_alert, snapshot_jpeg, write_snapshot
from vigil.live.rules.engine import Firing
from vigil.web.app import create_app

CASE = "CUM-2026-000505"
WAIT_MS = 20_000


@pytest.mark.browser
def test_an_operator_draws_a_zone_rule_then_acknowledges_its_alert_on_the_console(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    data_dir = app.state.system.settings.data_dir

    def world(db: Session) -> None:
        olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=[CASE])
        camera = make_camera(db, "PEN-01")
        video = write_video(crossing_scene(12), tmp_path / "v.mp4")
        make_footage(db, camera=camera, user=olive, video=video, data_dir=data_dir, frame_count=12)

    seed(app, world)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("olive")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(base + "/", timeout=WAIT_MS)

        page.locator(".mainnav summary", has_text="Live cameras").click()
        page.get_by_role("link", name="Live rules").click()
        page.get_by_label("Camera").select_option("PEN-01")
        page.get_by_role("button", name="Show its picture").click()
        layer = page.locator("#rule-layer")
        expect(page.locator("#rule-view img")).to_have_js_property("complete", True, timeout=WAIT_MS)
        page.get_by_role("button", name="Draw zone").click()
        box = layer.bounding_box()
        assert box is not None
        for fx, fy in ((0.5, 0.1), (0.95, 0.1), (0.95, 0.9), (0.5, 0.9)):
            layer.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
        page.get_by_role("button", name="Finish").click()
        expect(page.locator("#draw-status")).to_contain_text("Zone drawn (4 corners)", timeout=WAIT_MS)
        page.get_by_label("Name").fill("Right half")
        page.get_by_label("Case reference").fill(CASE)
        page.get_by_label("Purpose").fill("watch the right half for the reported burglar")
        page.get_by_role("button", name="Save rule").click()
        expect(page.get_by_role("status").first).to_contain_text("Rule Right half saved", timeout=WAIT_MS)
        expect(page.locator("tr[data-rule]")).to_have_count(1, timeout=WAIT_MS)

        def saved(db: Session) -> tuple[int, str, str, str, list[list[float]]]:
            rule = db.execute(select(LiveRule)).scalar_one()
            polygon = json.loads(rule.geometry)["polygon"]
            return rule.id, rule.kind, rule.camera_code, rule.case.reference, polygon

        rule_id, kind, camera, case, corners = seed(app, saved)
        assert (kind, camera, case) == ("zone_entry", "PEN-01", CASE)
        expected = [(0.5, 0.1), (0.95, 0.1), (0.95, 0.9), (0.5, 0.9)]
        assert np.allclose(corners, expected, atol=0.02)  # where the clicks landed, as shares of the picture

        page.locator(".mainnav summary", has_text="Live cameras").click()
        page.get_by_role("link", name="Alert console").click()
        expect(page.locator("#live-none")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_have_attribute("data-ringing", "0", timeout=WAIT_MS)

        def raise_one(db: Session, track: int = 4) -> int:
            image = np.zeros((120, 160, 3), dtype=np.uint8)
            at = utcnow() - timedelta(seconds=1)
            firing = Firing(rule_id, "zone_entry", 2.0, at, track, ((80, 20, 100, 90),), "entered the zone")
            path = write_snapshot(data_dir, "PEN-01", snapshot_jpeg(image, list(firing.boxes)))
            return record_alert(db, camera_code="PEN-01", firing=firing, snapshot_path=path).id

        alert_id = seed(app, raise_one)  # as a camera worker would: the console hears of it by SSE
        card = page.locator(f'.live-alert[data-alert="{alert_id}"]')
        expect(card).to_be_visible(timeout=WAIT_MS)
        expect(card).to_contain_text("Right half", timeout=WAIT_MS)
        expect(card).to_contain_text("entered the zone (track 4)", timeout=WAIT_MS)
        expect(card).to_contain_text("Clip pending", timeout=WAIT_MS)
        expect(card.locator("img")).to_have_js_property("naturalWidth", 160, timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_have_attribute("data-ringing", "1", timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_contain_text("1 alert waits", timeout=WAIT_MS)

        def clip_cut(db: Session) -> None:  # as the worker does once the segment holding the moment is stored
            target = data_dir / "live-alerts" / "PEN-01" / "clip.mp4"
            shutil.copyfile(tmp_path / "v.mp4", target)
            finish_clip(db, alert_id=alert_id, clip_path="live-alerts/PEN-01/clip.mp4", seconds=1.2)

        seed(app, clip_cut)
        expect(card.locator("video")).to_be_visible(timeout=WAIT_MS)  # pushed to the open console
        clip = page.request.get(base + f"/live/alerts/{alert_id}/clip.mp4")
        assert clip.status == 200 and clip.headers["content-type"] == "video/mp4"

        card.get_by_label("Note on the alert").fill("checked: a shopper")
        card.get_by_role("button", name="Acknowledge").click()
        expect(card).to_have_attribute("data-state", "acknowledged", timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_have_attribute("data-ringing", "0", timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_contain_text("No alerts waiting", timeout=WAIT_MS)

        second = seed(app, lambda db: raise_one(db, track=5))  # another person: escalated for the case
        other = page.locator(f'.live-alert[data-alert="{second}"]')
        expect(other).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_have_attribute("data-ringing", "1", timeout=WAIT_MS)
        other.get_by_label("Note on the alert").fill("matches the burglar's description: passed to the case team")
        other.get_by_role("button", name="Escalate").click()
        expect(other).to_have_attribute("data-state", "escalated", timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_have_attribute("data-ringing", "0", timeout=WAIT_MS)

        third = seed(app, lambda db: raise_one(db, track=6))  # a false alarm: dismissed
        false_alarm = page.locator(f'.live-alert[data-alert="{third}"]')
        expect(false_alarm).to_be_visible(timeout=WAIT_MS)
        false_alarm.get_by_label("Note on the alert").fill("a shadow on the glass, nobody there")
        false_alarm.get_by_role("button", name="Dismiss").click()
        expect(false_alarm).to_have_attribute("data-state", "dismissed", timeout=WAIT_MS)
        expect(page.locator("#alert-sound")).to_have_attribute("data-ringing", "0", timeout=WAIT_MS)
        assert problems == []

    def outcome(db: Session) -> tuple[str, str, str, str, str | None, str]:
        alert = db.get(LiveRuleAlert, alert_id)
        assert alert is not None
        entry = db.execute(select(AuditEntry).where(AuditEntry.action == "live_alert.acknowledge")).scalar_one()
        return alert.state, alert.note, entry.actor, entry.outcome, entry.case_ref, str(entry.subject_id)

    assert seed(app, outcome) == ("acknowledged", "checked: a shopper", "olive", "ok", CASE, str(alert_id))
    states = seed(app, lambda db: {a.id: (a.state, a.note) for a in db.execute(select(LiveRuleAlert)).scalars()})
    assert states[third] == ("dismissed", "a shadow on the glass, nobody there")
    assert states[second][0] == "escalated"
