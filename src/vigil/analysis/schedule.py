"""When to run the detector, and on which parts of the frame.

Detection is the expensive stage (tens of milliseconds a call on a CPU), so the pipeline does less of it:

* **Motion gating.** With nothing moving and no live track, no detection at all.
* **A detection rate, not every frame.** While tracks are live, detect every ``interval`` frames (about
  0.5 s), four times as long (2 s) while the scene is calm (every object tracked and well apart from the
  others): the Kalman filter predicts in between and the store interpolates the sampled boxes.
* **New motion is looked at at once.** Motion that no live track explains triggers a detection on the
  next frame, so a person walking in is picked up promptly; if such a detection finds nothing new (a flag,
  trees), the wait before the next one doubles up to ``max_idle``. When nothing is tracked, the pipeline also
  makes the motion stage absorb regions a detection found empty (the ghost a person leaves where they stood).
* **Regions, not frames.** The detector runs on crops around the motion regions and the predicted boxes of
  live tracks (with a margin of context), each scaled so objects keep the resolution a full-frame pass would
  give them, so a small crop costs a small input. Of the separate crops, their bounding box and the whole
  frame, the cheapest in network pixels is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.domain.detections import Detections
from vigil.vision.motion import Box, Motion, merge_boxes


@dataclass(frozen=True)
class SchedulePolicy:
    interval: int = 3
    """Frames between detections while tracks are live (1 = every frame)."""
    calm_factor: int = 4
    """While every track is confirmed, was seen at the last detection and is far from the others, detection
    runs this many times less often (nothing to disentangle; the store interpolates between detections)."""
    max_idle: int = 8
    """Longest wait, in frames, between detections on motion that keeps yielding nothing."""
    gating: bool = True
    """Use motion and live tracks to decide; False detects every ``interval`` frames regardless."""
    regions: bool = True
    """Detect on crops around motion and tracks; False always detects on the whole frame."""
    min_input: int = 128
    """Smallest network input (long side) for a crop: detectors lose recall on tiny inputs."""
    object_pixels: float = 128.0
    """Height, in network pixels, a tracked object needs to be detected again reliably."""
    call_overhead: int = 8192
    """Fixed cost of one detector call, in network pixels, when choosing between crops and a full frame."""
    track_margin: float = 1.0
    """Context around a predicted track box, in box heights (detectors need context around an object)."""
    min_crop: float = 0.36
    """Smallest crop side as a fraction of the frame height."""


@dataclass
class Scheduler:
    """Stateful decision of which frames to detect on; its two counters are part of the checkpoint."""

    policy: SchedulePolicy
    last_index: int = -(10**9)
    idle_wait: int = 1

    def due(
        self, index: int, motion: Motion | None, live: Callable[[], Detections], tracking: bool, calm: bool = False
    ) -> bool:
        """Whether to detect on frame ``index``, given its motion, whether any track is live, whether the
        scene is calm (every track confirmed, seen last time and well apart from the others: detection may
        wait ``calm_factor`` times longer) and (called only if needed) the live tracks' predicted boxes."""
        since = index - self.last_index
        if not self.policy.gating or motion is None:
            return since >= self.policy.interval
        interval = self.policy.interval * (self.policy.calm_factor if calm else 1)
        if tracking and since >= interval:
            return True
        if not motion.regions or since < self.idle_wait:
            return False
        return bool(unexplained(motion.regions, live()))

    def done(self, index: int, motion: Motion | None, live: Detections, found_new: bool) -> None:
        """Record a detection on frame ``index``; ``found_new`` when it produced a detection no track explained."""
        was_motion_only = motion is not None and bool(unexplained(motion.regions, live))
        if found_new or not was_motion_only:
            self.idle_wait = 1
        else:
            self.idle_wait = min(self.idle_wait * 2, self.policy.max_idle)
        self.last_index = index

    def crops(self, width: int, height: int, motion: Motion | None, live: Detections, scale: float) -> list[Crop]:
        """Crops to detect on and their input sizes; one crop of the whole frame when that is cheaper.

        ``scale`` is network pixels per source pixel of a full-frame pass. Candidates are the merged
        regions, their bounding box and the whole frame; the cheapest in network pixels (with a fixed
        overhead per call) wins.
        """
        whole = [Crop((0, 0, width, height), _input_size(width, height, scale, 32))]
        if not self.policy.regions or motion is None:
            return whole
        boxes = list(motion.regions)
        m = self.policy.track_margin
        for x0, y0, x1, y1 in live.xyxy.tolist():
            pad = m * max(y1 - y0, 8.0)
            boxes.append((int(x0 - pad), int(y0 - pad), int(np.ceil(x1 + pad)), int(np.ceil(y1 + pad))))
        min_side = max(32, round(self.policy.min_crop * height))
        grown = [_at_least(_clip(b, width, height), min_side, width, height) for b in boxes]
        merged = merge_boxes([b for b in grown if b[2] > b[0] and b[3] > b[1]])
        if not merged:
            return whole
        union = (
            min(b[0] for b in merged),
            min(b[1] for b in merged),
            max(b[2] for b in merged),
            max(b[3] for b in merged),
        )
        new_motion = unexplained(motion.regions, live)
        options = [
            [self._crop(union, scale, live, new_motion)],
            [self._crop(b, scale, live, new_motion) for b in merged],
        ]
        return min([whole, *options], key=self._cost)

    def _crop(self, box: Box, scale: float, live: Detections, new_motion: list[Box]) -> Crop:
        """``box`` at ``scale``, or smaller when it holds only tracked objects that are large in the picture.

        A crop whose every object is a live track shrinks until its smallest track is ``object_pixels`` high
        in the network input (a person near the camera needs no more pixels than one far away). Untracked
        motion inside keeps the full scale: its size is unknown.
        """
        inside = _centres_in(live.xyxy, box)
        if len(inside) and not any(_overlaps(region, box) for region in new_motion):
            smallest = float(np.min(live.xyxy[inside, 3] - live.xyxy[inside, 1]))
            scale = min(scale, self.policy.object_pixels / max(smallest, 1.0))
        return Crop(box, _input_size(box[2] - box[0], box[3] - box[1], scale, self.policy.min_input))

    def _cost(self, crops: list[Crop]) -> float:
        return sum(c.pixels for c in crops) + self.policy.call_overhead * len(crops)


@dataclass(frozen=True)
class Crop:
    """A region of the frame (source pixels) and the long side of the network input it is scaled to."""

    box: Box
    input_size: int

    @property
    def pixels(self) -> int:
        """Network input pixels (the canvas is padded to multiples of 32)."""
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        short = self.input_size * min(w, h) / max(w, h, 1)
        return self.input_size * int(np.ceil(short / 32) * 32)


def _input_size(width: int, height: int, scale: float, minimum: int) -> int:
    return max(minimum, int(np.ceil(max(width, height) * scale / 32)) * 32)


def _centres_in(xyxy: npt.NDArray[np.float32], box: Box) -> npt.NDArray[np.intp]:
    cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2
    return np.flatnonzero((cx >= box[0]) & (cx < box[2]) & (cy >= box[1]) & (cy < box[3]))


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _clip(box: Box, width: int, height: int) -> Box:
    return max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])


def _at_least(box: Box, side: int, width: int, height: int) -> Box:
    """``box`` grown about its centre to at least ``side`` x ``side`` pixels, kept inside the frame."""
    x0, y0, x1, y1 = box
    w, h = max(side, x1 - x0), max(side, y1 - y0)
    x0 = min(max(0, (x0 + x1) // 2 - w // 2), max(0, width - w))
    y0 = min(max(0, (y0 + y1) // 2 - h // 2), max(0, height - h))
    return x0, y0, min(width, x0 + w), min(height, y0 + h)


def unexplained(regions: list[Box], live: Detections) -> list[Box]:
    """Motion regions that do not overlap any live track's predicted box."""
    if not len(live):
        return list(regions)
    boxes = live.xyxy
    result = []
    for x0, y0, x1, y1 in regions:
        overlap = (np.minimum(boxes[:, 2], x1) > np.maximum(boxes[:, 0], x0)) & (
            np.minimum(boxes[:, 3], y1) > np.maximum(boxes[:, 1], y0)
        )
        if not overlap.any():
            result.append((x0, y0, x1, y1))
    return result
