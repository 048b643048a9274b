from __future__ import annotations

import numpy as np
import pytest

from tests.vision.faces.builders import FR, shared_photo
from vigil.vision.faces import RetinaFaceDetector

pytest.importorskip("dlib", reason="dlib-bin is an optional comparison model")
pytest.importorskip("face_recognition_models", reason="dlib's weights come from face_recognition_models")

from vigil.vision.faces.dlib_resnet import DlibAligner, DlibResNetEmbedder


@pytest.mark.data
def test_dlib_chips_and_descriptors_for_a_group_photo() -> None:
    image = shared_photo(f"{FR}two_people.jpg")
    faces = RetinaFaceDetector(threads=2).detect(image)
    chips = DlibAligner().align(image, faces)
    assert chips.shape == (2, 150, 150, 3) and chips.dtype == np.uint8
    vectors = DlibResNetEmbedder().embed(chips)
    assert vectors.shape == (2, 128)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1, 1], abs=1e-5)


def test_dlib_embedder_rejects_arcface_chips() -> None:
    with pytest.raises(ValueError, match="150, 150, 3"):
        DlibResNetEmbedder().embed(np.zeros((1, 112, 112, 3), np.uint8))
