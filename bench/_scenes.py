"""The scenes of the multi-scene benchmark (bench/scenes.py): video, size, frames and ground-truth file.

PETS09-S2L1's ground truth is the shipped one (A. Milan's annotation); the others are drafted by
``bench/_scene_gt.py`` and corrected by eye (see ``bench/data/README.md``). "half" scenes are the same
footage downscaled to half width and height (384x216) to mimic a low-resolution CCTV camera with small
people; their ground truth is the full-size one scaled by 0.5.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from bench._common import pets, shared_data

from vigil.analysis.decode import frames
from vigil.domain.detections import Frame

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Scene:
    name: str
    video: Path
    gt: Path
    fps: float
    frame_count: int
    """Frames evaluated (from the first)."""
    scale: float = 1.0
    """Frames and ground truth are resized by this factor."""

    def frames(self) -> Iterator[Frame]:
        for frame in frames(self.video, 0):
            if frame.index >= self.frame_count:
                return
            if self.scale != 1.0:
                image = cv2.resize(frame.image, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
                frame = Frame(np.ascontiguousarray(image), frame.timestamp, frame.index)
            yield frame


def intel(name: str) -> Path:
    return shared_data() / "intel-sample-videos" / f"{name}.mp4"


def scenes() -> list[Scene]:
    one, street = intel("one-by-one-person-detection"), intel("person-bicycle-car-detection")
    return [
        Scene("pets09", pets() / "vtest.avi", pets() / "gt_mot_full_480x360.txt", 10.0, 795),
        Scene("pets09-half", pets() / "vtest.avi", pets() / "gt_mot_full_480x360.txt", 10.0, 795, 0.5),
        Scene("one-by-one", one, DATA / "one-by-one-person-detection.gt.txt", 10.0, 700),
        Scene("one-by-one-half", one, DATA / "one-by-one-person-detection.gt.txt", 10.0, 700, 0.5),
        Scene("street", street, DATA / "person-bicycle-car-detection.gt.txt", 12.0, 467),
        Scene("street-half", street, DATA / "person-bicycle-car-detection.gt.txt", 12.0, 467, 0.5),
    ]
