"""How much to enlarge a frame for detection, from how tall people are in this camera's picture.

Detectors trained on everyday photos lose people who are only a few dozen pixels tall once the frame is
scaled down to the network's input. A full-frame pass scales the frame's long side to the detector's input
size (``base_scale`` network pixels per source pixel); :class:`PersonScale` raises that scale so the
*small* people of this camera (not the average ones) reach ``target_px`` network pixels, up to ``max_scale``,
when that enlarges by at least ``min_gain`` (PETS09's people, 41-66 px in a 480x360 frame, are left alone).

The small-person height is the camera's calibrated one (``known_px``, from ``vigil camera sensitivity``). Without
one, the pipeline enlarges nothing by default; with ``adaptive_scale`` on it learns the height per footage: the
10th percentile of the heights of confident person detections so far (the last ``window`` of them), and until
``min_seen`` people have been measured ``prior_fraction`` of the frame height. That learning is off by default
because it measured unreliable (bench/scenes.py, BENCHMARKS.md): detections of people cut by the frame edge or
half hidden pull the percentile down, and on PETS09 the slightly enlarged frames cost 0.01 MOTA and 0.03 IDF1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vigil.domain.detections import PERSON_CLASS_ID, Detections


@dataclass
class PersonScale:
    """Detection scale from observed person heights; ``heights`` is part of the analysis checkpoint."""

    frame_height: int
    base_scale: float
    """Network pixels per source pixel of a plain full-frame pass."""
    known_px: float | None = None
    """Height in source pixels of a small person in this camera, when calibrated."""
    target_px: float = 32.0
    min_gain: float = 1.25
    """Enlarge only when that scales by at least this much: a slight change buys nothing and perturbs tracking."""
    max_scale: float = 3.0
    prior_fraction: float = 0.12
    window: int = 200
    min_seen: int = 5
    heights: list[float] = field(default_factory=list)

    def observe(self, detections: Detections, *, confident: float) -> None:
        """Record the heights of the confident person detections of one detection pass."""
        people = (detections.class_id == PERSON_CLASS_ID) & (detections.score >= confident)
        if not np.any(people):
            return
        boxes = detections.xyxy[people]
        self.heights.extend(float(h) for h in (boxes[:, 3] - boxes[:, 1]).tolist())
        del self.heights[: -self.window]

    def small_person_px(self) -> float:
        """Height, in source pixels, of the small people the detector must still find."""
        if self.known_px is not None:
            return self.known_px
        if len(self.heights) >= self.min_seen:
            return float(np.percentile(np.asarray(self.heights), 10))
        return self.prior_fraction * self.frame_height

    def scale(self) -> float:
        """Network pixels per source pixel for detection: never below ``base_scale``."""
        wanted = min(self.target_px / max(self.small_person_px(), 1.0), self.max_scale)
        return wanted if wanted >= self.min_gain * self.base_scale else self.base_scale

    def state(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.heights, dtype=np.float32)

    def load(self, heights: npt.NDArray[np.float32]) -> None:
        self.heights = [float(h) for h in heights.tolist()]
