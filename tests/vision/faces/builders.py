"""Builders for the face tests: real photos from ../shared/data (skipped when absent) and synthetic faces."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import shared_data_dir
from vigil.vision.faces import ARCFACE_TEMPLATE, Faces

FR = "faces-face_recognition/examples/"
DEEPFACE = "faces-deepface/tests/unit/dataset/"


def shared_photo(relative: str) -> npt.NDArray[np.uint8]:
    """A photo from the shared data folder; the test is skipped when the folder is absent."""
    path: Path = shared_data_dir() / relative
    if not path.is_file():
        pytest.skip(f"shared data absent: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


def similarity_matrix(scale: float, degrees: float, tx: float, ty: float) -> npt.NDArray[np.float64]:
    angle = math.radians(degrees)
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty]])


def make_landmarks(
    *, eyes_px: float = 60.0, roll: float = 0.0, centre: tuple[float, float] = (200.0, 200.0)
) -> npt.NDArray[np.float32]:
    """Five frontal landmarks (the ArcFace template) scaled to ``eyes_px`` between the eyes and rotated by ``roll``."""
    template_eyes = float(np.linalg.norm(ARCFACE_TEMPLATE[1] - ARCFACE_TEMPLATE[0]))
    points = ARCFACE_TEMPLATE - ARCFACE_TEMPLATE.mean(axis=0)
    matrix = similarity_matrix(eyes_px / template_eyes, roll, *centre)
    landmarks: npt.NDArray[np.float32] = (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
    return landmarks


def make_faces(*landmarks: npt.NDArray[np.float32]) -> Faces:
    """Faces whose boxes enclose the given landmark sets (score 0.99)."""
    boxes = []
    for points in landmarks:
        span = float(np.ptp(points[:, 0])) or 1.0
        low, high = points.min(axis=0) - span * 0.6, points.max(axis=0) + span * 0.6
        boxes.append([*low, *high])
    return Faces(np.array(boxes), np.full(len(landmarks), 0.99), np.stack(landmarks))


def textured_image(size: int = 400, seed: int = 0) -> npt.NDArray[np.uint8]:
    """A sharp random texture (sharpness far above any threshold)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
