"""Calibrating a camera's detection score from marked frames (analysis.sensitivity), on generated frames.

Each frame holds a walking figure (red, a person) and a mannequin (blue, standing still); the detector stands in
for a real one that scores this camera's people at 0.45-0.55 and the mannequin at 0.3, the situation of a
shop-window camera where the default threshold either misses people or reports mannequins.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from vigil.analysis.sensitivity import calibrate, parse_marks
from vigil.domain.detections import Detections, Frame
from vigil.errors import InvalidInput

W, H = 384, 288
MANNEQUIN = (300, 100, 320, 150)


def walker_box(index: int) -> tuple[int, int, int, int]:
    x = 20 + 20 * index
    return (x, 120, x + 16, 165)


def frame(index: int) -> Frame:
    image = np.full((H, W, 3), 100, np.uint8)
    x0, y0, x1, y1 = walker_box(index)
    image[y0:y1, x0:x1] = (40, 40, 220)
    image[MANNEQUIN[1] : MANNEQUIN[3], MANNEQUIN[0] : MANNEQUIN[2]] = (220, 60, 40)
    return Frame(image, index / 10.0, index)


class ShopDetector:
    """Red blobs are people scoring 0.45-0.55; the blue mannequin is a person scoring 0.3."""

    def __init__(self) -> None:
        self.sizes: list[int | None] = []

    def detect(
        self,
        image: npt.NDArray[np.uint8],
        *,
        roi: tuple[int, int, int, int] | None = None,
        input_size: int | None = None,
    ) -> Detections:
        self.sizes.append(input_size)
        boxes, scores = [], []
        for colour, score in (((40, 40, 220), 0.45 + 0.01 * (int(image[0, 0, 0]) % 10)), ((220, 60, 40), 0.3)):
            ys, xs = np.nonzero(np.all(image == colour, axis=2))
            if len(xs):
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                scores.append(score)
        return Detections(
            np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32), np.zeros(len(boxes), np.int32)
        )


def marks_text(frames: list[int]) -> str:
    lines = ["# frame,left,top,width,height"]
    for index in frames:
        x0, y0, x1, y1 = walker_box(index)
        lines.append(f"{index + 1},{x0},{y0},{x1 - x0},{y1 - y0}")
    return "\n".join(lines)


def test_the_calibrated_score_keeps_the_people_and_drops_the_mannequin() -> None:
    marks = parse_marks(marks_text([2, 5, 9]))
    detector = ShopDetector()
    result = calibrate(frames=(frame(i) for i in range(12)), marks=marks, detector=detector, input_size=416)
    assert 0.3 < result.score_threshold <= 0.45
    assert (result.chosen.recall, result.chosen.precision) == (1.0, 1.0)
    assert (result.frames, result.people) == (3, 3)
    assert result.person_height_px == pytest.approx(45.0)
    default = next(t for t in result.trials if t.score == 0.3)
    assert default.precision == 0.5  # what the default would have done here: a mannequin for every person
    assert len(detector.sizes) == 3  # only the marked frames are detected on


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "no marked person"),
        ("# only a comment", "no marked person"),
        ("1,2,3", "line 1"),
        ("one,2,3,4,5", "line 1"),
        ("0,10,10,5,5", "frame must be 1 or more"),
        ("3,10,10,0,5", "box non-empty"),
        ("3,10,10,5,5\n4,nan,1,2,3", "line 2: numbers must be finite"),
    ],
)
def test_bad_marks_get_a_clear_error(text: str, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        parse_marks(text)


def test_a_marked_frame_missing_from_the_video_is_named() -> None:
    with pytest.raises(InvalidInput, match="marked frame 40 is not in the video"):
        calibrate(
            frames=(frame(i) for i in range(12)),
            marks=parse_marks("40,1,1,5,5"),
            detector=ShopDetector(),
            input_size=416,
        )
