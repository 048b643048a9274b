from __future__ import annotations

import numpy as np
import pytest

from tests.support.scenes import SceneFrame, crossing_scene
from vigil.domain.detections import Detections
from vigil.vision import kalman
from vigil.vision.kalman import KalmanConfig
from vigil.vision.track import ByteTracker, TrackerConfig, assign, colour_signatures


def _detections(boxes: list[tuple[float, float, float, float]], score: float = 0.9) -> Detections:
    xyxy = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return Detections(xyxy, np.full(len(xyxy), score, np.float32), np.zeros(len(xyxy), np.int32))


def _scene_detections(item: SceneFrame) -> tuple[Detections, list[int]]:
    """Ground-truth boxes of the visible figures as detections, and which figure each row is."""
    rows = [(k, box) for k, box in enumerate(item.boxes) if box is not None]
    return _detections([box for _, box in rows]), [k for k, _ in rows]


# -- Kalman filter ----------------------------------------------------------------------------------------------


def test_kalman_learns_a_constant_velocity_and_predicts_it() -> None:
    config = KalmanConfig()
    mean, cov = kalman.initiate([[100, 100, 120, 150]], config)
    for step in range(1, 11):
        mean, cov = kalman.predict(mean, cov, 0.1, config)
        x = 100 + 30 * step * 0.1  # 30 px/s to the right
        mean, cov = kalman.update(mean, cov, [[x, 100, x + 20, 150]], config)
    assert mean[0, 4] == pytest.approx(30, abs=3), "learnt horizontal speed"
    ahead, ahead_cov = kalman.predict(mean, cov, 0.5, config)
    assert ahead[0, 0] == pytest.approx(110 + 30 * 1.5, abs=2)
    assert ahead_cov[0, 0, 0] > cov[0, 0, 0], "uncertainty grows while predicting"
    assert kalman.predict_mean(mean, 0.5)[0, :4] == pytest.approx(ahead[0, :4])


def test_kalman_update_shrinks_uncertainty_and_weak_boxes_move_it_less() -> None:
    config = KalmanConfig()
    mean, cov = kalman.initiate([[0, 0, 20, 50]], config)
    mean, cov = kalman.predict(mean, cov, 0.3, config)
    strong, strong_cov = kalman.update(mean, cov, [[10, 0, 30, 50]], config)
    weak, _ = kalman.update(mean, cov, [[10, 0, 30, 50]], config, np.array([[3.0, 3.0, 30.0, 30.0]]))
    assert strong_cov[0, 0, 0] < cov[0, 0, 0]
    assert 0 < weak[0, 0] - mean[0, 0] < strong[0, 0] - mean[0, 0]
    distances = kalman.mahalanobis(strong, strong_cov, [[10, 0, 30, 50], [60, 0, 80, 50]], config)
    assert distances[0, 0] < 1 < distances[0, 1]


# -- assignment ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "limit", "expected"),
    [
        ([[0.1, 0.9], [0.8, 0.2]], 1.0, [(0, 0), (1, 1)]),
        ([[0.5, 0.4], [0.45, 0.9]], 1.0, [(0, 1), (1, 0)]),  # global optimum, not greedy
        ([[0.1, 0.9], [0.8, 0.95]], 0.5, [(0, 0)]),  # the second row has nothing under the limit
        ([[0.3, 0.2, 0.1]], 1.0, [(0, 2)]),  # rectangular
        (np.zeros((0, 3)), 1.0, []),
    ],
)
def test_assign_minimises_total_cost_under_the_limit(
    cost: list[list[float]], limit: float, expected: list[tuple[int, int]]
) -> None:
    assert assign(np.asarray(cost, dtype=np.float64), limit) == expected


# -- tracker ----------------------------------------------------------------------------------------------------------


def _run(scene: list[SceneFrame], every: int = 1) -> dict[int, set[int]]:
    """Track ids each figure received, detecting every ``every`` frames."""
    tracker = ByteTracker(frame_size=(320, 240))
    ids: dict[int, set[int]] = {0: set(), 1: set()}
    for item in scene[::every]:
        detections, figures = _scene_detections(item)
        features = colour_signatures(item.frame.image, detections.xyxy)
        result = tracker.update(detections, item.frame.timestamp, features=features)
        for figure, track_id in zip(figures, result.track_id.tolist(), strict=True):
            ids[figure].add(track_id)
    return ids


@pytest.mark.parametrize("every", [1, 2, 3])
def test_identities_survive_an_occluder_and_a_crossing(every: int) -> None:
    scene = crossing_scene(60)
    assert any(item.boxes[0] is None for item in scene), "figure 0 really is hidden for a while"
    ids = _run(scene, every)
    assert len(ids[0]) == 1 and len(ids[1]) == 1, ids
    assert ids[0] != ids[1]
    assert -1 not in ids[0] | ids[1]


def test_update_returns_a_new_value_and_leaves_the_input_alone() -> None:
    tracker = ByteTracker()
    detections = _detections([(10, 10, 30, 60)])
    before = detections.xyxy.copy()
    result = tracker.update(detections, 0.0)
    assert result is not detections
    assert detections.track_id.tolist() == [-1] and result.track_id.tolist() == [1]
    assert np.array_equal(detections.xyxy, before)


def test_a_one_off_detection_never_becomes_a_confirmed_track() -> None:
    tracker = ByteTracker(TrackerConfig(min_hits=3))
    tracker.update(_detections([(10, 10, 30, 60)]), 0.0)
    for k in range(1, 10):
        tracker.update(Detections.empty(), k * 0.1)
    assert [(e.track_id, e.confirmed) for e in tracker.pop_ended()] == [(1, False)]


def test_a_lost_track_is_found_again_after_a_gap() -> None:
    tracker = ByteTracker()
    for k in range(5):
        tracker.update(_detections([(100 + 3 * k, 100, 120 + 3 * k, 150)]), k * 0.1)
    for k in range(5, 15):  # a second of nothing (behind something)
        tracker.update(Detections.empty(), k * 0.1)
    again = tracker.update(_detections([(145, 100, 165, 150)]), 1.5)
    assert again.track_id.tolist() == [1]
    assert tracker.pop_ended() == []


def test_a_track_that_leaves_the_picture_ends_quickly() -> None:
    tracker = ByteTracker(frame_size=(200, 200))
    for k in range(5):
        tracker.update(_detections([(150 + 12 * k, 100, 170 + 12 * k, 150)]), k * 0.1)
    tracker.update(Detections.empty(), 1.0)
    assert [e.track_id for e in tracker.pop_ended()] == [1]


def test_state_round_trips_exactly_and_the_restored_tracker_carries_on_identically() -> None:
    scene = crossing_scene(40)
    tracker = ByteTracker(frame_size=(320, 240))
    for item in scene[:20]:
        detections, _ = _scene_detections(item)
        tracker.update(detections, item.frame.timestamp, features=colour_signatures(item.frame.image, detections.xyxy))
    saved = tracker.to_bytes()
    restored = ByteTracker.from_bytes(saved)
    assert restored.to_bytes() == saved
    assert restored.config == tracker.config
    for item in scene[20:]:
        detections, _ = _scene_detections(item)
        features = colour_signatures(item.frame.image, detections.xyxy)
        a = tracker.update(detections, item.frame.timestamp, features=features)
        b = restored.update(detections, item.frame.timestamp, features=features)
        assert a.track_id.tolist() == b.track_id.tolist()
    assert tracker.to_bytes() == restored.to_bytes()


def test_state_from_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not a saved ByteTracker state"):
        from io import BytesIO

        buffer = BytesIO()
        np.savez(buffer, header=np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
        ByteTracker.from_bytes(buffer.getvalue())


def test_colour_signatures_tell_the_two_figures_apart() -> None:
    item = crossing_scene(60)[5]
    detections, _ = _scene_detections(item)
    a, b = colour_signatures(item.frame.image, detections.xyxy)
    later = crossing_scene(60)[45]
    detections_later, _ = _scene_detections(later)
    a_later = colour_signatures(later.frame.image, detections_later.xyxy)[0]
    assert float(a @ a_later) > 0.9 > float(a @ b)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
