"""Live rules on real footage: PETS 2009 S2.L1 (University of Reading) played as a camera, whole (795 frames).

A zone and a line are stored as rules through the service; every frame goes through the analyser (bundled
CenterNet) and the rules observer, which stores alerts as it would in a camera worker. The stored alerts are
checked against the ground truth (MOT gt.txt, every person annotated): who entered the zone or crossed the line,
and when, within one second, and where (the alert's box is that person's). Floors sit a little under what was
measured when this was written (zone entry: precision 0.86, recall 0.93; line crossing: 0.96 and 0.96).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import make_settings, shared_data_dir
from tests.support.builders import make_camera, make_user
from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.pipeline import build_analyser, frames
from vigil.db.rule_models import LiveRuleAlert
from vigil.db.session import session_scope
from vigil.live.observers import LiveFrame
from vigil.live.rules.engine import Point, crossing, inside
from vigil.live.rules.observer import RulesObserver
from vigil.live.rules.service import create_rule, parse_request
from vigil.system import System, open_system, prepare

DATA = shared_data_dir() / "pets09-s2l1"
VIDEO, GT = DATA / "vtest.avi", DATA / "gt_mot_full_480x360.txt"
W, H, FPS = 480, 360, 10.0
START = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ZONE = [[0.3, 0.45], [0.7, 0.45], [0.7, 0.8], [0.3, 0.8]]  # the middle of the square, away from the picture's edges
LINE = [[0.45, 0.3], [0.45, 1.0]]  # down the middle, across the paths people walk left and right
COOLDOWN_S = 5.0
TOLERANCE_S = 1.0
SAME_PLACE = 0.08  # of the picture: the alert's foot point and the person's, at the event

pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not (VIDEO.exists() and GT.exists()), reason="shared PETS09 data not available"),
]

Event = tuple[str, float, Point]  # rule kind, seconds from the start, foot point


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Event]]:
    system = open_system(make_settings(tmp_path_factory.mktemp("pets-rules") / "data"))
    prepare(system)
    try:
        yield _play(system)
    finally:
        system.close()


def _play(system: System) -> list[Event]:
    with session_scope(system.sessions) as db:
        olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=["CUM-2026-000606"])
        make_camera(db, "PETS")
        for kind, shape in (("zone_entry", {"polygon": ZONE}), ("line_crossing", {"line": LINE})):
            request = parse_request(
                {"name": kind, "camera": "PETS", "kind": kind, "days": 1, "cooldown_s": COOLDOWN_S} | shape
            )
            create_rule(db=db, user=olive, request=request, case="CUM-2026-000606", purpose="test the rules on PETS")
    setup = AnalysisSetup(
        footage_id=1, width=W, height=H, fps=FPS, frame_count=795, bearing_deg=None, params={"detector": "centernet"}
    )
    analyser = build_analyser(system.settings, setup)
    observer = RulesObserver(settings=system.settings, sessions=system.sessions, camera_code="PETS")
    for frame in itertools.islice(frames(VIDEO, 0), 795):
        analyser.process(frame)
        observer.observe(LiveFrame("PETS", frame.image, START + timedelta(seconds=frame.timestamp), analyser.scene()))
    with session_scope(system.sessions) as db:
        rows = db.execute(select(LiveRuleAlert).order_by(LiveRuleAlert.id)).scalars().all()
        found = []
        for alert in rows:
            x1, _, x2, y2 = json.loads(alert.boxes)[0]
            found.append((alert.rule.kind, (alert.at - START).total_seconds(), ((x1 + x2) / 2 / W, y2 / H)))
    return found


def truth() -> list[Event]:
    """Entries into the zone and crossings of the line by every annotated person, with the same cooldown."""
    gt = np.loadtxt(GT, delimiter=",", ndmin=2)
    events: list[Event] = []
    zone = [(x, y) for x, y in ZONE]
    (ax, ay), (bx, by) = LINE
    for person in np.unique(gt[:, 1]):
        rows = gt[gt[:, 1] == person]
        rows = rows[np.argsort(rows[:, 0])]
        last = {"zone_entry": -1e9, "line_crossing": -1e9}
        was_inside, before = False, None
        for frame, _, left, top, width, height, *_ in rows.tolist():
            t, foot = (frame - 1) / FPS, ((left + width / 2) / W, (top + height) / H)
            now_inside = inside(zone, *foot)
            if now_inside and not was_inside and t - last["zone_entry"] >= COOLDOWN_S:
                events.append(("zone_entry", t, foot))
                last["zone_entry"] = t
            was_inside = now_inside
            crossed = before is not None and frame - before[0] <= 3 and crossing((ax, ay), (bx, by), before[1], foot)
            if crossed and t - last["line_crossing"] >= COOLDOWN_S:
                events.append(("line_crossing", t, foot))
                last["line_crossing"] = t
            before = (frame, foot)
    return events


def matched(alerts: list[Event], events: list[Event]) -> int:
    """Alerts matched one-to-one to an event of the same rule within the tolerance, at the same place."""
    used: set[int] = set()
    hits = 0
    for kind, t, foot in sorted(alerts, key=lambda a: a[1]):
        candidates = [
            (abs(e[1] - t), i)
            for i, e in enumerate(events)
            if i not in used
            and e[0] == kind
            and abs(e[1] - t) <= TOLERANCE_S
            and np.hypot(*np.subtract(e[2], foot)) <= SAME_PLACE
        ]
        if candidates:
            used.add(min(candidates)[1])
            hits += 1
    return hits


@pytest.mark.parametrize(
    ("kind", "precision_floor", "recall_floor"), [("zone_entry", 0.8, 0.85), ("line_crossing", 0.9, 0.9)]
)
def test_alerts_match_who_entered_or_crossed_and_when(
    alerts: list[Event], kind: str, precision_floor: float, recall_floor: float
) -> None:
    raised = [a for a in alerts if a[0] == kind]
    expected = [e for e in truth() if e[0] == kind]
    hits = matched(raised, expected)
    precision, recall = hits / max(len(raised), 1), hits / max(len(expected), 1)
    print(f"{kind}: {len(raised)} alerts, {len(expected)} in the ground truth: ", end="")
    print(f"precision {precision:.2f}, recall {recall:.2f}")
    assert len(expected) >= 20  # the rules were drawn where people walk
    assert precision >= precision_floor and recall >= recall_floor, (precision, recall)
