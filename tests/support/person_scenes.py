"""Synthetic scenes of a person in a red top and blue trousers, and reading chosen frames back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

RED_TOP, BLUE_TROUSERS = (30, 30, 200), (110, 60, 40)  # BGR: a red top, denim jeans
GRASS, PAVING = (50, 120, 60), (120, 140, 160)  # a lawn, sandstone slabs


@dataclass(frozen=True)
class Scene:
    image: npt.NDArray[np.uint8]
    box: npt.NDArray[np.float32]
    """A loose detector-style box: the figure plus as much background again."""
    person: npt.NDArray[np.bool_]
    """Frame-sized truth: the figure's pixels."""
    shadow: npt.NDArray[np.bool_]
    """Frame-sized truth: the figure's cast shadow on the ground."""


def make_person_scene(
    top: tuple[int, int, int] = RED_TOP,
    trousers: tuple[int, int, int] = BLUE_TROUSERS,
    *,
    x: float = 90,
    y: float = 40,
    scale: float = 1.0,
    seed: int = 0,
) -> Scene:
    """A figure (skin head, ``top``, ``trousers``, black shoes; 24 x 100 px at scale 1) where a lawn meets a path.

    The upper body is seen against grass, the legs against paving slabs, and the figure's shadow falls behind
    it across the path, through the box and out of it.
    """
    rng = np.random.default_rng(seed)

    def px(v: float) -> int:
        return round(x + v * scale)

    def py(v: float) -> int:
        return round(y + v * scale)

    canvas = np.empty((240, 260, 3), np.float64)
    canvas[:] = GRASS
    canvas[py(55) :] = PAVING
    canvas[py(55) :: 9] -= 25  # joints between slabs
    canvas += rng.normal(0, 7, canvas.shape)
    shadow = np.zeros(canvas.shape[:2], np.uint8)
    reach_x, reach_y = 70 * scale, 44 * scale
    foot = [(px(0), py(100)), (px(24), py(100))]
    corners = [*foot, (foot[1][0] + reach_x, foot[1][1] - reach_y), (foot[0][0] + reach_x, foot[0][1] - reach_y)]
    cv2.fillPoly(shadow, [np.array(corners, np.int32)], 1)
    shadow[: py(55)] = 0
    canvas[shadow > 0] *= 0.45
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    person = np.zeros(canvas.shape[:2], np.uint8)
    head = ((px(12), py(8)), (int(6 * scale), int(8 * scale)))
    cv2.ellipse(person, *head, 0, 0, 360, 1, -1)
    cv2.rectangle(person, (px(1), py(16)), (px(23), py(99)), 1, -1)
    cv2.ellipse(image, *head, 0, 0, 360, (120, 150, 200), -1)
    cv2.rectangle(image, (px(1), py(16)), (px(23), py(52)), top, -1)
    cv2.rectangle(image, (px(1), py(53)), (px(23), py(93)), trousers, -1)
    cv2.rectangle(image, (px(1), py(94)), (px(23), py(99)), (20, 20, 20), -1)
    image = np.asarray(cv2.GaussianBlur(image, (3, 3), 0), dtype=np.uint8)
    half = 12 * scale
    box = np.array([px(0) - half, py(-2), px(24) + half, py(101)], np.float32)
    return Scene(image=image, box=box, person=person.astype(bool), shadow=(shadow > 0) & (person == 0))


def read_frames(path: Path, numbers: set[int]) -> dict[int, npt.NDArray[np.uint8]]:
    """The 1-based ``numbers``-th frames of a video, decoded in one pass."""
    capture, number = cv2.VideoCapture(str(path)), 0
    frames: dict[int, npt.NDArray[np.uint8]] = {}
    try:
        while len(frames) < len(numbers):
            ok, frame = capture.read()
            if not ok:
                break
            number += 1
            if number in numbers:
                frames[number] = np.asarray(frame, dtype=np.uint8)
    finally:
        capture.release()
    return frames
