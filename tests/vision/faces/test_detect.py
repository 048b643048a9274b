from __future__ import annotations

import numpy as np
import pytest

from tests.vision.faces.builders import DEEPFACE, FR, shared_photo
from vigil.vision.faces import Faces, RetinaFaceDetector
from vigil.vision.faces.detect import _anchors, decode
from vigil.vision.nms import iou_matrix


def test_zero_regressions_decode_to_the_anchor_boxes() -> None:
    anchors = _anchors(64, 64)
    assert len(anchors) == 2 * (8 * 8 + 4 * 4 + 2 * 2)
    xyxy, points = decode(np.zeros((len(anchors), 4), np.float32), np.zeros((len(anchors), 10), np.float32), anchors)
    assert xyxy[0] == pytest.approx([-4, -4, 12, 12])
    assert points[0] == pytest.approx(np.full((5, 2), 4.0))


def test_creating_a_detector_loads_nothing() -> None:
    assert not RetinaFaceDetector().model.loaded


def test_blank_image_has_no_faces() -> None:
    faces = RetinaFaceDetector().detect(np.full((240, 320, 3), 127, np.uint8))
    assert isinstance(faces, Faces) and len(faces) == 0


@pytest.mark.parametrize("image", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32)])
def test_rejects_images_that_are_not_bgr_uint8(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="BGR uint8"):
        RetinaFaceDetector().detect(image)


@pytest.mark.data
@pytest.mark.parametrize(
    ("photo", "count"),
    [(f"{FR}two_people.jpg", 2), (f"{FR}knn_examples/test/obama_and_biden.jpg", 3), (f"{DEEPFACE}couple.jpg", 2)],
)
def test_finds_every_face_of_a_group_photo_with_landmarks_inside_boxes(photo: str, count: int) -> None:
    faces = RetinaFaceDetector(threads=2).detect(shared_photo(photo))
    assert len(faces) == count
    assert (faces.score >= 0.8).all()
    low, high = faces.xyxy[:, None, :2], faces.xyxy[:, None, 2:]
    assert ((faces.landmarks >= low) & (faces.landmarks <= high)).all()
    left_eye, right_eye, nose, mouth_left, mouth_right = (faces.landmarks[:, i] for i in range(5))
    assert (left_eye[:, 0] < right_eye[:, 0]).all() and (mouth_left[:, 0] < mouth_right[:, 0]).all()
    assert (np.maximum(left_eye[:, 1], right_eye[:, 1]) < nose[:, 1]).all()
    assert (nose[:, 1] < np.minimum(mouth_left[:, 1], mouth_right[:, 1])).all()


@pytest.mark.data
def test_large_photo_is_scaled_down_and_mapped_back() -> None:
    image = shared_photo(f"{FR}biden.jpg")  # 970 x 2204
    detector = RetinaFaceDetector(threads=2, max_side=640)
    small, full = detector.detect(image).primary(), RetinaFaceDetector(threads=2).detect(image).primary()
    assert iou_matrix(small.xyxy, full.xyxy)[0, 0] > 0.85
    assert np.abs(small.landmarks[:, :2] - full.landmarks[:, :2]).max() < 0.05 * float(full.inter_ocular()[0]) + 2
