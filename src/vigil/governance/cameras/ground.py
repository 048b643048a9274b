"""Ground-plane calibration from points: 4 or more picture points whose ground positions (metres) are known.

The image -> ground homography is fitted by the normalised direct linear transform (least squares over all the
points); the fit's root-mean-square error in metres is reported so a mistyped point shows up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from vigil.db.models import Camera, User
from vigil.errors import InvalidInput
from vigil.governance.cameras.geometry import set_camera_calibration

Point = tuple[float, float]
F64 = npt.NDArray[np.float64]
MAX_POINTS = 50
MAX_RMS_M = 1.0
"""A fit worse than this (metres) is refused: a point was mistyped or clicked in the wrong place."""


@dataclass(frozen=True)
class GroundFit:
    image_to_ground: list[list[float]]
    rms_m: float


def _normaliser(points: F64) -> F64:
    centre = points.mean(axis=0)
    spread = float(np.sqrt(((points - centre) ** 2).sum(axis=1)).mean()) or 1.0
    scale = math.sqrt(2) / spread
    return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1]], dtype=np.float64)


def _apply(matrix: F64, points: F64) -> F64:
    ones = np.ones((len(points), 1))
    mapped = np.hstack([points, ones]) @ matrix.T
    return np.asarray(mapped[:, :2] / mapped[:, 2:3], dtype=np.float64)


def fit_ground(image: Sequence[Point], ground: Sequence[Point]) -> GroundFit:
    """The homography taking picture pixels to ground metres, fitted to the point pairs."""
    if len(image) != len(ground):
        raise InvalidInput("give a ground position for every point on the picture")
    if not 4 <= len(image) <= MAX_POINTS:
        raise InvalidInput(f"mark 4 to {MAX_POINTS} points on the picture, each with its ground position in metres")
    src, dst = np.asarray(image, dtype=np.float64), np.asarray(ground, dtype=np.float64)
    if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))):
        raise InvalidInput("every coordinate must be a finite number")
    for points, where in ((src, "on the picture"), (dst, "on the ground")):
        if np.linalg.matrix_rank(np.hstack([points, np.ones((len(points), 1))]), tol=1e-6) < 3:
            raise InvalidInput(f"the points {where} lie on one line; spread them over the ground area")
    t_src, t_dst = _normaliser(src), _normaliser(dst)
    a, b = _apply(t_src, src), _apply(t_dst, dst)
    rows = []
    for (x, y), (u, v) in zip(a, b, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, _, vt = np.linalg.svd(np.asarray(rows, dtype=np.float64))
    matrix = np.linalg.inv(t_dst) @ vt[-1].reshape(3, 3) @ t_src
    if abs(matrix[2, 2]) < 1e-12:
        raise InvalidInput("these points do not give a usable calibration; check them")
    matrix = matrix / matrix[2, 2]
    rms = float(np.sqrt(((_apply(matrix, src) - dst) ** 2).sum(axis=1).mean()))
    return GroundFit([[float(v) for v in row] for row in matrix], rms)


def calibrate_from_points(
    db: Session,
    *,
    actor: User,
    code: str,
    image_points: Sequence[Point],
    ground_points: Sequence[Point],
    image_size: tuple[int, int],
) -> tuple[Camera, GroundFit]:
    """Fit and record a camera's calibration (principal point: the picture's centre); audited ``camera.calibrate``."""
    fit = fit_ground(image_points, ground_points)
    if fit.rms_m > MAX_RMS_M:
        raise InvalidInput(
            f"the points disagree by {fit.rms_m:.2f} m on average (limit {MAX_RMS_M:g} m); check each ground position"
        )
    width, height = image_size
    camera = set_camera_calibration(
        db, actor=actor, code=code, image_to_ground=fit.image_to_ground, principal_point=(width / 2, height / 2)
    )
    return camera, fit
