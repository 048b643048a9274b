"""Live facial recognition frame by frame: read a stream, find faces, compare them with a frozen watchlist.

The rule the law asks for is enforced here, where faces are first seen: a face that scores below the threshold
against every watchlist entry leaves no trace. Its embedding, box and pixels stay in local variables of
:meth:`LiveMatcher.process` and are dropped when it returns; nothing is logged about it. Only a count survives:
:class:`FaceCounter` counts *distinct* faces (a face followed across frames counts once) from their boxes alone.
A face at or above the threshold becomes a :class:`LiveMatch` carrying its crop, which the deployment service turns
into an alert for an operator to confirm; the same subject on the same camera within ``cooldown_s`` raises one
alert, not one per frame. The frames come from the camera's worker (:mod:`vigil.faces.live_watch`), which decodes
each stream once and drops frames rather than queue them when the machine is behind.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from vigil.errors import InvalidInput
from vigil.vision.faces.embed import subject_templates
from vigil.vision.faces.recognizer import FaceRecognizer

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class WatchlistVectors:
    """A frozen watchlist as the matcher needs it: one unit embedding per entry, with its entry and subject ids."""

    entry_ids: npt.NDArray[np.int64]
    subject_ids: npt.NDArray[np.int64]
    embeddings: npt.NDArray[np.float32]  # (N, D), unit rows
    model: str

    def __post_init__(self) -> None:
        n = len(self.entry_ids)
        if len(self.subject_ids) != n or self.embeddings.shape[0] != n or self.embeddings.ndim != 2:
            raise ValueError("watchlist ids and embeddings differ in length")

    def __len__(self) -> int:
        return len(self.entry_ids)

    @cached_property
    def templates(self) -> tuple[npt.NDArray[np.float32], tuple[int, ...]]:
        """One unit template per subject and the subjects' ids, computed once per frozen watchlist."""
        return subject_templates(self.embeddings, self.subject_ids.tolist())

    def best(self, probes: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """For each probe row: the entry to report and its subject's score.

        Each subject is scored by its template (:func:`subject_templates`), as ``vigil fr identify`` does; the
        entry reported is that subject's entry most like the probe.
        """
        templates, subjects = self.templates
        scores = probes @ templates.T
        best = np.argmax(scores, axis=1)
        entry_scores = probes @ self.embeddings.T
        entries = np.empty(len(probes), dtype=np.intp)
        for i, column in enumerate(best):
            rows = np.flatnonzero(self.subject_ids == subjects[int(column)])
            entries[i] = rows[int(np.argmax(entry_scores[i, rows]))]
        return entries, scores[np.arange(len(probes)), best].astype(np.float32)


@dataclass(frozen=True, eq=False)
class LiveMatch:
    """A face that scored at or above the threshold: the only kind of face the live system keeps."""

    entry_id: int
    subject_id: int
    score: float
    box: tuple[float, float, float, float]
    crop: Image
    stream_s: float  # seconds into the stream
    arrived: float  # time.monotonic() when the frame arrived, for frame-to-alert latency


@dataclass(frozen=True)
class FrameOutcome:
    faces: int  # faces detected in this frame
    new_faces: int  # of which first seen now (the deployment's "faces seen" grows by this)
    matches: tuple[LiveMatch, ...]


def _iou(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """IoU matrix of boxes ``a`` (M, 4) and ``b`` (N, 4)."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(inter / np.maximum(union, 1e-6), dtype=np.float32)


@dataclass
class FaceCounter:
    """Counts distinct faces from boxes alone: a box overlapping a recent face (IoU >= ``min_iou`` within
    ``max_gap_s``) is that face again; anything else is a new face. Keeps boxes only, never pixels or identity."""

    min_iou: float = 0.3
    max_gap_s: float = 1.0
    total: int = 0
    _boxes: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    _last_seen: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))

    def update(self, boxes: npt.NDArray[np.float32], t: float) -> int:
        """Add this frame's boxes at stream time ``t``; returns how many are new faces."""
        recent = self._last_seen >= t - self.max_gap_s
        self._boxes, self._last_seen = self._boxes[recent], self._last_seen[recent]
        new = 0
        taken = np.zeros(len(self._boxes), dtype=bool)
        overlaps = _iou(boxes, self._boxes) if len(boxes) and len(self._boxes) else None
        fresh: list[npt.NDArray[np.float32]] = []
        for i, box in enumerate(boxes):
            j = -1
            if overlaps is not None:
                candidates = np.where(taken, -1.0, overlaps[i])
                j = int(np.argmax(candidates))
                j = j if candidates[j] >= self.min_iou else -1
            if j >= 0:
                taken[j] = True
                self._boxes[j], self._last_seen[j] = box, t
            else:
                fresh.append(box)
                new += 1
        if fresh:
            self._boxes = np.vstack([self._boxes, np.stack(fresh)]).astype(np.float32)
            self._last_seen = np.concatenate([self._last_seen, np.full(len(fresh), t)])
        self.total += new
        return new


def face_crop(image: Image, box: Sequence[float], margin: float = 0.25) -> Image:
    """A copy of the face in ``box`` with a margin around it (clipped to the image)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    h, w = image.shape[:2]
    left, top = max(0, int(x0 - dx)), max(0, int(y0 - dy))
    right, bottom = min(w, int(np.ceil(x1 + dx))), min(h, int(np.ceil(y1 + dy)))
    return np.ascontiguousarray(image[top:bottom, left:right]).copy()


class LiveMatcher:
    """Compares every searchable face of each frame with the watchlist and reports only the matches."""

    def __init__(
        self,
        *,
        recognizer: FaceRecognizer,
        watchlist: WatchlistVectors,
        threshold: float,
        cooldown_s: float = 10.0,
    ) -> None:
        if not len(watchlist):
            raise InvalidInput("the deployment's watchlist is empty: enrol subjects before going live")
        if not 0.0 < threshold < 1.0:
            raise InvalidInput("the alert threshold must be between 0 and 1")
        self.recognizer = recognizer
        self.watchlist = watchlist
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.counter = FaceCounter()
        self._last_alert: dict[int, float] = {}

    def process(self, image: Image, stream_s: float, arrived: float | None = None) -> FrameOutcome:
        """Faces in one frame: how many, how many new, and the watchlist matches (crops only for those)."""
        arrived = time.monotonic() if arrived is None else arrived
        faces = self.recognizer.detector.detect(image)
        new = self.counter.update(faces.xyxy, stream_s)
        # Faces too small to search with are counted but not embedded (the quality check would refuse them).
        usable = faces[faces.inter_ocular() >= self.recognizer.quality_limits.search_min_eyes_px]
        if not len(usable):
            return FrameOutcome(len(faces), new, ())
        analysis = self.recognizer.analyse(image, usable)
        best, scores = self.watchlist.best(analysis.embeddings)
        matches = []
        for i, entry in enumerate(best):
            score = float(scores[i])
            if score < self.threshold or not analysis.quality[i].searchable:
                continue
            subject = int(self.watchlist.subject_ids[entry])
            if stream_s - self._last_alert.get(subject, -np.inf) < self.cooldown_s:
                continue
            self._last_alert[subject] = stream_s
            box = tuple(float(v) for v in analysis.faces.xyxy[i])
            matches.append(
                LiveMatch(
                    entry_id=int(self.watchlist.entry_ids[entry]),
                    subject_id=subject,
                    score=score,
                    box=(box[0], box[1], box[2], box[3]),
                    crop=face_crop(image, box),
                    stream_s=stream_s,
                    arrived=arrived,
                )
            )
        return FrameOutcome(len(faces), new, tuple(matches))
