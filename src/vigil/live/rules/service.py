"""Stored live rules: create, list, renew and end them; the camera workers read the active ones.

Every rule needs the analytics capability with current training, a case the user may reach, a stated purpose, an
owner (its creator) and an expiry at most 31 days ahead (renewable by anyone who may reach the case). Geometry is
drawn on a still of the camera in the browser and arrives normalised to 0..1; anything else is refused with a
clear message before anything is stored. Services flush; the caller commits.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, time, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Case, User
from vigil.db.rule_models import LiveRule
from vigil.domain.detections import COCO_CLASSES
from vigil.domain.vocabulary import TRACKED_CLASSES
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise, make_context, reach_case
from vigil.governance.audit import AuditContext
from vigil.governance.cameras.register import get_camera
from vigil.governance.cases import reachable_case_ids
from vigil.governance.roles import Capability, Permission, role_has_permission
from vigil.live.rules.engine import KINDS, ZONE_KINDS, Crossing, Kind, RuleSpec, Schedule, Window

MAX_DAYS = 31
WATCH_KINDS: tuple[str, ...] = ("appearance_watch", "similar_watch")
"""Rules that are searches over the live tracks (evaluated by :mod:`vigil.watch`, not by the camera workers)."""
MAX_CORNERS = 32
MIN_AREA = 0.0005  # of the picture: smaller is a slip of the mouse, not a zone
RULE_CLASSES: tuple[str, ...] = tuple(COCO_CLASSES[i] for i in TRACKED_CLASSES)

Coordinate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Point = tuple[Coordinate, Coordinate]


Request = TypeVar("Request", bound=BaseModel)


class WindowSpec(BaseModel):
    """A weekly window a rule is armed in (local time of the force)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[Annotated[int, Field(ge=0, le=6)], ...] = Field(
        min_length=1, max_length=7, description="Days of the week, 0 = Monday ... 6 = Sunday."
    )
    start: time = Field(description="Start time of day (HH:MM), local.")
    end: time = Field(description="End time of day (HH:MM), local; after the start.")

    @model_validator(mode="after")
    def _ordered(self) -> WindowSpec:
        if self.end <= self.start:
            raise ValueError("a schedule window must end after it starts (split one across midnight in two)")
        return self


class RuleRequest(BaseModel):
    """A live rule as drawn and described by its owner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80, description="Short name operators see on alerts.")
    camera: str = Field(min_length=1, max_length=64, description="Code of the force camera the rule watches.")
    kind: Kind = Field(description="zone_entry, line_crossing, loitering, occupancy or left_behind.")
    polygon: tuple[Point, ...] | None = Field(
        None, max_length=MAX_CORNERS, description="Zone corners (x, y), 0..1 of the picture (zone rules)."
    )
    line: tuple[Point, Point] | None = Field(None, description="Line ends (x, y), 0..1 of the picture.")
    direction: Crossing = Field("either", description="Crossing direction, as seen from the first end.")
    classes: tuple[str, ...] = Field(
        ("person",), min_length=1, max_length=12, description="Kinds of object the rule watches."
    )
    seconds: float = Field(0, ge=0, le=86_400, allow_inf_nan=False, description="T: how long (s) before it fires.")
    count: int = Field(0, ge=0, le=1000, description="N: occupancy fires when more than N are in the zone.")
    radius: float = Field(0.1, gt=0, le=1, allow_inf_nan=False, description="Left behind: nobody this near.")
    cooldown_s: float = Field(30, ge=0, le=3600, allow_inf_nan=False, description="Quiet time per track (s).")
    schedule: tuple[WindowSpec, ...] = Field((), max_length=14, description="When it is armed; empty: always.")
    days: float = Field(description="Days until it expires (at most 31; renewable).", allow_inf_nan=False)

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in RULE_CLASSES]
        if unknown:
            raise ValueError(f"unknown classes {', '.join(unknown)}: use {', '.join(RULE_CLASSES)}")
        return value

    @field_validator("days")
    @classmethod
    def _expiry(cls, value: float) -> float:
        return within_max_days(value, "rule")

    @model_validator(mode="after")
    def _shape(self) -> RuleRequest:
        if self.kind in ZONE_KINDS and self.polygon is None:
            raise ValueError(f"a {self.kind.replace('_', ' ')} rule needs a zone: draw it on the picture")
        if self.kind == "line_crossing" and self.line is None:
            raise ValueError("a line crossing rule needs a line: draw it on the picture")
        if self.polygon is not None:
            _check_polygon(self.polygon)
        if self.line is not None and math.dist(*self.line) < 0.01:
            raise ValueError("the line's two ends are at the same place: draw a longer line")
        if self.kind in ("loitering", "occupancy", "left_behind") and self.seconds <= 0:
            raise ValueError(f"a {self.kind.replace('_', ' ')} rule needs a time T greater than 0 seconds")
        return self


def _check_polygon(polygon: tuple[Point, ...]) -> None:
    if len(polygon) < 3:
        raise ValueError("a zone needs at least 3 corners")
    closed = zip(polygon, (*polygon[1:], polygon[0]), strict=True)
    area = 0.5 * abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in closed))
    if area < MIN_AREA:
        raise ValueError("the zone is too small or its corners lie on one line: draw it again")


def parse_request(data: dict[str, Any]) -> RuleRequest:
    """A rule request from a form or the command line, or InvalidInput with the first problem in plain words."""
    return validated(RuleRequest, data)


def validated(model: type[Request], data: dict[str, Any]) -> Request:
    """``data`` as a ``model`` (a rule's or a watch's request), or InvalidInput naming the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {message}" if where else message) from None


def within_max_days(days: float, what: str) -> float:
    """``days`` until a rule or watch expires, or ValueError: at most MAX_DAYS (renewable)."""
    if not 0 < days <= MAX_DAYS:
        raise ValueError(f"a {what} expires within {MAX_DAYS} days (renew it to keep it longer), not {days:g}")
    return days


def _context(case: str, purpose: str) -> AuditContext:
    return make_context(case, purpose)


def create_rule(*, db: Session, user: User, request: RuleRequest, case: str, purpose: str) -> LiveRule:
    """Store a rule for ``case`` (audited), after checking capability, training, case and camera."""
    context = _context(case, purpose)
    authorise(db, user=user, capability=Capability.ANALYTICS, action="live_rule.create", context=context)
    camera = get_camera(db, request.camera)
    if not camera.is_active:
        raise InvalidInput(f"camera {camera.code} is retired: rules watch cameras in service")
    held = db.execute(select(Case).where(Case.reference == context.case_ref)).scalar_one()
    now = utcnow()
    geometry: dict[str, Any] = {}
    if request.polygon is not None:
        geometry["polygon"] = [list(p) for p in request.polygon]
    if request.line is not None:
        geometry["line"], geometry["direction"] = [list(p) for p in request.line], request.direction
    params = request.model_dump(mode="json", include={"classes", "seconds", "count", "radius", "cooldown_s"})
    params["schedule"] = [w.model_dump(mode="json") for w in request.schedule]
    rule = LiveRule(
        name=request.name.strip(),
        camera_code=camera.code,
        kind=request.kind,
        geometry=json.dumps(geometry),
        params=json.dumps(params),
        case_id=held.id,
        purpose=context.purpose,
        owner_id=user.id,
        created_at=now,
        expires_at=now + timedelta(days=request.days),
    )
    db.add(rule)
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="live_rule.create",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="live_rule",
        subject_id=rule.id,
        details={"camera": camera.code, "kind": rule.kind, "name": rule.name, "expires": rule.expires_at.isoformat()},
        now=now,
    )
    return rule


def reach_rule(db: Session, *, user: User, rule_id: int, action: str) -> LiveRule:
    """The rule, if ``user`` is trained for analytics and may reach its case (refusals audited)."""
    rule = db.get(LiveRule, rule_id)
    if rule is None:
        raise NotFound(f"there is no live rule {rule_id}")
    context = AuditContext(case_ref=rule.case.reference, purpose=rule.purpose)
    authorise(db, user=user, capability=Capability.ANALYTICS, action=action, context=None, context_required=False)
    reach_case(db, user=user, context=context, action=action, capability=Capability.ANALYTICS.value)
    return rule


def end_rule(*, db: Session, user: User, rule_id: int) -> LiveRule:
    """End a rule now (it stops firing at the workers' next reload, within seconds); audited."""
    rule = reach_rule(db, user=user, rule_id=rule_id, action="live_rule.end")
    now = utcnow()
    if rule.ended_at is None:
        rule.ended_at = now
    _audit(db, user=user, rule=rule, action="live_rule.end", now=now)
    return rule


def renew_rule(*, db: Session, user: User, rule_id: int, days: float) -> LiveRule:
    """Set a rule's expiry ``days`` from now (at most 31); an ended rule cannot be renewed; audited."""
    if not 0 < days <= MAX_DAYS:
        raise InvalidInput(f"a rule expires within {MAX_DAYS} days (renew it again later), not {days:g}")
    rule = reach_rule(db, user=user, rule_id=rule_id, action="live_rule.renew")
    now = utcnow()
    if rule.ended_at is not None:
        raise InvalidInput(f"rule {rule.id} was ended; create a new one")
    rule.expires_at = now + timedelta(days=days)
    _audit(db, user=user, rule=rule, action="live_rule.renew", now=now)
    return rule


def _audit(db: Session, *, user: User, rule: LiveRule, action: str, now: datetime) -> None:
    audit.record(
        db,
        actor=user.username,
        action=action,
        capability=Capability.ANALYTICS.value,
        context=AuditContext(case_ref=rule.case.reference, purpose=rule.purpose),
        subject_type="live_rule",
        subject_id=rule.id,
        details={"camera": rule.camera_code, "expires": rule.expires_at.isoformat()},
        now=now,
    )


def list_rules(*, db: Session, user: User, camera: str | None = None, include_ended: bool = False) -> list[LiveRule]:
    """The rules of the cases ``user`` may reach (every case for a supervisor), newest first."""
    authorise(
        db, user=user, capability=Capability.ANALYTICS, action="live_rule.list", context=None, context_required=False
    )
    stmt = select(LiveRule).order_by(LiveRule.id.desc())
    if not role_has_permission(user.role, Permission.MANAGE_CASES):
        stmt = stmt.where(LiveRule.case_id.in_(reachable_case_ids(db, user=user)))
    if camera:
        stmt = stmt.where(LiveRule.camera_code == camera.strip().upper())
    if not include_ended:
        stmt = stmt.where(LiveRule.ended_at.is_(None), LiveRule.expires_at > utcnow())
    return list(db.execute(stmt).scalars())


def is_active(rule: LiveRule, now: datetime) -> bool:
    return rule.ended_at is None and rule.expires_at > now


def active_specs(db: Session, *, camera_code: str, now: datetime, zone: str) -> list[RuleSpec]:
    """What a camera's worker runs: its rules that have not ended or expired (read-only)."""
    stmt = select(LiveRule).where(
        LiveRule.camera_code == camera_code,
        LiveRule.kind.in_(KINDS),  # watches are searches, run by vigil.watch over the stored live tracks
        LiveRule.ended_at.is_(None),
        LiveRule.expires_at > now,
    )
    return [spec_of(rule, zone=zone) for rule in db.execute(stmt.order_by(LiveRule.id)).scalars()]


def spec_of(rule: LiveRule, *, zone: str) -> RuleSpec:
    geometry, params = json.loads(rule.geometry), json.loads(rule.params)
    line = geometry.get("line")
    windows = tuple(
        Window(frozenset(w["days"]), time.fromisoformat(w["start"]), time.fromisoformat(w["end"]))
        for w in params.get("schedule", [])
    )
    if rule.kind not in KINDS:
        raise InvalidInput(f"rule {rule.id} has an unknown kind {rule.kind!r}")
    return RuleSpec(
        rule_id=rule.id,
        kind=rule.kind,
        polygon=tuple((float(x), float(y)) for x, y in geometry.get("polygon", [])),
        line=((float(line[0][0]), float(line[0][1])), (float(line[1][0]), float(line[1][1]))) if line else None,
        direction=geometry.get("direction", "either"),
        classes=frozenset(COCO_CLASSES.index(c) for c in params.get("classes", ["person"])),
        seconds=float(params.get("seconds", 0)),
        count=int(params.get("count", 0)),
        radius=float(params.get("radius", 0.1)),
        cooldown_s=float(params.get("cooldown_s", 30)),
        schedule=Schedule(windows, zone),
    )
