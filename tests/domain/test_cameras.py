"""Camera geometry as a value: a drawing made on full-size pictures fits the smaller pictures live analysis reads."""

from __future__ import annotations

import numpy as np

from vigil.domain.cameras import Calibration, CameraGeometry, Line, Zone


def test_a_geometry_shrunk_for_half_size_pictures_puts_every_point_and_the_ground_where_they_were() -> None:
    homography = np.array([[0.02, 0.0, -5.0], [0.0, 0.05, -3.0], [0.0, 0.001, 1.0]])
    full = CameraGeometry(
        calibration=Calibration.of(homography, (640.0, 360.0)),
        zones=(Zone("doorway", ((100.0, 200.0), (300.0, 200.0), (300.0, 400.0))),),
        lines=(Line("kerb", (0.0, 600.0), (1280.0, 620.0), "left-to-right"),),
    )
    half = full.shrunk(2.0)
    assert half.zones[0].polygon == ((50.0, 100.0), (150.0, 100.0), (150.0, 200.0))
    assert half.lines[0] == Line("kerb", (0.0, 300.0), (640.0, 310.0), "left-to-right")
    assert half.calibration is not None and half.calibration.principal_point == (320.0, 180.0)

    def ground(matrix: np.ndarray, x: float, y: float) -> np.ndarray:
        p = matrix @ np.array([x, y, 1.0])
        return p[:2] / p[2]

    # the same spot on the street, seen at (800, 500) in the full picture and (400, 250) in the half one
    assert np.allclose(ground(half.calibration.matrix, 400, 250), ground(homography, 800, 500))
    assert full.shrunk(1.0) is full
