"""What the pipeline samples from a track: scaled views of large boxes keep their colours."""

from __future__ import annotations

import collections

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from vigil.analysis.observe import Observer, scaled_view
from vigil.analysis.summary import carried_names, summarise
from vigil.domain.detections import PERSON_CLASS_ID, Detections, Frame
from vigil.domain.vocabulary import BACKPACK, ColourName
from vigil.vision.attributes import person_attributes
from vigil.vision.segment import ColourModelSegmenter

F32 = npt.NDArray[np.float32]


def person_frame(box: tuple[int, int, int, int], size: tuple[int, int] = (768, 432)) -> npt.NDArray[np.uint8]:
    """A textured grey floor with a figure in ``box``: red top, blue trousers, a skin-coloured head."""
    width, height = size
    rng = np.random.default_rng(3)
    image = rng.integers(95, 125, size=(height, width, 1), dtype=np.uint8).repeat(3, axis=2)
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    cv2.ellipse(image, ((x0 + x1) // 2, y0 + h // 12), (w // 5, h // 12), 0, 0, 360, (120, 150, 200), -1)
    cv2.rectangle(image, (x0 + w // 8, y0 + h // 6), (x1 - w // 8, y0 + h // 2), (40, 40, 220), -1)
    cv2.rectangle(image, (x0 + w // 4, y0 + h // 2), (x1 - w // 4, y1 - 1), (200, 80, 30), -1)
    return image


def test_a_small_box_is_sampled_as_it_is() -> None:
    image = person_frame((100, 100, 130, 190))
    box = np.array([100, 100, 130, 190], np.float32)
    view, view_box = scaled_view(image, box, 128)
    assert view is image and view_box is box


@pytest.mark.parametrize("box", [(300, 20, 420, 420), (0, 0, 150, 432), (640, 50, 768, 400)])
def test_a_large_box_is_scaled_down_with_context_and_keeps_its_colours(box: tuple[int, int, int, int]) -> None:
    image = person_frame(box)
    view, view_box = scaled_view(image, np.array(box, np.float32), 128)
    x0, y0, x1, y1 = view_box.tolist()
    assert max(x1 - x0, y1 - y0) == pytest.approx(128, abs=1.5)
    assert 0 <= x0 < x1 <= view.shape[1] and 0 <= y0 < y1 <= view.shape[0]
    assert view.shape[0] * view.shape[1] < 0.1 * image.shape[0] * image.shape[1]
    if box[1] > 0:
        assert y0 > 0, "context above the box is kept for the segmenter's background model"
    silhouette = ColourModelSegmenter(shape="person").segment(view, view_box)
    attributes = person_attributes(view, silhouette)
    assert attributes.upper[0] == ColourName.RED
    assert attributes.lower[0] == ColourName.BLUE


# --- carried bags: said only when the detector is sure and the bag stays with the person ---------------------


def _observe_walk(bag_score: float, frames_with_bag: int, frames: int = 40) -> tuple[str, ...]:
    """A tracked person walking for ``frames`` frames, a backpack of ``bag_score`` on their back in the first
    ``frames_with_bag``; the carried objects of the finished track."""
    observer, records = Observer(attributes=False), {}  # type: ignore[var-annotated]
    for index in range(frames):
        x = 100 + 3 * index
        image = person_frame((x, 100, x + 30, 190))
        person = Detections(xyxy=[[x, 100, x + 30, 190]], score=[0.8], class_id=[PERSON_CLASS_ID], track_id=[7])
        bag = Detections(xyxy=[[x + 5, 120, x + 25, 150]], score=[bag_score], class_id=[BACKPACK])
        carried = bag if index < frames_with_bag else Detections.empty()
        observer.record(Frame(image, index / 10, index), person, carried, np.zeros((1, 8), np.float32), records,
                        confident=0.4)  # fmt: skip
    return summarise(1, records[7], bearing_deg=None).summary.carried


def test_a_bag_seen_with_the_person_confidently_and_often_is_carried() -> None:
    assert _observe_walk(bag_score=0.6, frames_with_bag=20) == ("backpack",)


@pytest.mark.parametrize(
    ("bag_score", "frames_with_bag"),
    [
        (0.25, 40),  # PETS09: CenterNet calls every dark coat a backpack at 0.2-0.27, in every frame
        (0.6, 3),  # a confident backpack in 3 of 40 frames: a passer-by's bag, not this person's
    ],
)
def test_an_unsure_or_fleeting_bag_is_not_said(bag_score: float, frames_with_bag: int) -> None:
    assert _observe_walk(bag_score=bag_score, frames_with_bag=frames_with_bag) == ()


@pytest.mark.parametrize(
    ("votes", "frames", "expected"), [(2, 100, ()), (20, 100, ("backpack",)), (2, 5, ("backpack",))]
)
def test_carried_names_need_a_share_of_the_frames(votes: int, frames: int, expected: tuple[str, ...]) -> None:
    assert carried_names(collections.Counter(backpack=votes), frames) == expected
