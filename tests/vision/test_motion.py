from __future__ import annotations

import numpy as np
import pytest

from tests.support.scenes import crossing_scene
from vigil.vision.motion import MotionConfig, MotionDetector, merge_boxes


def test_nothing_moves_in_a_static_scene() -> None:
    scene = crossing_scene(10, idle_before=15)
    motion = MotionDetector(fps=10)
    results = [motion.update(item.frame.image) for item in scene[:15]]
    assert results[0].reset, "the first frame only teaches the background"
    assert all(not r.regions for r in results[1:])


def test_a_moving_figure_is_inside_a_region_in_source_pixels() -> None:
    scene = crossing_scene(40, idle_before=5)
    motion = MotionDetector(fps=10)
    for item in scene[:10]:
        found = motion.update(item.frame.image)
    box = scene[9].boxes[0]
    assert box is not None
    assert any(r[0] <= box[0] and r[1] <= box[1] + 8 and r[2] >= box[2] and r[3] >= box[3] for r in found.regions), (
        found.regions,
        box,
    )
    assert all(0 <= r[0] < r[2] <= 320 and 0 <= r[1] < r[3] <= 240 for r in found.regions)
    assert 0 < found.fraction < 0.2


def test_a_global_change_resets_the_background_instead_of_reporting_motion() -> None:
    motion = MotionDetector(fps=10)
    dark = np.full((120, 160, 3), 40, np.uint8)
    motion.update(dark)
    lights_on = motion.update(np.full((120, 160, 3), 200, np.uint8))
    assert lights_on.reset and not lights_on.regions
    assert not motion.update(np.full((120, 160, 3), 200, np.uint8)).regions


def test_a_still_object_fades_into_the_background() -> None:
    motion = MotionDetector(MotionConfig(background_seconds=1.0), fps=10)
    empty = np.full((120, 160, 3), 100, np.uint8)
    parked = empty.copy()
    parked[40:80, 60:100] = (30, 30, 200)
    motion.update(empty)
    assert motion.update(parked).regions
    for _ in range(60):
        last = motion.update(parked)
    assert not last.regions


def test_background_state_round_trips() -> None:
    scene = crossing_scene(20)
    a, b = MotionDetector(fps=10), MotionDetector(fps=10)
    for item in scene[:10]:
        a.update(item.frame.image)
    b.load_state(a.state_arrays())
    for item in scene[10:]:
        assert a.update(item.frame.image) == b.update(item.frame.image)


def test_absorbed_regions_stop_reporting_motion_at_once_and_only_there() -> None:
    motion = MotionDetector(fps=10)  # a 4 s background: a ghost would otherwise linger for seconds
    chair = np.full((120, 160, 3), 100, np.uint8)
    chair[40:80, 20:50] = (30, 30, 200)
    motion.update(chair)
    gone = np.full((120, 160, 3), 100, np.uint8)  # the chair is taken away: its ghost moves
    ghost = motion.update(gone)
    assert ghost.regions
    motion.absorb(ghost.regions, 160, 120)
    assert not motion.update(gone).regions
    walker = gone.copy()
    walker[60:100, 110:125] = (200, 40, 40)  # motion elsewhere is still seen
    regions = motion.update(walker).regions
    assert regions and all(r[0] >= 90 for r in regions), regions


def test_absorb_before_the_first_frame_does_nothing() -> None:
    motion = MotionDetector(fps=10)
    motion.absorb([(0, 0, 10, 10)], 160, 120)
    assert motion.update(np.full((120, 160, 3), 100, np.uint8)).reset


@pytest.mark.parametrize(
    ("boxes", "gap", "expected"),
    [
        ([], 0, []),
        ([(0, 0, 10, 10), (5, 5, 20, 20)], 0, [(0, 0, 20, 20)]),
        ([(0, 0, 10, 10), (30, 30, 40, 40)], 0, [(0, 0, 10, 10), (30, 30, 40, 40)]),
        ([(0, 0, 10, 10), (15, 0, 25, 10)], 6, [(0, 0, 25, 10)]),
        # a chain: a joins c only through b
        ([(0, 0, 10, 10), (50, 0, 60, 10), (8, 0, 52, 5)], 0, [(0, 0, 60, 10)]),
    ],
)
def test_merge_boxes(
    boxes: list[tuple[int, int, int, int]], gap: int, expected: list[tuple[int, int, int, int]]
) -> None:
    assert merge_boxes(boxes, gap) == expected
