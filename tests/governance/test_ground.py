"""Ground calibration fitted from clicked picture points and typed ground positions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.errors import InvalidInput
from vigil.governance.cameras.ground import calibrate_from_points, fit_ground

TRUE = np.array([[0.05, 0.01, -3.0], [0.002, 0.08, -5.0], [0.0001, 0.0009, 1.0]])
IMAGE = [(10.0, 200.0), (300.0, 210.0), (280.0, 60.0), (40.0, 70.0), (160.0, 140.0)]


def _ground(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    mapped = [TRUE @ np.array([x, y, 1.0]) for x, y in points]
    return [(float(u / w), float(v / w)) for u, v, w in mapped]


def test_the_fit_recovers_the_homography_from_five_points() -> None:
    fit = fit_ground(IMAGE, _ground(IMAGE))
    assert fit.rms_m < 1e-9
    assert np.allclose(np.asarray(fit.image_to_ground), TRUE / TRUE[2, 2], atol=1e-6)


@pytest.mark.parametrize(
    ("image", "ground", "message"),
    [
        (IMAGE[:3], _ground(IMAGE[:3]), "mark 4 to 50 points"),
        (IMAGE, _ground(IMAGE)[:4], "for every point"),
        ([(0.0, 0.0), (10.0, 10.0), (20.0, 20.0), (30.0, 30.0)], [(0, 0), (1, 0), (0, 1), (1, 1)], "on one line"),
        (IMAGE[:4], [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0)], "on one line"),
        (IMAGE[:4], [(0.0, float("nan")), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)], "finite"),
    ],
)
def test_unusable_points_are_refused(
    image: list[tuple[float, float]], ground: list[tuple[float, float]], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        fit_ground(image, ground)


def test_a_mistyped_point_is_refused_and_nothing_is_stored(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    camera = make_camera(db, "PEN-01")
    ground = _ground(IMAGE)
    ground[4] = (ground[4][0] + 30.0, ground[4][1])  # 30 m out
    with pytest.raises(InvalidInput, match="disagree by"):
        calibrate_from_points(
            db, actor=admin, code="pen-01", image_points=IMAGE, ground_points=ground, image_size=(320, 240)
        )
    assert camera.calibration is None
    calibrate_from_points(
        db, actor=admin, code="pen-01", image_points=IMAGE, ground_points=_ground(IMAGE), image_size=(320, 240)
    )
    assert json.loads(camera.calibration or "{}")["principal_point"] == [160.0, 120.0]
