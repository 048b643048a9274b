"""The rule engine on built scenes: each kind fires when it should, once, and not when it should not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import pytest

from tests.support.live import make_scene, person
from vigil.domain.scene import SceneState
from vigil.live.rules.engine import Firing, RuleEngine, RuleSpec, Schedule, Window, crossing

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday
ZONE = ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))  # the right half of the picture
LINE = ((0.5, 0.0), (0.5, 1.0))  # a vertical line down the middle: left of it is the right half, seen from the top


def run(engine: RuleEngine, scenes: Sequence[SceneState], start: datetime = START) -> list[Firing]:
    return [f for s in scenes for f in engine.step(s, start + timedelta(seconds=s.t))]


def walk(track: int, x0: float, x1: float, seconds: float, *, t0: float = 0.0, cls: int = 0) -> list[SceneState]:
    steps = int(seconds * 10)
    return [make_scene(t0 + i / 10, [person(track, x0 + (x1 - x0) * i / steps, cls=cls)]) for i in range(steps + 1)]


def test_zone_entry_fires_once_when_a_person_walks_in() -> None:
    engine = RuleEngine([RuleSpec(rule_id=1, kind="zone_entry", polygon=ZONE)])
    fired = run(engine, walk(7, 0.1, 0.9, 4.0))
    assert [(f.rule_id, f.track_id) for f in fired] == [(1, 7)]
    assert fired[0].t == pytest.approx(2.0, abs=0.11)  # crosses x = 0.5 half way
    assert fired[0].at == START + timedelta(seconds=fired[0].t)


def test_zone_entry_ignores_other_classes_and_people_who_stay_outside() -> None:
    engine = RuleEngine([RuleSpec(rule_id=1, kind="zone_entry", polygon=ZONE)])
    assert run(engine, walk(3, 0.1, 0.9, 4.0, cls=2)) == []  # a car
    assert run(engine, walk(4, 0.1, 0.45, 4.0)) == []


def test_zone_entry_cooldown_stops_a_track_flickering_on_the_edge() -> None:
    engine = RuleEngine([RuleSpec(rule_id=1, kind="zone_entry", polygon=ZONE, cooldown_s=10)])
    flicker = [make_scene(i / 10, [person(5, 0.49 if i % 2 else 0.51)]) for i in range(50)]
    assert len(run(engine, flicker)) == 1
    later = [make_scene(20 + i / 10, [person(5, 0.45 if i < 5 else 0.6)]) for i in range(10)]
    assert len(run(engine, later)) == 1  # a new entry after the cooldown fires again


def test_zone_entry_respects_the_weekly_schedule() -> None:
    weekend = Schedule(windows=(Window(frozenset({5, 6}), time(0, 0), time(23, 59)),), zone="Europe/London")
    engine = RuleEngine([RuleSpec(rule_id=1, kind="zone_entry", polygon=ZONE, schedule=weekend)])
    assert run(engine, walk(7, 0.1, 0.9, 4.0)) == []  # Monday
    saturday = START + timedelta(days=5)
    engine = RuleEngine([RuleSpec(rule_id=1, kind="zone_entry", polygon=ZONE, schedule=weekend)])
    assert len(run(engine, walk(7, 0.1, 0.9, 4.0), start=saturday)) == 1


@pytest.mark.parametrize(
    ("direction", "x0", "x1", "fires"),
    [
        ("either", 0.2, 0.8, True),
        ("either", 0.8, 0.2, True),
        ("left-to-right", 0.8, 0.2, True),  # seen from the top looking down, the left is the picture's right
        ("left-to-right", 0.2, 0.8, False),
        ("right-to-left", 0.2, 0.8, True),
        ("right-to-left", 0.8, 0.2, False),
    ],
)
def test_line_crossing_honours_direction(direction: str, x0: float, x1: float, fires: bool) -> None:
    engine = RuleEngine([RuleSpec(rule_id=2, kind="line_crossing", line=LINE, direction=direction)])  # type: ignore[arg-type]
    fired = run(engine, walk(9, x0, x1, 3.0))
    assert [f.track_id for f in fired] == ([9] if fires else [])


def test_line_crossing_beside_a_short_segment_does_not_fire() -> None:
    short = ((0.5, 0.0), (0.5, 0.3))  # the person walks at y = 0.8, below the segment's end
    engine = RuleEngine([RuleSpec(rule_id=2, kind="line_crossing", line=short)])
    assert run(engine, walk(9, 0.2, 0.8, 3.0)) == []
    assert crossing((0.5, 0.0), (0.5, 1.0), (0.4, 0.5), (0.6, 0.5)) == "right-to-left"


def test_loitering_fires_after_the_time_in_the_zone_and_once_per_stay() -> None:
    engine = RuleEngine([RuleSpec(rule_id=3, kind="loitering", polygon=ZONE, seconds=5, cooldown_s=0)])
    short_stay = [make_scene(i / 10, [person(1, 0.7)]) for i in range(40)]
    assert run(engine, short_stay) == []
    leave = [make_scene(4 + i / 10, [person(1, 0.2)]) for i in range(5)]
    stay = [make_scene(5 + i / 10, [person(1, 0.7)]) for i in range(100)]
    fired = run(engine, leave + stay)
    assert [(f.track_id, round(f.t, 1)) for f in fired] == [(1, 10.0)]


def test_occupancy_fires_when_more_than_n_stay_for_t() -> None:
    engine = RuleEngine([RuleSpec(rule_id=4, kind="occupancy", polygon=ZONE, count=2, seconds=3, cooldown_s=60)])
    two = [make_scene(i / 10, [person(1, 0.6), person(2, 0.7), person(3, 0.2)]) for i in range(50)]
    assert run(engine, two) == []  # 2 inside is not more than 2
    three = [make_scene(5 + i / 10, [person(1, 0.6), person(2, 0.7), person(3, 0.8)]) for i in range(50)]
    fired = run(engine, three)
    assert len(fired) == 1 and fired[0].t == pytest.approx(8.0) and len(fired[0].boxes) == 3
    assert fired[0].track_id == -1


def test_a_bag_left_with_nobody_near_fires_after_t() -> None:
    engine = RuleEngine([RuleSpec(rule_id=5, kind="left_behind", seconds=10, radius=0.1)])
    with_owner = [make_scene(i / 10, [person(1, 0.52)], bags=[(0.5, 0.75)]) for i in range(100)]
    assert run(engine, with_owner) == []  # the owner stands beside it
    walks_off = [make_scene(10 + i / 10, [person(1, 0.52 - i / 100)], bags=[(0.5, 0.75)]) for i in range(50)]
    alone = [make_scene(15 + i / 10, [], bags=[(0.5, 0.75)]) for i in range(150)]
    fired = run(engine, walks_off + alone)
    assert len(fired) == 1 and fired[0].kind == "left_behind" and fired[0].track_id == -1
    # the owner's foot is more than 0.1 of the width from the bag once x < 0.403 (t = 11.2): 10 s later it fires
    assert fired[0].t == pytest.approx(21.2, abs=0.11)


def test_a_carried_bag_that_moves_never_fires() -> None:
    engine = RuleEngine([RuleSpec(rule_id=5, kind="left_behind", seconds=3, radius=0.05)])
    moving = [make_scene(i / 10, [], bags=[(0.1 + i / 200, 0.5)]) for i in range(150)]
    assert run(engine, moving) == []


def test_replacing_rules_keeps_the_state_of_unchanged_ones() -> None:
    entry = RuleSpec(rule_id=1, kind="zone_entry", polygon=ZONE)
    engine = RuleEngine([entry])
    assert len(run(engine, walk(7, 0.1, 0.9, 4.0))) == 1
    engine.replace([entry, RuleSpec(rule_id=2, kind="zone_entry", polygon=ZONE)])
    more = [make_scene(4.1 + i / 10, [person(7, 0.9)]) for i in range(3)]
    assert run(engine, more) == []  # rule 1 remembers track 7 entered; rule 2 started with 7 already inside
    newcomer = [make_scene(4.5 + i / 10, [person(7, 0.9), person(8, 0.3 + 0.05 * i)]) for i in range(10)]
    assert sorted((f.rule_id, f.track_id) for f in run(engine, newcomer)) == [(1, 8), (2, 8)]


def test_people_already_in_the_zone_when_a_rule_starts_have_not_entered_it_but_newcomers_have() -> None:
    engine = RuleEngine([RuleSpec(rule_id=1, kind="zone_entry", polygon=ZONE)])
    standing = [make_scene(i / 10, [person(3, 0.8)]) for i in range(10)]  # inside from the rule's first frame
    assert run(engine, standing) == []
    newcomer = walk(4, 0.2, 0.9, 2.0, t0=1.0)  # walks in from the left half after the rule started
    fired = run(engine, newcomer)
    assert [(f.track_id, f.summary) for f in fired] == [(4, "entered the zone")]
