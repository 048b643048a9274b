from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.vision.faces.builders import FR, make_faces, make_landmarks, shared_photo, similarity_matrix
from vigil.vision.faces import ARCFACE_TEMPLATE, ArcFaceAligner, RetinaFaceDetector, similarity_transform


@pytest.mark.parametrize(("scale", "degrees", "tx", "ty"), [(1.0, 0, 0, 0), (2.5, 30, 40, -7), (0.4, -120, 300, 90)])
def test_similarity_transform_recovers_a_known_transform(scale: float, degrees: float, tx: float, ty: float) -> None:
    matrix = similarity_matrix(scale, degrees, tx, ty)
    source = make_landmarks(eyes_px=50, roll=10)
    target = source @ matrix[:, :2].T + matrix[:, 2]
    assert similarity_transform(source, target) == pytest.approx(matrix, abs=1e-6)


def test_alignment_puts_marked_eyes_on_the_template() -> None:
    """Dots drawn at five landmarks of a rotated, scaled synthetic face land on the ArcFace template."""
    points = make_landmarks(eyes_px=90, roll=35, centre=(250, 220))
    image = np.zeros((480, 520, 3), np.uint8)
    for x, y in points:
        cv2.circle(image, (round(float(x)), round(float(y))), 6, (255, 255, 255), -1, lineType=cv2.LINE_AA)
    chip = ArcFaceAligner().align(image, make_faces(points))[0]
    assert chip.shape == (112, 112, 3)
    for target in ARCFACE_TEMPLATE[:2]:
        x0, y0 = (int(v) - 8 for v in target)
        window = chip[y0 : y0 + 16, x0 : x0 + 16, 0].astype(float)
        ys, xs = np.mgrid[y0 : y0 + 16, x0 : x0 + 16]
        centroid = np.array([(xs * window).sum(), (ys * window).sum()]) / window.sum()
        assert np.linalg.norm(centroid - target) < 1.0


def test_no_faces_gives_no_chips() -> None:
    faces = make_faces(make_landmarks())[np.zeros(1, bool)]
    assert ArcFaceAligner().align(np.zeros((10, 10, 3), np.uint8), faces).shape == (0, 112, 112, 3)


@pytest.mark.data
def test_aligned_real_face_has_its_eyes_at_the_template() -> None:
    image = shared_photo(f"{FR}obama.jpg")
    detector = RetinaFaceDetector(threads=1)
    chip = ArcFaceAligner().align(image, detector.detect(image).primary())[0]
    canvas = cv2.copyMakeBorder(chip, 56, 56, 56, 56, cv2.BORDER_CONSTANT)  # room for the detector's anchors
    again = detector.detect(canvas).primary()
    assert len(again) == 1
    eyes = again.landmarks[0, :2] - 56
    assert np.abs(eyes - ARCFACE_TEMPLATE[:2]).max() < 4.0
