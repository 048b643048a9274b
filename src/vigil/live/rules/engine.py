"""The rule engine: turns what the analyser sees, frame by frame, into rule firings. Pure: no database, no files.

It reads a :class:`~vigil.domain.scene.SceneState` (confirmed tracks and loose carried objects) and the frame's
wall-clock time after every analysed frame, from a live stream or a recorded file alike. Geometry is normalised
(0..1 of the picture's width and height), so a rule drawn on a still of any size applies to the analysed frames.

A track is where its *foot point* is: the bottom centre of its box. Durations run on the scene clock (``t``),
so a slow machine or a file played faster than real time gives the same firings.

Kinds (see :class:`RuleSpec`):

* ``zone_entry``: a track of the chosen classes is in the zone and was not at its previous frame (first seen
  inside counts: it entered unseen).
* ``line_crossing``: the foot point moves across the segment ``a``-``b``; sides as seen standing at ``a``
  looking towards ``b`` (``left-to-right``, ``right-to-left`` or ``either``), as for line searches.
* ``loitering``: a track stays in the zone for ``seconds``.
* ``occupancy``: more than ``count`` tracks are in the zone for ``seconds``.
* ``left_behind``: a carried-class object (bag, suitcase) stays put for ``seconds`` with no person within
  ``radius`` (a fraction of the picture's width).

Cooldown and de-duplication: a rule fires at most once per track (or object) per stay, entry or crossing, and
never twice for the same track within its ``cooldown_s``; occupancy fires once per episode and then waits out its
cooldown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from vigil.domain.detections import PERSON_CLASS_ID
from vigil.domain.scene import SceneState

Point = tuple[float, float]
Box = tuple[float, float, float, float]
Kind = Literal["zone_entry", "line_crossing", "loitering", "occupancy", "left_behind"]
Crossing = Literal["either", "left-to-right", "right-to-left"]
KINDS: tuple[Kind, ...] = ("zone_entry", "line_crossing", "loitering", "occupancy", "left_behind")
ZONE_KINDS: tuple[Kind, ...] = ("zone_entry", "loitering", "occupancy")

OBJECT_MATCH = 0.03
"""A carried object seen again within this distance (fraction of the width) of where it was is the same one."""
OBJECT_STILL = 0.02
"""An object whose centre stays within this distance of where it was first seen is stationary."""
OBJECT_FORGET_S = 5.0
"""An object not detected for this long is gone (carried objects are only seen at detection steps)."""


@dataclass(frozen=True)
class Window:
    """A weekly time window: ``days`` (0 = Monday) from ``start`` to ``end`` local time (end after start)."""

    days: frozenset[int]
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True)
class Schedule:
    """When a rule is armed: any of its windows, in the force's time zone. No windows: always."""

    windows: tuple[Window, ...] = ()
    zone: str = "UTC"

    def armed(self, at: datetime) -> bool:
        if not self.windows:
            return True
        local = at.astimezone(ZoneInfo(self.zone))
        return any(window.contains(local) for window in self.windows)


@dataclass(frozen=True)
class RuleSpec:
    """One rule as the engine needs it (stored rules are turned into these by the rules service)."""

    rule_id: int
    kind: Kind
    polygon: tuple[Point, ...] = ()
    line: tuple[Point, Point] | None = None
    direction: Crossing = "either"
    classes: frozenset[int] = frozenset({PERSON_CLASS_ID})
    seconds: float = 0.0
    count: int = 0
    radius: float = 0.1
    cooldown_s: float = 30.0
    schedule: Schedule = field(default_factory=Schedule)


@dataclass(frozen=True)
class Firing:
    """A rule fired: a candidate for a person to check, never an identification."""

    rule_id: int
    kind: Kind
    t: float
    at: datetime
    track_id: int
    """The track; -1 for occupancy and objects left behind (they have no track)."""
    boxes: tuple[Box, ...]
    """Boxes to draw on the snapshot, in the scene's pixels."""
    summary: str


def foot_points(scene: SceneState) -> np.ndarray:
    """Each track's foot point, normalised to the picture."""
    xyxy = scene.tracks.xyxy
    if not len(xyxy):
        return np.zeros((0, 2))
    w, h = max(scene.width, 1), max(scene.height, 1)
    return np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2 / w, xyxy[:, 3] / h], axis=1)


def inside(polygon: Sequence[Point], x: float, y: float) -> bool:
    """Whether (x, y) lies inside the polygon (even-odd rule)."""
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def side(a: Point, b: Point, p: Point) -> float:
    """Negative left of a->b, positive right of it (picture coordinates, y down), as for line searches."""
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def crossing(a: Point, b: Point, p: Point, q: Point) -> Crossing | None:
    """Which way the move p -> q crosses the segment a-b, or None if it does not (touching it is no crossing:
    the caller keeps the last point off the line as ``p``)."""
    before, after = side(a, b, p), side(a, b, q)
    if before * after >= 0:
        return None
    if side(p, q, a) * side(p, q, b) > 0:
        return None  # the move passes beside the segment, across its extension
    return "left-to-right" if before < 0 else "right-to-left"


def _box(scene: SceneState, row: int) -> Box:
    x1, y1, x2, y2 = (float(v) for v in scene.tracks.xyxy[row])
    return (x1, y1, x2, y2)


@dataclass
class _Object:
    x: float
    y: float
    first_t: float
    last_t: float
    box: Box
    key: int
    unattended_since: float | None = None
    fired: bool = False


class _RuleState:
    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self.last_fired: dict[int, float] = {}  # track (or -1) -> t of its last firing
        self.was_inside: set[int] = set()
        self.entered_at: dict[int, float] = {}
        self.stay_fired: set[int] = set()
        self.previous: dict[int, Point] = {}
        self.crowded_since: float | None = None
        self.crowd_fired = False
        self.objects: list[_Object] = []
        self.objects_seen = 0
        self.steps = 0
        """Frames this rule has watched: whoever is already in a zone when a rule starts has not entered it."""

    def cooled(self, key: int, t: float) -> bool:
        last = self.last_fired.get(key)
        return last is None or t - last >= self.spec.cooldown_s


class RuleEngine:
    """Keeps each rule's state between frames; :meth:`step` returns what fired at this frame."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        self.states = {rule.rule_id: _RuleState(rule) for rule in rules}

    @property
    def rules(self) -> list[RuleSpec]:
        return [state.spec for state in self.states.values()]

    def replace(self, rules: Sequence[RuleSpec]) -> None:
        """New rule set (rules added, expired or changed): unchanged rules keep their state."""
        kept = {r.rule_id: self.states[r.rule_id] for r in rules if r.rule_id in self.states}
        self.states = {
            r.rule_id: kept[r.rule_id] if r.rule_id in kept and kept[r.rule_id].spec == r else _RuleState(r)
            for r in rules
        }

    def step(self, scene: SceneState, at: datetime) -> list[Firing]:
        feet = foot_points(scene)
        fired: list[Firing] = []
        for state in self.states.values():
            spec = state.spec
            armed = spec.schedule.armed(at)
            if spec.kind == "left_behind":
                found = _left_behind(state, scene, feet)
            elif spec.kind == "line_crossing":
                found = _crossings(state, scene, feet)
            elif spec.kind == "occupancy":
                found = _occupancy(state, scene, feet)
            else:
                found = _zone(state, scene, feet)
            for track_id, boxes, summary in found:
                if armed and state.cooled(track_id, scene.t):
                    state.last_fired[track_id] = scene.t
                    fired.append(Firing(spec.rule_id, spec.kind, scene.t, at, max(track_id, -1), boxes, summary))
        return fired


Found = list[tuple[int, tuple[Box, ...], str]]


def _rows(state: _RuleState, scene: SceneState) -> list[int]:
    classes = state.spec.classes
    return [i for i, c in enumerate(scene.tracks.class_id.tolist()) if c in classes]


def _zone(state: _RuleState, scene: SceneState, feet: np.ndarray) -> Found:
    """Zone entry and loitering: who is in the zone now, since when."""
    spec = state.spec
    found: Found = []
    now_inside: set[int] = set()
    for row in _rows(state, scene):
        track = int(scene.tracks.track_id[row])
        if not inside(spec.polygon, float(feet[row, 0]), float(feet[row, 1])):
            continue
        now_inside.add(track)
        if track not in state.was_inside:
            state.entered_at[track] = scene.t
            if spec.kind == "zone_entry" and state.steps > 0:
                found.append((track, (_box(scene, row),), "entered the zone"))
        stayed = scene.t - state.entered_at[track]
        if spec.kind == "loitering" and stayed >= spec.seconds and track not in state.stay_fired:
            state.stay_fired.add(track)
            found.append((track, (_box(scene, row),), f"in the zone for {stayed:.0f} s"))
    for gone in state.was_inside - now_inside:
        state.entered_at.pop(gone, None)
        state.stay_fired.discard(gone)
    state.was_inside = now_inside
    state.steps += 1
    return found


def _crossings(state: _RuleState, scene: SceneState, feet: np.ndarray) -> Found:
    spec = state.spec
    found: Found = []
    assert spec.line is not None
    a, b = spec.line
    current: dict[int, Point] = {}
    for row in _rows(state, scene):
        track = int(scene.tracks.track_id[row])
        here = (float(feet[row, 0]), float(feet[row, 1]))
        before = state.previous.get(track)
        current[track] = here if side(a, b, here) != 0 or before is None else before
        way = crossing(a, b, before, here) if before is not None else None
        if way is not None and spec.direction in ("either", way):
            found.append((track, (_box(scene, row),), f"crossed the line {way}"))
    state.previous = current
    return found


def _occupancy(state: _RuleState, scene: SceneState, feet: np.ndarray) -> Found:
    spec = state.spec
    rows = [r for r in _rows(state, scene) if inside(spec.polygon, float(feet[r, 0]), float(feet[r, 1]))]
    if len(rows) <= spec.count:
        state.crowded_since, state.crowd_fired = None, False
        return []
    if state.crowded_since is None:
        state.crowded_since = scene.t
    held = scene.t - state.crowded_since
    if held < spec.seconds or state.crowd_fired:
        return []
    state.crowd_fired = True
    boxes = tuple(_box(scene, r) for r in rows)
    return [(-1, boxes, f"{len(rows)} in the zone (more than {spec.count}) for {held:.0f} s")]


def _left_behind(state: _RuleState, scene: SceneState, feet: np.ndarray) -> Found:
    spec = state.spec
    found: Found = []
    w, h = max(scene.width, 1), max(scene.height, 1)
    people = feet[scene.tracks.class_id == PERSON_CLASS_ID] if len(feet) else feet
    for x1, y1, x2, y2 in scene.carried.xyxy.tolist():
        x, y = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
        if spec.polygon and not inside(spec.polygon, x, y):
            continue
        near = [o for o in state.objects if abs(o.x - x) + abs(o.y - y) * h / w <= OBJECT_MATCH]
        if near:
            near[0].last_t, near[0].box = scene.t, (x1, y1, x2, y2)
        else:
            state.objects_seen += 1
            state.objects.append(_Object(x, y, scene.t, scene.t, (x1, y1, x2, y2), key=-1 - state.objects_seen))
    state.objects = [o for o in state.objects if scene.t - o.last_t <= OBJECT_FORGET_S]
    for thing in state.objects:
        ox, oy = (thing.box[0] + thing.box[2]) / 2 / w, (thing.box[1] + thing.box[3]) / 2 / h
        if abs(ox - thing.x) > OBJECT_STILL or abs(oy - thing.y) > OBJECT_STILL * w / h:
            thing.x, thing.y, thing.first_t, thing.unattended_since = ox, oy, scene.t, None  # it moved: carried
            continue
        distances = np.hypot(people[:, 0] - ox, (people[:, 1] - oy) * h / w) if len(people) else np.zeros(0)
        if len(distances) and float(distances.min()) <= spec.radius:
            thing.unattended_since = None
            continue
        if thing.unattended_since is None:
            thing.unattended_since = scene.t
        alone = scene.t - max(thing.unattended_since, thing.first_t)
        if alone >= spec.seconds and not thing.fired:
            thing.fired = True
            found.append((thing.key, (thing.box,), f"object stationary with nobody near for {alone:.0f} s"))
    return found
