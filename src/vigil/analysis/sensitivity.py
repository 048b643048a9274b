"""A camera's detection sensitivity calibrated from a few frames where an administrator marked every person.

Detectors score people differently on different cameras (glass, low contrast, people seen from above score
low; mannequins and posters score high), so one threshold does not fit every camera. Given marked frames,
:func:`calibrate` runs the configured detector on each whole frame, at the scale analysis would use for people
of the marked size (:class:`~vigil.analysis.sizing.PersonScale`), with a very low threshold, and picks the
confident-detection score that best separates the marked people from everything else (highest F1, IoU >= 0.5;
the middle of the scores that tie, so a few marks do not push it to either edge). The small-person height is
the marked heights' 10th percentile.

Marks are text, one person per line: ``frame,left,top,width,height`` (frame numbered from 1, pixels of the
video), as ``vigil tracks export --format mot`` writes them; every person in a marked frame must be marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from vigil.analysis.sizing import PersonScale
from vigil.domain.detections import PERSON_CLASS_ID, Frame
from vigil.errors import InvalidInput
from vigil.vision.detect import Detector
from vigil.vision.nms import iou_matrix

F32 = npt.NDArray[np.float32]
THRESHOLDS = tuple(round(0.1 + 0.05 * k, 2) for k in range(13))
"""Confident-detection scores tried: 0.10, 0.15, ..., 0.70."""
MAX_MARKED_FRAMES = 200


@dataclass(frozen=True)
class Trial:
    score: float
    recall: float
    precision: float

    @property
    def f1(self) -> float:
        total = self.recall + self.precision
        return 0.0 if total == 0 else 2 * self.recall * self.precision / total


@dataclass(frozen=True)
class Sensitivity:
    score_threshold: float
    person_height_px: float
    frames: int
    people: int
    trials: tuple[Trial, ...]

    @property
    def chosen(self) -> Trial:
        return next(t for t in self.trials if t.score == self.score_threshold)


def parse_marks(text: str) -> dict[int, F32]:
    """Marked person boxes (x0, y0, x1, y1) by 0-based frame index, or a clear error naming the line."""
    marks: dict[int, list[list[float]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(",")
        try:
            frame, left, top, width, height = (float(v) for v in parts[:5])
        except ValueError:
            raise InvalidInput(f"marks line {number}: expected frame,left,top,width,height, got {line!r}") from None
        if len(parts) < 5 or frame < 1 or frame != int(frame) or width <= 0 or height <= 0:
            raise InvalidInput(f"marks line {number}: frame must be 1 or more and the box non-empty: {line!r}")
        if not all(np.isfinite([left, top, width, height])):
            raise InvalidInput(f"marks line {number}: numbers must be finite: {line!r}")
        marks.setdefault(int(frame) - 1, []).append([left, top, left + width, top + height])
    if not marks:
        raise InvalidInput("the marks file holds no marked person")
    if len(marks) > MAX_MARKED_FRAMES:
        raise InvalidInput(f"at most {MAX_MARKED_FRAMES} marked frames, got {len(marks)}")
    return {frame: np.asarray(boxes, dtype=np.float32) for frame, boxes in marks.items()}


def calibrate(*, frames: Iterable[Frame], marks: Mapping[int, F32], detector: Detector, input_size: int) -> Sensitivity:
    """See the module docstring; ``frames`` may hold more frames than were marked (the others are skipped)."""
    heights = np.concatenate([b[:, 3] - b[:, 1] for b in marks.values()])
    small = float(np.percentile(heights, 10))
    found: dict[int, tuple[F32, F32]] = {}
    for frame in frames:
        if frame.index not in marks:
            continue
        base = input_size / max(frame.width, frame.height)
        scale = PersonScale(frame_height=frame.height, base_scale=base, known_px=small).scale()
        size = int(np.ceil(max(frame.width, frame.height) * scale / 32) * 32)
        result = detector.detect(frame.image, input_size=size)
        people = result.class_id == PERSON_CLASS_ID
        found[frame.index] = (result.xyxy[people], result.score[people])
    missing = sorted(set(marks) - set(found))
    if missing:
        raise InvalidInput(f"marked frame {missing[0] + 1} is not in the video")
    trials = tuple(_trial(score, marks, found) for score in THRESHOLDS)
    top = max(round(t.f1, 6) for t in trials)
    plateau = [t for t in trials if round(t.f1, 6) == top]
    best = plateau[len(plateau) // 2]  # the middle of equally good scores: the widest margin either way
    people = int(sum(len(b) for b in marks.values()))
    return Sensitivity(best.score, round(small, 1), len(marks), people, trials)


def _trial(score: float, marks: Mapping[int, F32], found: Mapping[int, tuple[F32, F32]]) -> Trial:
    tp = fp = fn = 0
    for index, truth in marks.items():
        boxes, scores = found[index]
        boxes = boxes[scores >= score]
        matched = 0
        if len(boxes) and len(truth):
            overlap = iou_matrix(truth, boxes)
            rows, cols = linear_sum_assignment(-overlap)
            matched = int((overlap[rows, cols] >= 0.5).sum())
        tp, fp, fn = tp + matched, fp + len(boxes) - matched, fn + len(truth) - matched
    return Trial(score, tp / max(tp + fn, 1), tp / max(tp + fp, 1) if tp + fp else 1.0)
