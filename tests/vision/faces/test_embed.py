from __future__ import annotations

import numpy as np
import pytest

from tests.vision.faces.builders import DEEPFACE, FR, shared_photo
from vigil.vision.faces import ArcFaceAligner, MobileFaceNetEmbedder, RetinaFaceDetector, default_recognizer


def chips(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 112, 112, 3), dtype=np.uint8)


def test_embeddings_are_unit_192_d_and_independent_of_batching() -> None:
    embedder = MobileFaceNetEmbedder(batch_size=2)
    assert not embedder.model.loaded
    batch = chips(3)
    vectors = embedder.embed(batch)
    assert vectors.shape == (3, 192) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    assert embedder.embed(batch[1:2])[0] == pytest.approx(vectors[1], abs=1e-5)
    assert embedder.embed(batch[:0]).shape == (0, 192)


@pytest.mark.parametrize("bad", [np.zeros((1, 96, 96, 3), np.uint8), np.zeros((1, 112, 112, 3), np.float32)])
def test_rejects_chips_of_the_wrong_shape_or_type(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="112, 112, 3"):
        MobileFaceNetEmbedder().embed(bad)


PEOPLE = {  # identity -> two photos of that person
    "obama": (f"{FR}obama.jpg", f"{FR}knn_examples/test/obama1.jpg"),
    "biden": (f"{FR}biden.jpg", f"{FR}knn_examples/train/biden/biden2.jpg"),
    "id01": (f"{DEEPFACE}img1.jpg", f"{DEEPFACE}img2.jpg"),
    "id02": (f"{DEEPFACE}img26.jpg", f"{DEEPFACE}img27.jpg"),
    "id04": (f"{DEEPFACE}img3.jpg", f"{DEEPFACE}img12.jpg"),
}


@pytest.mark.data
def test_same_person_pairs_score_higher_than_different_person_pairs() -> None:
    recognizer = default_recognizer(threads=2)
    detector = RetinaFaceDetector(threads=2, max_side=640)
    vectors, names = [], []
    for name, photos in PEOPLE.items():
        for photo in photos:
            image = shared_photo(photo)
            analysis = recognizer.analyse(image, detector.detect(image).primary())
            assert len(analysis) == 1 and analysis.quality[0].searchable
            vectors.append(analysis.embeddings[0])
            names.append(name)
    similarity = np.stack(vectors) @ np.stack(vectors).T
    same = np.equal.outer(names, names) & ~np.eye(len(names), dtype=bool)
    different = ~np.equal.outer(names, names)
    assert similarity[same].min() > similarity[different].max()
    assert similarity[same].mean() - similarity[different].mean() > 0.5


@pytest.mark.data
def test_each_face_of_a_group_photo_gets_its_own_embedding() -> None:
    image = shared_photo(f"{FR}two_people.jpg")
    faces = RetinaFaceDetector(threads=2).detect(image)
    vectors = MobileFaceNetEmbedder(threads=2).embed(ArcFaceAligner().align(image, faces))
    assert vectors.shape == (2, 192)
    assert float(vectors[0] @ vectors[1]) < 0.5
