"""The appearance vector: fixed length, unit norm, similar for the same figure, dissimilar for another outfit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_data_dir
from tests.support.person_scenes import BLUE_TROUSERS, RED_TOP, make_person_scene, read_frames
from vigil.vision.appearance import APPEARANCE_LENGTH, appearance_vector, cosine
from vigil.vision.segment import ColourModelSegmenter

PETS = shared_data_dir() / "pets09-s2l1"


def vector_of(top: tuple[int, int, int], trousers: tuple[int, int, int], **placement: float) -> np.ndarray:
    scene = make_person_scene(top, trousers, **placement)  # type: ignore[arg-type]
    silhouette = ColourModelSegmenter().segment(scene.image, scene.box)
    return appearance_vector(scene.image, scene.box, silhouette.mask)


def test_vector_has_the_documented_shape_and_unit_norm() -> None:
    vector = vector_of(RED_TOP, BLUE_TROUSERS)
    assert vector.dtype == np.float32 and vector.shape == (APPEARANCE_LENGTH,) == (128,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert (vector[:-31] >= 0).all()  # everything before the signed layout and the shape blocks is a histogram


def test_same_figure_moved_and_rescaled_is_closer_than_other_outfits() -> None:
    reference = vector_of(RED_TOP, BLUE_TROUSERS)
    moved = vector_of(RED_TOP, BLUE_TROUSERS, x=140, y=30, scale=1.4, seed=5)
    shrunk = vector_of(RED_TOP, BLUE_TROUSERS, x=60, y=70, scale=0.6, seed=6)
    green_black = vector_of((40, 160, 40), (30, 30, 30))
    swapped = vector_of((130, 50, 20), (30, 30, 190))  # blue top over red trousers: same colours, other places
    for same in (moved, shrunk):
        assert cosine(reference, same) > 0.9
        assert cosine(reference, same) > cosine(reference, swapped) + 0.1
        assert cosine(reference, same) > cosine(reference, green_black) + 0.2


def test_without_a_mask_the_shape_prior_stands_in() -> None:
    scene = make_person_scene()
    prior_vector = appearance_vector(scene.image, scene.box)
    assert cosine(prior_vector, vector_of(RED_TOP, BLUE_TROUSERS)) > 0.8


def test_empty_box_gives_the_zero_vector_and_a_wrong_mask_is_refused() -> None:
    scene = make_person_scene()
    assert not appearance_vector(scene.image, np.array([500, 500, 520, 560], np.float32)).any()
    with pytest.raises(ValueError, match="does not match"):
        appearance_vector(scene.image, scene.box, np.ones((5, 5), bool))


@pytest.mark.data
@pytest.mark.skipif(not (PETS / "vtest.avi").is_file(), reason=f"PETS09 data not found under {PETS}")
def test_pets_people_are_found_again_by_appearance() -> None:
    """Gallery: each person's boxes from the first half of their track; queries: the second half."""
    rows = np.loadtxt(PETS / "gt_mot_full_480x360.txt", delimiter=",", ndmin=2)
    rows = np.concatenate([rows[rows[:, 1] == i][::8] for i in np.unique(rows[:, 1])])
    frames = read_frames(PETS / "vtest.avi", set(rows[:, 0].astype(int).tolist()))
    segmenter = ColourModelSegmenter()
    vectors, identities, first_half = [], [], []
    for number, identity, left, top, width, height in rows[:, :6].tolist():
        box = np.array([left, top, left + width, top + height])
        image = frames[int(number)]
        vectors.append(appearance_vector(image, box, segmenter.segment(image, box).mask))
        track = rows[rows[:, 1] == identity, 0]
        identities.append(identity)
        first_half.append(number <= np.median(track))
    v, ids, gallery = np.array(vectors), np.array(identities), np.array(first_half)
    similarity = v[~gallery] @ v[gallery].T
    rank1 = float(np.mean(ids[gallery][similarity.argmax(axis=1)] == ids[~gallery]))
    same = similarity[ids[~gallery][:, None] == ids[gallery][None, :]].mean()
    other = similarity[ids[~gallery][:, None] != ids[gallery][None, :]].mean()
    assert rank1 > 0.4  # 19 people, most in black: chance is about 0.05
    assert same > other + 0.08
