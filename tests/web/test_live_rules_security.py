"""Live rules and alerts over HTTP: another case's alert, an untrained user, a too-long expiry and odd or huge
drawings are refused with a clear message, audited where they reach a case, and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.analysed import make_footage, make_track
from tests.support.api import last_entry
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.scenes import crossing_scene, write_video
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from vigil.db.base import utcnow
from vigil.db.models import Case, Footage
from vigil.db.rule_models import LiveRule, LiveRuleAlert
from vigil.live.rules.alerts import record_alert
from vigil.live.rules.engine import Firing
from vigil.live.rules.service import create_rule, parse_request

CASE, OTHER = "CUM-2026-000707", "CUM-2026-000808"
ZONE = {"polygon": [[0.1, 0.1], [0.6, 0.1], [0.6, 0.7]]}


def world(client: TestClient, tmp_path: Path) -> int:
    """Olive's rule on PEN-01 with one alert; Ollie works on another case; Una is not trained."""
    data_dir = client.app.state.system.settings.data_dir  # type: ignore[attr-defined]

    def build(db: Session) -> int:
        olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=[CASE])
        make_user(db, "ollie", "operator", trained_for=("analytics",), cases=[OTHER])
        make_user(db, "una", "operator", cases=[CASE])
        camera = make_camera(db, "PEN-01")
        make_footage(db, camera=camera, user=olive, video=write_video(crossing_scene(12), tmp_path / "v.mp4"),
                     data_dir=data_dir, frame_count=12)  # fmt: skip
        (data_dir / "snap.jpg").write_bytes(b"\xff\xd8\xff\xe0jpeg")
        request = parse_request({"name": "Door", "camera": "PEN-01", "kind": "zone_entry", "days": 5} | ZONE)
        rule = create_rule(db=db, user=olive, request=request, case=CASE, purpose="watch the doorway tonight")
        firing = Firing(rule.id, "zone_entry", 1.0, utcnow(), 3, ((1, 2, 3, 4),), "entered the zone")
        return record_alert(db, camera_code="PEN-01", firing=firing, snapshot_path="snap.jpg").id

    return seed(client.app, build)  # type: ignore[arg-type]


def alert_state(client: TestClient, alert_id: int) -> tuple[str, str]:
    alert = seed(client.app, lambda db: db.get(LiveRuleAlert, alert_id))  # type: ignore[arg-type]
    return alert.state, alert.note


def rules_count(client: TestClient) -> int:
    return seed(client.app, lambda db: db.execute(select(func.count()).select_from(LiveRule)).scalar_one())  # type: ignore[arg-type]


def test_another_cases_alert_is_refused_and_audited(client: TestClient, tmp_path: Path) -> None:
    alert_id = world(client, tmp_path)
    assert log_in(client, "ollie", PASSWORD) == "/"
    console = client.get("/live/alerts")
    assert console.status_code == 200 and f'data-alert="{alert_id}"' not in console.text
    assert client.get(f"/live/alerts/{alert_id}/snapshot.jpg").status_code == 403
    assert last_entry(client, actor="ollie").action == "live_alert.view"
    token = page_csrf(client, "/live/alerts")
    answer = client.post(
        f"/live/alerts/{alert_id}/decide",
        data={"decision": "dismiss", "note": "mine now", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 403 and "not a member of case" in answer.json()["detail"]
    entry = last_entry(client, actor="ollie")
    assert (entry.action, entry.outcome) == ("live_alert.dismiss", "refused")
    form = client.post(
        f"/live/alerts/{alert_id}/decide", data={"decision": "escalate", "note": "x" * 20, "csrf_token": token}
    )
    assert "not a member of case" in " ".join(notices(form.text))
    refused = client.post("/live/rules/1/end", data={"csrf_token": token})
    assert "not a member of case" in " ".join(notices(refused.text))
    assert alert_state(client, alert_id) == ("new", "")
    assert seed(client.app, lambda db: db.get(LiveRule, 1).ended_at) is None  # type: ignore[arg-type,union-attr]


def test_an_untrained_user_cannot_open_the_console_or_make_rules(client: TestClient, tmp_path: Path) -> None:
    world(client, tmp_path)
    assert log_in(client, "una", PASSWORD) == "/"
    assert client.get("/live/alerts").status_code == 403
    assert client.get("/live/alerts/events").status_code == 403
    assert client.get("/live/rules/still/PEN-01.jpg").status_code == 403
    assert last_entry(client, actor="una").outcome == "refused"
    token = page_csrf(client, "/")
    made = client.post(
        "/live/rules",
        data={"camera": "PEN-01", "name": "Mine", "kind": "zone_entry", "geometry": json.dumps(ZONE),
              "days": "3", "case": CASE, "purpose": "watch the doorway tonight", "csrf_token": token},
    )  # fmt: skip
    assert "no current training" in " ".join(notices(made.text))
    assert rules_count(client) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"days": "32"}, "expires within 31 days"),
        ({"days": "1e9"}, "expires within 31 days"),
        ({"geometry": json.dumps({"polygon": [[10, 10], [600, 10], [600, 400]]})}, "less than or equal to 1"),
        ({"geometry": json.dumps({"polygon": [[0.1, 0.1]] * 500})}, "at most 32 items"),
        ({"geometry": "[[0.1, 0.1]"}, "could not be read"),
        ({"geometry": "[1, 2]"}, "could not be read"),
        ({"geometry": "{}"}, "needs a zone"),
        ({"seconds": "soon"}, "must be a number"),
        ({"seconds": "inf"}, "finite number"),
        ({"schedule_days": "Monday"}, "choose the schedule"),
    ],
)
def test_bad_rules_from_the_form_are_refused_clearly_and_store_nothing(
    client: TestClient, tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    world(client, tmp_path)
    assert log_in(client, "olive", PASSWORD) == "/"
    token = page_csrf(client, "/live/rules")
    data = {"camera": "PEN-01", "name": "Door 2", "kind": "zone_entry", "geometry": json.dumps(ZONE), "days": "3",
            "case": CASE, "purpose": "watch the doorway tonight", "csrf_token": token} | changes  # fmt: skip
    answer = client.post("/live/rules", data=data)
    assert answer.status_code == 200 and message in " ".join(notices(answer.text)), notices(answer.text)
    assert rules_count(client) == 1


def test_a_huge_drawing_is_refused_before_it_is_read(client: TestClient, tmp_path: Path) -> None:
    world(client, tmp_path)
    assert log_in(client, "olive", PASSWORD) == "/"
    token = page_csrf(client, "/live/rules")
    huge = json.dumps({"polygon": [[0.5, 0.5]] * 50_000})
    answer = client.post(
        "/live/rules",
        data={"camera": "PEN-01", "name": "Huge", "kind": "zone_entry", "geometry": huge, "days": "3",
              "case": CASE, "purpose": "watch the doorway tonight", "csrf_token": token},
    )  # fmt: skip
    assert answer.status_code == 422 and "geometry: String should have at most 20000 characters" in answer.text
    assert rules_count(client) == 1


def test_footage_held_for_a_case_is_never_shown_as_the_cameras_still(client: TestClient, tmp_path: Path) -> None:
    world(client, tmp_path)

    def hold(db: Session) -> None:
        other = db.execute(select(Case).where(Case.reference == OTHER)).scalar_one()
        for footage in db.execute(select(Footage)).scalars():
            footage.case_id = other.id

    seed(client.app, hold)  # type: ignore[arg-type]
    assert log_in(client, "olive", PASSWORD) == "/"
    assert client.get("/live/rules/still/PEN-01.jpg").status_code == 404
    assert "has no recording yet" in client.get("/live/rules?camera=PEN-01").text


def held_track(client: TestClient, reference: str) -> int:
    """A track of PEN-01's footage, the footage held for case ``reference``."""

    def build(db: Session) -> int:
        footage = db.execute(select(Footage)).scalars().first()
        assert footage is not None
        footage.case_id = db.execute(select(Case.id).where(Case.reference == reference)).scalar_one()
        track = make_track(db, footage, upper="red")
        track.appearance = np.ones(128, dtype=np.float32).tobytes()
        db.flush()
        return track.id

    return seed(client.app, build)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user", "changes", "message"),
    [
        ("olive", {"kind": "similar_watch", "track": "OTHER"}, "held for another case"),
        ("ollie", {"description": "red top"}, "not a member"),
        ("una", {"description": "red top"}, "no current training"),
        ("olive", {"description": "xyzzy plugh"}, "found nothing to look for"),
        ("olive", {"description": "who is this man in a red top"}, "identif"),
    ],
)
def test_watches_from_the_form_that_must_not_be_made_are_refused_audited_and_store_nothing(
    client: TestClient, tmp_path: Path, user: str, changes: dict[str, str], message: str
) -> None:
    world(client, tmp_path)
    if changes.get("track") == "OTHER":
        changes = changes | {"track": str(held_track(client, OTHER))}
    assert log_in(client, user, PASSWORD) == "/"
    token = page_csrf(client, "/")
    data = {"name": "Robber", "kind": "appearance_watch", "cameras": ["PEN-01"], "days": "3", "case": CASE,
            "purpose": "look out for the reported robber", "csrf_token": token} | changes  # fmt: skip
    answer = client.post("/live/rules/watch", data=data)  # back on the rules page (403 for the untrained)
    assert message in " ".join(notices(answer.text)), notices(answer.text)
    assert rules_count(client) == 1  # only the world's rule
    if message != "found nothing to look for":
        assert last_entry(client, actor=user).outcome == "refused"
