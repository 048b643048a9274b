"""Motion gating: where in a frame something moved, so detection runs only there (in the manner of Frigate).

Each frame is shrunk to a small grey image (``width`` pixels wide) and blurred; a running-average
background (``cv2.accumulateWeighted``) is subtracted, the difference thresholded and dilated, and the
bounding boxes of the remaining contours, padded and merged, are the motion regions, returned in source
pixels. A change over most of the picture (lights switched on, the camera's exposure jumping, a PTZ move)
resets the background instead of reporting the whole frame as motion.

The background learns with a time constant in seconds, so the behaviour does not depend on the frame rate.
Its state (:meth:`MotionDetector.state_arrays`) is part of an analysis checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class MotionConfig:
    width: int = 240
    """Width of the grey image motion is found in (height keeps the aspect ratio)."""
    threshold: int = 18
    """Grey-level difference from the background that counts as motion."""
    background_seconds: float = 4.0
    """Time constant of the running-average background: a new still object fades in over about this long."""
    min_area: float = 0.0004
    """Smallest contour kept, as a fraction of the frame area."""
    reset_fraction: float = 0.6
    """A frame with more than this fraction moving resets the background and reports no motion."""
    padding: float = 0.02
    """Regions are grown by this fraction of the frame's long side before merging."""
    dilate: int = 2


@dataclass(frozen=True)
class Motion:
    """What the motion stage found in one frame."""

    regions: list[Box]
    """Merged moving regions in source pixels (x0, y0, x1, y1), largest first."""
    fraction: float
    """Fraction of the (shrunk) frame that moved."""
    reset: bool = False
    """True when the background was reset (a global change) or had not been learnt yet."""


def merge_boxes(boxes: list[Box], gap: int = 0) -> list[Box]:
    """Boxes merged until no two overlap (or come within ``gap`` pixels); largest area first."""
    merged = [tuple(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        out: list[tuple[int, ...]] = []
        for box in merged:
            for k, other in enumerate(out):
                if (
                    box[0] <= other[2] + gap
                    and other[0] <= box[2] + gap
                    and box[1] <= other[3] + gap
                    and other[1] <= box[3] + gap
                ):
                    out[k] = (
                        min(box[0], other[0]),
                        min(box[1], other[1]),
                        max(box[2], other[2]),
                        max(box[3], other[3]),
                    )
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    result = [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in merged]
    return sorted(result, key=lambda b: (-(b[2] - b[0]) * (b[3] - b[1]), b))


class MotionDetector:
    """Finds moving regions frame by frame; see the module docstring."""

    def __init__(self, config: MotionConfig | None = None, *, fps: float = 10.0) -> None:
        self.config = config or MotionConfig()
        self.fps = fps if fps > 0 else 10.0
        self._background: npt.NDArray[np.float32] | None = None
        self._grey: npt.NDArray[np.uint8] | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    @property
    def alpha(self) -> float:
        return float(min(1.0, 1.0 / (self.config.background_seconds * self.fps)))

    def small_grey(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """The shrunk, blurred grey image motion is computed on."""
        height, width = image.shape[:2]
        small_w = min(self.config.width, width)
        small_h = max(1, round(height * small_w / width))
        interpolation = cv2.INTER_AREA if width <= 2 * small_w else cv2.INTER_NEAREST  # blurred next
        small = cv2.resize(image, (small_w, small_h), interpolation=interpolation)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return np.asarray(cv2.GaussianBlur(grey, (5, 5), 0), dtype=np.uint8)

    def update(self, image: npt.NDArray[np.uint8]) -> Motion:
        """Motion in ``image`` (BGR or grey, any size) against the background, which then learns the frame."""
        grey = self._grey = self.small_grey(image)
        if self._background is None or self._background.shape != grey.shape:
            self._background = grey.astype(np.float32)
            return Motion([], 0.0, reset=True)
        delta = cv2.absdiff(grey, cv2.convertScaleAbs(self._background))
        above = cv2.threshold(delta, self.config.threshold, 255, cv2.THRESH_BINARY)[1]
        mask: npt.NDArray[np.uint8] = np.asarray(
            cv2.dilate(above, self._kernel, iterations=self.config.dilate), dtype=np.uint8
        )
        fraction = float(np.count_nonzero(mask)) / mask.size
        if fraction > self.config.reset_fraction:
            self._background = grey.astype(np.float32)
            return Motion([], fraction, reset=True)
        cv2.accumulateWeighted(grey, self._background, self.alpha)
        regions = self._regions(mask, image.shape[1] / grey.shape[1], image.shape[0] / grey.shape[0])
        return Motion(regions, fraction)

    def absorb(self, regions: list[Box], width: int, height: int) -> None:
        """Make ``regions`` (source pixels of a ``width`` x ``height`` frame) of the last frame part of the
        background at once, so that motion a detection has just found to be nothing (the ghost a person leaves
        where they stood, a flickering light) stops prompting detections rather than fading over seconds."""
        if self._background is None or self._grey is None or self._grey.shape != self._background.shape:
            return
        sx, sy = self._grey.shape[1] / width, self._grey.shape[0] / height
        for x0, y0, x1, y1 in regions:
            left, top = max(0, int(x0 * sx)), max(0, int(y0 * sy))
            right, bottom = int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy))
            self._background[top:bottom, left:right] = self._grey[top:bottom, left:right]

    def _regions(self, mask: npt.NDArray[np.uint8], sx: float, sy: float) -> list[Box]:
        height, width = mask.shape
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_area = self.config.min_area * width * height
        pad = self.config.padding * max(width, height)
        boxes: list[Box] = []
        for contour in contours:
            if cv2.contourArea(contour) < min_area:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            boxes.append(
                (
                    max(0, int((x - pad) * sx)),
                    max(0, int((y - pad) * sy)),
                    min(int(width * sx), int(np.ceil((x + w + pad) * sx))),
                    min(int(height * sy), int(np.ceil((y + h + pad) * sy))),
                )
            )
        return merge_boxes(boxes)

    def state_arrays(self) -> dict[str, npt.NDArray[np.float32]]:
        """The learnt background, for a checkpoint (empty before the first frame)."""
        return {"background": self._background.copy() if self._background is not None else np.zeros((0, 0), np.float32)}

    def load_state(self, arrays: dict[str, npt.NDArray[np.float32]]) -> None:
        background = np.asarray(arrays["background"], dtype=np.float32)
        self._background = background.copy() if background.size else None
