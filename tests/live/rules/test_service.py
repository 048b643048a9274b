"""Stored live rules and their alerts: who may create, end and decide them, and what bad input gets.

Attacks are replayed against the real services on real databases: each refusal is checked to be refused, audited
and without effect (nothing stored, nothing changed).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, User
from vigil.db.rule_models import LiveRule, LiveRuleAlert
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.live.rules.alerts import (
    RuleAlertRetention,
    alert_file,
    console_alerts,
    decide_alert,
    finish_clip,
    finished_clips,
    record_alert,
)
from vigil.live.rules.engine import Firing
from vigil.live.rules.service import active_specs, create_rule, end_rule, list_rules, parse_request, renew_rule

CASE, OTHER = "CUM-2026-000101", "CUM-2026-000202"
PURPOSE = "watch the doorway for the reported burglar"
ZONE = [[0.1, 0.1], [0.6, 0.1], [0.6, 0.7], [0.1, 0.7]]


def zone_rule(**changes: Any) -> dict[str, Any]:
    return {"name": "Doorway", "camera": "PEN-01", "kind": "zone_entry", "polygon": ZONE, "days": 7} | changes


@pytest.fixture
def people(db: Session) -> dict[str, User]:
    olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=[CASE])
    ollie = make_user(db, "ollie", "operator", trained_for=("analytics",), cases=[OTHER])
    una = make_user(db, "una", "operator", cases=[CASE])  # not trained
    make_camera(db, "PEN-01")
    return {"olive": olive, "ollie": ollie, "una": una}


def rules_count(db: Session) -> int:
    return db.execute(select(func.count()).select_from(LiveRule)).scalar_one()


def refusals(db: Session, actor: str) -> list[tuple[str, str]]:
    rows = db.execute(select(AuditEntry).where(AuditEntry.actor == actor, AuditEntry.outcome == "refused"))
    return [(e.action, e.outcome) for e in rows.scalars()]


def test_a_trained_member_of_the_case_creates_a_rule_the_worker_runs(db: Session, people: dict[str, User]) -> None:
    weekdays = [{"days": [0, 1], "start": "08:00", "end": "18:00"}]
    request = parse_request(zone_rule(classes=["person", "car"], schedule=weekdays))
    rule = create_rule(db=db, user=people["olive"], request=request, case=CASE, purpose=PURPOSE)
    assert rule.case.reference == CASE and rule.owner.username == "olive" and rule.purpose == PURPOSE
    assert timedelta(days=6.99) < rule.expires_at - utcnow() <= timedelta(days=7)
    assert json.loads(rule.geometry) == {"polygon": ZONE}
    [spec] = active_specs(db, camera_code="PEN-01", now=utcnow(), zone="Europe/London")
    assert spec.rule_id == rule.id and spec.classes == frozenset({0, 2}) and len(spec.schedule.windows) == 1
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "live_rule.create")).scalar_one()
    assert entry.actor == "olive" and entry.case_ref == CASE and entry.outcome == "ok"
    assert [r.id for r in list_rules(db=db, user=people["olive"])] == [rule.id]
    assert list_rules(db=db, user=people["ollie"]) == []  # another case's rules are not listed


def test_an_untrained_user_is_refused_and_nothing_is_stored(db: Session, people: dict[str, User]) -> None:
    with pytest.raises(NotPermitted, match="no current training"):
        create_rule(db=db, user=people["una"], request=parse_request(zone_rule()), case=CASE, purpose=PURPOSE)
    assert rules_count(db) == 0
    assert refusals(db, "una") == [("live_rule.create", "refused")]


def test_a_rule_for_a_case_the_user_does_not_hold_is_refused(db: Session, people: dict[str, User]) -> None:
    with pytest.raises(NotPermitted, match="not a member of case"):
        create_rule(db=db, user=people["ollie"], request=parse_request(zone_rule()), case=CASE, purpose=PURPOSE)
    assert rules_count(db) == 0
    assert refusals(db, "ollie") == [("live_rule.create", "refused")]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"days": 32}, "expires within 31 days"),
        ({"days": 365}, "expires within 31 days"),
        ({"days": 0}, "expires within 31 days"),
        ({"polygon": [[0.1, 0.1]] * 10_000}, "at most 32 items"),
        ({"polygon": [[0.1, 0.1], [1.5, 0.2], [0.3, 0.9]]}, "less than or equal to 1"),
        ({"polygon": [[0.1, 0.1], [-3, 0.2], [0.3, 0.9]]}, "greater than or equal to 0"),
        ({"polygon": [[0.1, 0.1], [float("nan"), 0.2], [0.3, 0.9]]}, "finite number"),
        ({"polygon": [[0.1, 0.1], [0.5, 0.5]]}, "at least 3 corners"),
        ({"polygon": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]}, "too small or its corners lie on one line"),
        ({"polygon": "a square please"}, "polygon"),
        ({"polygon": None}, "needs a zone"),
        ({"kind": "line_crossing", "line": [[0.2, 0.2], [0.2, 0.2]]}, "same place"),
        ({"kind": "line_crossing", "line": [[0.2, 0.2], [0.4, 0.2], [0.6, 0.2]]}, "line"),
        ({"kind": "loitering"}, "time T greater than 0"),
        ({"kind": "teleport"}, "kind"),
        ({"classes": ["dragon"]}, "unknown classes dragon"),
        ({"pixels": [[640, 480]]}, "Extra inputs are not permitted"),
        ({"schedule": [{"days": [0], "start": "18:00", "end": "08:00"}]}, "end after it starts"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message_and_nothing_stored(
    db: Session, people: dict[str, User], changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        request = parse_request(zone_rule(**changes))
        create_rule(db=db, user=people["olive"], request=request, case=CASE, purpose=PURPOSE)
    assert rules_count(db) == 0


def test_another_cases_rule_cannot_be_ended_or_renewed(db: Session, people: dict[str, User]) -> None:
    rule = create_rule(db=db, user=people["olive"], request=parse_request(zone_rule()), case=CASE, purpose=PURPOSE)
    expires = rule.expires_at
    for attempt in (lambda: end_rule(db=db, user=people["ollie"], rule_id=rule.id),
                    lambda: renew_rule(db=db, user=people["ollie"], rule_id=rule.id, days=30)):  # fmt: skip
        with pytest.raises(NotPermitted):
            attempt()
    db.refresh(rule)
    assert rule.ended_at is None and rule.expires_at == expires
    assert refusals(db, "ollie") == [("live_rule.end", "refused"), ("live_rule.renew", "refused")]
    with pytest.raises(InvalidInput, match="within 31 days"):
        renew_rule(db=db, user=people["olive"], rule_id=rule.id, days=40)
    end_rule(db=db, user=people["olive"], rule_id=rule.id)
    assert active_specs(db, camera_code="PEN-01", now=utcnow(), zone="UTC") == []


def raise_alert(db: Session, rule: LiveRule, tmp_path: Path, *, days_ago: float = 0) -> LiveRuleAlert:
    (tmp_path / "snap.jpg").write_bytes(b"\xff\xd8jpeg")
    firing = Firing(rule.id, "zone_entry", 3.0, utcnow() - timedelta(days=days_ago), 7, ((1, 2, 3, 4),), "entered")
    return record_alert(db, camera_code="PEN-01", firing=firing, snapshot_path="snap.jpg")


def test_another_cases_alert_cannot_be_seen_or_decided(db: Session, people: dict[str, User], tmp_path: Path) -> None:
    rule = create_rule(db=db, user=people["olive"], request=parse_request(zone_rule()), case=CASE, purpose=PURPOSE)
    alert = raise_alert(db, rule, tmp_path)
    finish_clip(db, alert_id=alert.id, clip_path=None, seconds=0)
    assert console_alerts(db, user=people["ollie"]) == []
    assert finished_clips(db, user=people["ollie"], ids=[alert.id]) == {}
    assert finished_clips(db, user=people["olive"], ids=[alert.id]) == {alert.id: "unavailable"}
    with pytest.raises(NotPermitted):
        decide_alert(db=db, user=people["ollie"], alert_id=alert.id, decision="dismiss", note="not mine")
    with pytest.raises(NotPermitted):
        alert_file(db, user=people["ollie"], alert_id=alert.id, which="snapshot", data_dir=tmp_path)
    db.refresh(alert)
    assert alert.state == "new" and alert.note == "" and alert.decided_by_id is None
    assert refusals(db, "ollie") == [("live_alert.dismiss", "refused"), ("live_alert.view", "refused")]


def test_operators_decide_alerts_with_a_note_and_each_decision_is_audited(
    db: Session, people: dict[str, User], tmp_path: Path
) -> None:
    rule = create_rule(db=db, user=people["olive"], request=parse_request(zone_rule()), case=CASE, purpose=PURPOSE)
    alert = raise_alert(db, rule, tmp_path)
    assert [a.id for a in console_alerts(db, user=people["olive"], open_only=True)] == [alert.id]
    assert alert_file(db, user=people["olive"], alert_id=alert.id, which="snapshot", data_dir=tmp_path).is_file()
    with pytest.raises(InvalidInput, match="say why"):
        decide_alert(db=db, user=people["olive"], alert_id=alert.id, decision="escalate", note="")
    with pytest.raises(InvalidInput, match="choose one of"):
        decide_alert(db=db, user=people["olive"], alert_id=alert.id, decision="delete", note="")
    note = "man at the door, call it in"
    decide_alert(db=db, user=people["olive"], alert_id=alert.id, decision="escalate", note=note)
    assert alert.state == "escalated" and alert.kept_for_case and alert.note == note
    actions = db.execute(select(AuditEntry.action).where(AuditEntry.actor == "olive").order_by(AuditEntry.seq))
    assert [a for a in actions.scalars() if a.startswith("live_alert")] == ["live_alert.view", "live_alert.escalate"]


def test_alert_retention_keeps_escalated_alerts_of_open_cases(
    db: Session, people: dict[str, User], tmp_path: Path
) -> None:
    rule = create_rule(db=db, user=people["olive"], request=parse_request(zone_rule()), case=CASE, purpose=PURPOSE)
    old, kept, recent = (raise_alert(db, rule, tmp_path, days_ago=d) for d in (40, 40, 2))
    decide_alert(db=db, user=people["olive"], alert_id=kept.id, decision="escalate", note="for the file")
    rule_ = RuleAlertRetention(data_dir=tmp_path, days=31)
    due = rule_.find_due(db, now=utcnow())
    assert due.row_ids == (old.id,) and due.paths == (tmp_path / "snap.jpg",)
    rule_.delete_rows(db, due)
    db.flush()
    remaining = set(db.execute(select(LiveRuleAlert.id)).scalars())
    assert remaining == {kept.id, recent.id}


def test_a_rule_on_a_retired_or_unknown_camera_is_refused(db: Session, people: dict[str, User]) -> None:
    make_camera(db, "OLD-01").is_active = False
    for camera, message in (("OLD-01", "is retired"), ("NOPE-9", "no camera with code")):
        with pytest.raises((InvalidInput, NotFound), match=message):
            request = parse_request(zone_rule(camera=camera))
            create_rule(db=db, user=people["olive"], request=request, case=CASE, purpose=PURPOSE)
    assert rules_count(db) == 0
