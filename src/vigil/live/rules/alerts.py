"""Alerts of live rules: raised by camera workers, shown on the operator console, decided by a person.

An alert is a candidate for a person to check, never an identification: it says a rule's geometry and timing
were met by a track, not who anyone is. Workers write the snapshot file before the short write that stores the
alert; clips are cut from the recording once the segment holding the moment has been ingested (``clip_state``
``pending`` until then). Operators acknowledge, dismiss or escalate an alert with a note, each audited; an
escalated alert is kept for its rule's case, the others go after ``retention.live_rule_alert_days``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.live_models import LiveSegment
from vigil.db.models import Case, Footage, User
from vigil.db.rule_models import LiveRule, LiveRuleAlert
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise
from vigil.governance.audit import SYSTEM_ACTOR, AuditContext
from vigil.governance.cases import reachable_case_ids
from vigil.governance.retention import DueItems
from vigil.governance.roles import Capability, Permission, role_has_permission
from vigil.live.rules.clips import SegmentFile
from vigil.live.rules.engine import Firing
from vigil.live.rules.service import reach_rule

ALERT_DIR = "live-alerts"
CLIP_BEFORE = timedelta(seconds=4)
CLIP_AFTER = timedelta(seconds=6)
DECISIONS = {"acknowledge": "acknowledged", "dismiss": "dismissed", "escalate": "escalated"}
MAX_NOTE = 2000
NOT_IDENTIFICATION = "A candidate for a person to check, never an identification."


def snapshot_jpeg(image: npt.NDArray[np.uint8], boxes: list[tuple[float, float, float, float]]) -> bytes:
    """The frame with the alert's boxes drawn, as JPEG."""
    picture = image.copy()
    thickness = max(2, round(max(picture.shape[:2]) / 300))
    for x1, y1, x2, y2 in boxes:
        cv2.rectangle(picture, (round(x1), round(y1)), (round(x2), round(y2)), (0, 0, 255), thickness)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("the snapshot could not be encoded")
    return bytes(encoded.tobytes())


def write_snapshot(data_dir: Path, camera_code: str, jpeg: bytes) -> str:
    """Store a snapshot; return its path relative to the data folder."""
    relative = Path(ALERT_DIR) / camera_code / f"{uuid.uuid4().hex}.jpg"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(jpeg)
    return relative.as_posix()


def record_alert(
    db: Session, *, camera_code: str, firing: Firing, snapshot_path: str | None, recorded: bool = True
) -> LiveRuleAlert:
    """Store a rule's firing (the camera worker's short write); audited as raised by the system."""
    alert = LiveRuleAlert(
        rule_id=firing.rule_id,
        camera_code=camera_code,
        at=firing.at,
        track_id=firing.track_id,
        summary=firing.summary,
        boxes=json.dumps([list(b) for b in firing.boxes]),
        snapshot_path=snapshot_path,
        clip_state="pending" if recorded else "unavailable",
        state="new",
        note="",
        kept_for_case=False,
    )
    db.add(alert)
    db.flush()
    audit.record(
        db,
        actor=SYSTEM_ACTOR,
        action="live_alert.raised",
        subject_type="live_alert",
        subject_id=alert.id,
        details={"rule": firing.rule_id, "camera": camera_code, "track": firing.track_id, "kind": firing.kind},
    )
    return alert


# -- clips --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipJob:
    alert_id: int
    start: datetime
    end: datetime
    segments: list[SegmentFile]
    """Empty: nothing was recorded at the moment (the clip is unavailable)."""


def clip_jobs(db: Session, *, data_dir: Path, camera_code: str, now: datetime, wait: timedelta) -> list[ClipJob]:
    """Pending clips of the camera that can be cut now: the recording covers the clip's end, or ``wait`` has
    passed since it (then whatever was recorded is cut, or nothing if nothing was). Read-only."""
    stmt = select(LiveRuleAlert).where(LiveRuleAlert.camera_code == camera_code, LiveRuleAlert.clip_state == "pending")
    jobs = []
    for alert in db.execute(stmt.order_by(LiveRuleAlert.id).limit(20)).scalars():
        start, end = alert.at - CLIP_BEFORE, alert.at + CLIP_AFTER
        rows = db.execute(
            select(LiveSegment, Footage)
            .join(Footage, Footage.id == LiveSegment.footage_id)
            .where(LiveSegment.camera_code == camera_code, LiveSegment.ended_at > start, LiveSegment.started_at < end)
            .order_by(LiveSegment.started_at)
        ).all()
        covered = bool(rows) and rows[-1][0].ended_at >= end
        if covered or now - end > wait:
            files = [SegmentFile(data_dir / footage.stored_path, segment.started_at) for segment, footage in rows]
            jobs.append(ClipJob(alert.id, start, end, files))
    return jobs


def clip_target(data_dir: Path, camera_code: str, alert_id: int) -> tuple[Path, str]:
    relative = Path(ALERT_DIR) / camera_code / f"alert-{alert_id}-{uuid.uuid4().hex[:8]}.mp4"
    return data_dir / relative, relative.as_posix()


def finish_clip(db: Session, *, alert_id: int, clip_path: str | None, seconds: float) -> None:
    alert = db.get(LiveRuleAlert, alert_id)
    if alert is None:  # deleted by retention meanwhile
        return
    alert.clip_path, alert.clip_seconds = clip_path, seconds
    alert.clip_state = "ready" if clip_path else "unavailable"
    db.flush()


# -- the console --------------------------------------------------------------------------------------------


def require_console(db: Session, *, user: User, action: str = "live_alert.console") -> None:
    """Refuse (audited) anyone without the analytics capability and current training."""
    authorise(db, user=user, capability=Capability.ANALYTICS, action=action, context=None, context_required=False)


def console_alerts(
    db: Session, *, user: User, camera: str = "", after_id: int = 0, limit: int = 100, open_only: bool = False
) -> list[LiveRuleAlert]:
    """Alerts of the rules of cases ``user`` may reach (all for a supervisor), newest first. Read-only: the
    caller audits opening the console (:func:`open_console`), not each poll."""
    stmt = select(LiveRuleAlert).join(LiveRule, LiveRule.id == LiveRuleAlert.rule_id)
    if not role_has_permission(user.role, Permission.MANAGE_CASES):
        stmt = stmt.where(LiveRule.case_id.in_(reachable_case_ids(db, user=user)))
    if camera:
        stmt = stmt.where(LiveRuleAlert.camera_code == camera.strip().upper())
    if after_id:
        stmt = stmt.where(LiveRuleAlert.id > after_id)
    if open_only:
        stmt = stmt.where(LiveRuleAlert.state == "new")
    return list(db.execute(stmt.order_by(LiveRuleAlert.id.desc()).limit(limit)).scalars())


def finished_clips(db: Session, *, user: User, ids: list[int]) -> dict[int, str]:
    """Of the alerts ``ids`` (whose clips were pending), those ``user`` may see whose clip is now cut or will never
    be: id -> ``ready`` or ``unavailable``. Read-only, for the console's updates."""
    if not ids:
        return {}
    stmt = (
        select(LiveRuleAlert.id, LiveRuleAlert.clip_state)
        .join(LiveRule, LiveRule.id == LiveRuleAlert.rule_id)
        .where(LiveRuleAlert.id.in_(ids[:200]), LiveRuleAlert.clip_state != "pending")
    )
    if not role_has_permission(user.role, Permission.MANAGE_CASES):
        stmt = stmt.where(LiveRule.case_id.in_(reachable_case_ids(db, user=user)))
    return {alert_id: state for alert_id, state in db.execute(stmt).all()}


def open_console(db: Session, *, user: User, camera: str, via: str) -> list[LiveRuleAlert]:
    """Open the operator console (audited): the latest alerts the user may see."""
    require_console(db, user=user)
    alerts = console_alerts(db, user=user, camera=camera)
    audit.record(
        db,
        actor=user.username,
        action="live_alert.console",
        capability=Capability.ANALYTICS.value,
        details={"camera": camera or "all", "shown": len(alerts), "via": via},
    )
    return alerts


def reach_alert(db: Session, *, user: User, alert_id: int, action: str) -> LiveRuleAlert:
    """The alert, if ``user`` may reach its rule's case (refusals audited)."""
    alert = db.get(LiveRuleAlert, alert_id)
    if alert is None:
        raise NotFound(f"there is no alert {alert_id}")
    reach_rule(db, user=user, rule_id=alert.rule_id, action=action)
    return alert


def decide_alert(*, db: Session, user: User, alert_id: int, decision: str, note: str) -> LiveRuleAlert:
    """Acknowledge, dismiss or escalate an alert with a note (audited); escalating keeps it for the case."""
    if decision not in DECISIONS:
        raise InvalidInput(f"choose one of {', '.join(DECISIONS)}")
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is limited to {MAX_NOTE} characters")
    if decision == "escalate" and len(note) < 5:
        raise InvalidInput("say why the alert is escalated (a note of at least 5 characters)")
    alert = reach_alert(db, user=user, alert_id=alert_id, action=f"live_alert.{decision}")
    now = utcnow()
    alert.state, alert.note, alert.decided_by_id, alert.decided_at = DECISIONS[decision], note, user.id, now
    alert.kept_for_case = alert.kept_for_case or decision == "escalate"
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action=f"live_alert.{decision}",
        capability=Capability.ANALYTICS.value,
        context=AuditContext(case_ref=alert.rule.case.reference, purpose=alert.rule.purpose),
        subject_type="live_alert",
        subject_id=alert.id,
        details={"rule": alert.rule_id, "camera": alert.camera_code, "note": note},
        now=now,
    )
    return alert


def alert_file(db: Session, *, user: User, alert_id: int, which: str, data_dir: Path) -> Path:
    """The snapshot or clip of an alert the user may reach (the view is audited)."""
    alert = reach_alert(db, user=user, alert_id=alert_id, action="live_alert.view")
    stored = alert.snapshot_path if which == "snapshot" else alert.clip_path if which == "clip" else None
    if stored is None:
        pending = " yet (clip pending)" if which == "clip" and alert.clip_state == "pending" else ""
        raise NotFound(f"alert {alert_id} has no {which}{pending}")
    root = data_dir.resolve()
    path = (root / stored).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"the {which} of alert {alert_id} is missing")
    audit.record(
        db,
        actor=user.username,
        action="live_alert.view",
        capability=Capability.ANALYTICS.value,
        context=AuditContext(case_ref=alert.rule.case.reference, purpose=alert.rule.purpose),
        subject_type="live_alert",
        subject_id=alert.id,
        details={"which": which},
    )
    return path


def alert_json(alert: LiveRuleAlert) -> dict[str, Any]:
    """What the console shows of an alert (pushed as a Server-Sent Event)."""
    return {
        "id": alert.id,
        "rule": alert.rule.name,
        "rule_id": alert.rule_id,
        "kind": alert.rule.kind.replace("_", " "),
        "camera": alert.camera_code,
        "at": alert.at.isoformat(),
        "track": alert.track_id,
        "summary": alert.summary,
        "state": alert.state,
        "clip_state": alert.clip_state,
        "case": alert.rule.case.reference,
    }


# -- retention ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleAlertRetention:
    """Alerts of live rules older than the policy, unless escalated and kept for a case that is open or retained."""

    data_dir: Path
    days: float
    data_class: str = "live_rule_alerts"

    def find_due(self, db: Session, *, now: datetime) -> DueItems:
        cutoff = now - timedelta(days=self.days)
        held = (
            select(LiveRule.id)
            .join(Case, Case.id == LiveRule.case_id)
            .where(or_(Case.closed_at.is_(None), Case.retain_until >= now.date()))
        )
        stmt = select(LiveRuleAlert.id, LiveRuleAlert.snapshot_path, LiveRuleAlert.clip_path).where(
            LiveRuleAlert.at < cutoff, or_(~LiveRuleAlert.kept_for_case, LiveRuleAlert.rule_id.not_in(held))
        )
        rows = db.execute(stmt).all()
        paths = tuple(self.data_dir / p for _, snap, clip in rows for p in (snap, clip) if p)
        return DueItems(self.data_class, f"{self.days:g} days", tuple(r[0] for r in rows), paths)

    def delete_rows(self, db: Session, due: DueItems) -> None:
        for alert in db.execute(select(LiveRuleAlert).where(LiveRuleAlert.id.in_(due.row_ids))).scalars():
            db.delete(alert)
