"""Metric height, metric speed and per-zone dwell from a camera's calibration and zones."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from vigil.analysis.summary import Geometry, TrackRecord, inside, summarise
from vigil.domain.cameras import Calibration, CameraGeometry, Zone

FPS = 10.0


def synthetic_camera(height_m: float = 6.0, tilt_deg: float = 35.0) -> npt.NDArray[np.float64]:
    """3x4 camera ``height_m`` above the ground, looking along +Y tilted down by ``tilt_deg``; f = 800 px."""
    k = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])
    t = np.radians(tilt_deg)
    x_axis = np.array([1.0, 0, 0])
    z_axis = np.array([0, np.cos(t), -np.sin(t)])
    rotation = np.stack([x_axis, np.cross(z_axis, x_axis), z_axis])
    return np.asarray(k @ np.column_stack([rotation, -rotation @ np.array([0, 0, height_m])]), dtype=np.float64)


def project(camera: npt.NDArray[np.float64], point: tuple[float, float, float]) -> tuple[float, float]:
    p = camera @ np.array([*point, 1.0])
    return float(p[0] / p[2]), float(p[1] / p[2])


def make_record(boxes: list[tuple[float, float, float, float]]) -> TrackRecord:
    record = TrackRecord()
    for frame, box in enumerate(boxes):
        record.add(frame, frame / FPS, box, 0.9, 0)
    return record


def test_a_person_crossing_a_square_zone_dwells_there_for_the_crossing_time() -> None:
    # foot point moves right at 100 px/s along row 300; inside the square 100 < x < 200 from t=1.0 s to t=2.0 s
    feet_x = [5.0 + 100.0 * frame / FPS for frame in range(40)]
    record = make_record([(x - 15, 200.0, x + 15, 300.0) for x in feet_x])
    square = ((100.0, 250.0), (200.0, 250.0), (200.0, 350.0), (100.0, 350.0))
    elsewhere = ((0.0, 0.0), (50.0, 0.0), (50.0, 50.0))
    track = summarise(
        1, record, bearing_deg=None, geometry=Geometry(zones=(Zone("till", square), Zone("door", elsewhere)))
    )
    assert track.summary.zone_dwell_s["till"] == pytest.approx(1.0, abs=1 / FPS)
    assert "door" not in track.summary.zone_dwell_s
    assert track.summary.height_m is None and track.summary.speed_m_s is None


def test_calibrated_camera_gives_height_and_speed_in_metres() -> None:
    camera = synthetic_camera()
    calibration = Calibration.of(np.linalg.inv(camera[:, [0, 1, 3]]), (320, 240))
    boxes = []
    for frame in range(30):  # 1.8 m tall, walking across at 1.4 m/s, 10 m in front of the camera
        x = -2.0 + 1.4 * frame / FPS
        foot_u, foot_v = project(camera, (x, 10.0, 0.0))
        _, head_v = project(camera, (x, 10.0, 1.8))
        boxes.append((foot_u - 12, head_v, foot_u + 12, foot_v))
    geometry = Geometry.of(CameraGeometry(calibration=calibration))
    assert geometry.ground is not None
    summary = summarise(1, make_record(boxes), bearing_deg=None, geometry=geometry).summary
    assert summary.height_m == pytest.approx(1.8, rel=0.1)
    assert summary.speed_m_s == pytest.approx(1.4, rel=0.1)


def test_an_affine_calibration_gives_speed_but_no_height() -> None:
    scale = [[0.02, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 1.0]]  # 2 cm per pixel, no camera behind it
    geometry = Geometry.of(CameraGeometry(calibration=Calibration.of(scale, (320, 240))))
    assert geometry.ground is None
    record = make_record([(x - 10, 100.0, x + 10, 200.0) for x in (10.0 + 50.0 * f / FPS for f in range(20))])
    summary = summarise(1, record, bearing_deg=None, geometry=geometry).summary
    assert summary.height_m is None
    assert summary.speed_m_s == pytest.approx(1.0, rel=0.1)  # 50 px/s at 0.02 m/px


def test_inside_handles_concave_polygons() -> None:
    ell = ((0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (4.0, 4.0), (4.0, 10.0), (0.0, 10.0))
    points = np.array([[2.0, 2.0], [8.0, 2.0], [2.0, 8.0], [8.0, 8.0], [-1.0, 5.0]])
    assert inside(points, ell).tolist() == [True, True, True, False, False]
