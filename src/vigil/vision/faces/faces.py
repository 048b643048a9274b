"""Detected faces as columns of numpy arrays: boxes, scores and five landmarks per face.

Landmarks are in source-image pixels, in the order RetinaFace and the ArcFace template use:
the eye on the image's left (the subject's right eye), the eye on the image's right, the nose tip, the mouth corner
on the image's left, the mouth corner on the image's right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

LANDMARK_NAMES = ("left eye", "right eye", "nose", "left mouth corner", "right mouth corner")
"""Landmark rows in image terms ("left" is the image's left)."""


def _rows(values: Any, shape_tail: tuple[int, ...], name: str) -> npt.NDArray[np.float32]:
    array = np.asarray(values, dtype=np.float32)
    if array.size == 0:
        return np.zeros((0, *shape_tail), dtype=np.float32)
    if array.ndim != 1 + len(shape_tail) or array.shape[1:] != shape_tail:
        raise ValueError(f"Faces.{name} must have shape (N, {', '.join(map(str, shape_tail))}), got {array.shape}")
    return np.ascontiguousarray(array)


@dataclass(frozen=True, eq=False)
class Faces:
    """N faces: ``xyxy`` float32 (N, 4), ``score`` float32 (N,), ``landmarks`` float32 (N, 5, 2) in pixels."""

    xyxy: npt.NDArray[np.float32]
    score: npt.NDArray[np.float32]
    landmarks: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        xyxy = _rows(self.xyxy, (4,), "xyxy")
        score = _rows(self.score, (), "score")
        landmarks = _rows(self.landmarks, (5, 2), "landmarks")
        if not len(xyxy) == len(score) == len(landmarks):
            raise ValueError(f"Faces columns differ in length: {len(xyxy)}, {len(score)}, {len(landmarks)}")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "landmarks", landmarks)

    @classmethod
    def empty(cls) -> Faces:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, selector: npt.NDArray[Any] | slice | int) -> Faces:
        """Rows picked by a boolean mask, an index array, a slice or a single index."""
        index: Any = [int(selector)] if isinstance(selector, int | np.integer) else selector
        return Faces(self.xyxy[index], self.score[index], self.landmarks[index])

    def inter_ocular(self) -> npt.NDArray[np.float32]:
        """Distance between the two eye landmarks, in pixels."""
        distance: npt.NDArray[np.float32] = np.linalg.norm(self.landmarks[:, 1] - self.landmarks[:, 0], axis=1)
        return distance.astype(np.float32)

    def largest(self) -> Faces:
        """The face with the biggest box (empty when there is none)."""
        if not len(self):
            return self
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return self[int(np.argmax(wh[:, 0] * wh[:, 1]))]

    def primary(self, min_score: float = 0.9) -> Faces:
        """The portrait subject: the biggest face scoring at least ``min_score`` (else the best-scoring face).

        Picking the biggest box alone can choose a large low-scoring false detection (a torso, a shirt).
        """
        if not len(self):
            return self
        confident = self[self.score >= min_score]
        return confident.largest() if len(confident) else self[int(np.argmax(self.score))]

    def scaled(self, factor: float) -> Faces:
        """Coordinates multiplied by ``factor`` (to map from a resized image back to the source)."""
        return Faces(self.xyxy * factor, self.score, self.landmarks * factor)
