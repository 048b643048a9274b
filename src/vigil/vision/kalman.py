"""A constant-velocity Kalman filter over boxes, batched over tracks and in continuous time.

The state of one box is ``(cx, cy, w, h, vcx, vcy, vw, vh)``: centre, width and height in pixels and their
rates in pixels per second. Time steps are in seconds, so detection on every k-th frame (or at an
irregular, adaptive rate) needs no change. The process noise is a white-noise acceleration scaled by the box
height: a person twice as close to the camera looks twice as large and moves twice as many pixels, so the
filter's uncertainty (and the tracker's gates built on it) follows the camera's perspective.

All functions take and return arrays for N boxes at once: ``mean`` (N, 8) and ``cov`` (N, 8, 8), float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

STATE_DIM = 8
BOX_DIM = 4


@dataclass(frozen=True)
class KalmanConfig:
    """Noise levels, each as a fraction of the box height (pixels scale with distance from the camera)."""

    acceleration: tuple[float, float, float, float] = (1.0, 0.7, 0.02, 0.02)
    """Std of the random acceleration of cx, cy, w, h, in box heights per second squared."""
    size_drift: float = 0.2
    """Std of the random walk of w and h, in box heights per square-root second (people turn, bend, near)."""
    measurement: tuple[float, float, float, float] = (0.06, 0.06, 0.08, 0.06)
    """Std of a detector's error in cx, cy, w, h, in box heights."""
    initial_speed: tuple[float, float, float, float] = (1.0, 0.6, 0.02, 0.02)
    """Std of the unknown rates of a new box, in box heights per second."""


def xyxy_to_cxcywh(xyxy: npt.ArrayLike) -> F64:
    box = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.stack(
        [(box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2, box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]],
        axis=1,
    )


def cxcywh_to_xyxy(cxcywh: npt.ArrayLike) -> F64:
    box = np.asarray(cxcywh, dtype=np.float64).reshape(-1, 4)
    half_w, half_h = box[:, 2] / 2, box[:, 3] / 2
    return np.stack([box[:, 0] - half_w, box[:, 1] - half_h, box[:, 0] + half_w, box[:, 1] + half_h], axis=1)


def _heights(mean: F64) -> F64:
    return np.maximum(mean[:, 3], 1.0)


def initiate(xyxy: npt.ArrayLike, config: KalmanConfig) -> tuple[F64, F64]:
    """States for new boxes: at the measured place, at rest, with the velocity uncertainty of a new object."""
    box = xyxy_to_cxcywh(xyxy)
    n = box.shape[0]
    mean = np.zeros((n, STATE_DIM))
    mean[:, :BOX_DIM] = box
    h = np.maximum(box[:, 3], 1.0)[:, None]
    std = np.concatenate([np.asarray(config.measurement) * h, np.asarray(config.initial_speed) * h], axis=1)
    cov = np.zeros((n, STATE_DIM, STATE_DIM))
    idx = np.arange(STATE_DIM)
    cov[:, idx, idx] = std**2
    return mean, cov


def predict(mean: F64, cov: F64, dt: npt.ArrayLike, config: KalmanConfig) -> tuple[F64, F64]:
    """States ``dt`` seconds later (``dt`` per box, or one value for all). Returns new arrays."""
    n = mean.shape[0]
    step = np.broadcast_to(np.asarray(dt, dtype=np.float64), (n,))
    transition = np.tile(np.eye(STATE_DIM), (n, 1, 1))
    idx = np.arange(BOX_DIM)
    transition[:, idx, idx + BOX_DIM] = step[:, None]
    new_mean = np.einsum("nij,nj->ni", transition, mean)
    accel = (np.asarray(config.acceleration)[None, :] * _heights(mean)[:, None]) ** 2
    q = np.zeros((n, STATE_DIM, STATE_DIM))
    s = step[:, None]
    q[:, idx, idx] = accel * s**3 / 3
    q[:, idx, idx + BOX_DIM] = accel * s**2 / 2
    q[:, idx + BOX_DIM, idx] = accel * s**2 / 2
    q[:, idx + BOX_DIM, idx + BOX_DIM] = accel * s
    drift = (config.size_drift * _heights(mean)) ** 2 * step
    q[:, 2, 2] += drift
    q[:, 3, 3] += drift
    new_cov = np.einsum("nij,njk,nlk->nil", transition, cov, transition) + q
    return new_mean, new_cov


def predict_mean(mean: F64, dt: npt.ArrayLike) -> F64:
    """Only the predicted means (what :func:`predict` gives, without the covariance)."""
    step = np.broadcast_to(np.asarray(dt, dtype=np.float64), (mean.shape[0],))
    result = mean.copy()
    result[:, :BOX_DIM] += mean[:, BOX_DIM:] * step[:, None]
    return result


def project(mean: F64, cov: F64, config: KalmanConfig, noise_scale: npt.ArrayLike = 1.0) -> tuple[F64, F64]:
    """The predicted measurement (cx, cy, w, h) and its covariance including the detector's noise.

    ``noise_scale`` (one value, one per box, or (N, 4) per box and coordinate) multiplies the detector's
    noise std, for less trusted boxes.
    """
    scale = np.asarray(noise_scale, dtype=np.float64)
    scale = np.broadcast_to(scale[:, None] if scale.ndim == 1 else scale, (mean.shape[0], BOX_DIM))
    r = (np.asarray(config.measurement)[None, :] * _heights(mean)[:, None] * scale) ** 2
    box_cov = cov[:, :BOX_DIM, :BOX_DIM].copy()
    idx = np.arange(BOX_DIM)
    box_cov[:, idx, idx] += r
    return mean[:, :BOX_DIM].copy(), box_cov


def update(
    mean: F64, cov: F64, xyxy: npt.ArrayLike, config: KalmanConfig, noise_scale: npt.ArrayLike = 1.0
) -> tuple[F64, F64]:
    """States corrected by measured boxes (one per state). Returns new arrays."""
    measured = xyxy_to_cxcywh(xyxy)
    projected, s = project(mean, cov, config, noise_scale)
    cross = cov[:, :, :BOX_DIM]  # P H^T
    gain = np.linalg.solve(s, np.transpose(cross, (0, 2, 1)))  # (S^-1 H P) = K^T, S symmetric
    gain = np.transpose(gain, (0, 2, 1))
    innovation = measured - projected
    new_mean = mean + np.einsum("nij,nj->ni", gain, innovation)
    new_cov = cov - np.einsum("nij,njk,nlk->nil", gain, s, gain)
    new_cov = (new_cov + np.transpose(new_cov, (0, 2, 1))) / 2
    return new_mean, new_cov


def mahalanobis(mean: F64, cov: F64, xyxy: npt.ArrayLike, config: KalmanConfig, dims: int = 2) -> F64:
    """Squared Mahalanobis distances (tracks x boxes) over the first ``dims`` of (cx, cy, w, h)."""
    measured = xyxy_to_cxcywh(xyxy)[:, :dims]
    projected, s = project(mean, cov, config)
    diff = measured[None, :, :] - projected[:, None, :dims]
    inv = np.linalg.inv(s[:, :dims, :dims])
    return np.asarray(np.einsum("tbi,tij,tbj->tb", diff, inv, diff), dtype=np.float64)
