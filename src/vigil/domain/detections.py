"""Object detections as columns of numpy arrays (in the style of supervision's ``Detections``).

A :class:`Detections` holds N boxes. Every column has N rows:

* ``xyxy``     float32 (N, 4): left, top, right, bottom in source-image pixels;
* ``score``    float32 (N,):   detector confidence in [0, 1];
* ``class_id`` int32 (N,):     index into a class-name list (COCO-80 for the bundled detectors);
* ``track_id`` int64 (N,):     tracker identity, ``-1`` where no tracker has assigned one.

Instances are immutable: every operation returns a new value. This module imports nothing from vigil.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
"""The 80 COCO detection classes in the contiguous order used by CenterNet, NanoDet and YOLO exports."""

PERSON_CLASS_ID = 0
BICYCLE_CLASS_ID = 1
MOTOR_VEHICLE_CLASS_IDS: tuple[int, ...] = (2, 3, 5, 7)
"""car, motorcycle, bus, truck: one vehicle is often reported under two of these labels."""

Selector = npt.NDArray[np.bool_] | npt.NDArray[np.integer[Any]] | slice | int | Sequence[int]


def _column(values: Any, dtype: type[np.generic], shape_tail: tuple[int, ...], name: str) -> npt.NDArray[Any]:
    array = np.asarray(values, dtype=dtype)
    if array.size == 0:
        return np.zeros((0, *shape_tail), dtype=dtype)
    if array.shape[1:] != shape_tail or array.ndim != 1 + len(shape_tail):
        raise ValueError(f"Detections.{name} must have shape (N, {', '.join(map(str, shape_tail))}), got {array.shape}")
    return np.ascontiguousarray(array)


@dataclass(frozen=True, eq=False)
class Detections:
    """N detected objects; see the module docstring for the columns."""

    xyxy: npt.NDArray[np.float32]
    score: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int32]
    track_id: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        xyxy = _column(self.xyxy, np.float32, (4,), "xyxy")
        score = _column(self.score, np.float32, (), "score")
        class_id = _column(self.class_id, np.int32, (), "class_id")
        n = len(xyxy)
        track = np.asarray(self.track_id, dtype=np.int64)
        if track.size == 0 and n:
            track = np.full(n, -1, dtype=np.int64)
        track = _column(track, np.int64, (), "track_id")
        if not len(score) == len(class_id) == len(track) == n:
            raise ValueError(
                f"Detections columns differ in length: xyxy={n} score={len(score)} "
                f"class_id={len(class_id)} track_id={len(track)}"
            )
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "track_id", track)

    @classmethod
    def empty(cls) -> Detections:
        """No detections."""
        return cls(
            xyxy=np.zeros((0, 4), dtype=np.float32),
            score=np.zeros(0, dtype=np.float32),
            class_id=np.zeros(0, dtype=np.int32),
        )

    @classmethod
    def concat(cls, parts: Iterable[Detections]) -> Detections:
        """All rows of ``parts`` in order."""
        items = [p for p in parts if len(p)]
        if not items:
            return cls.empty()
        return cls(
            xyxy=np.concatenate([p.xyxy for p in items]),
            score=np.concatenate([p.score for p in items]),
            class_id=np.concatenate([p.class_id for p in items]),
            track_id=np.concatenate([p.track_id for p in items]),
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, selector: Selector) -> Detections:
        """Rows picked by a boolean mask, an index array, a slice or a single index."""
        if isinstance(selector, int | np.integer):
            index: Any = [int(selector)]
        elif isinstance(selector, slice):
            index = selector
        else:
            index = np.asarray(selector)
            if index.dtype != np.bool_:
                index = index.astype(np.intp, copy=False)
        return Detections(
            xyxy=self.xyxy[index],
            score=self.score[index],
            class_id=self.class_id[index],
            track_id=self.track_id[index],
        )

    def class_names(self, names: Sequence[str] = COCO_CLASSES) -> list[str]:
        """The name of every row's class (``class_<id>`` for an id outside ``names``)."""
        return [names[c] if 0 <= c < len(names) else f"class_{c}" for c in self.class_id.tolist()]

    def area(self) -> npt.NDArray[np.float32]:
        """Box areas in square pixels."""
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        area: npt.NDArray[np.float32] = (wh[:, 0] * wh[:, 1]).astype(np.float32)
        return area

    def with_classes(self, class_ids: Iterable[int]) -> Detections:
        """Only the rows whose class is in ``class_ids``."""
        return self[np.isin(self.class_id, np.fromiter(class_ids, dtype=np.int32))]

    def with_track_ids(self, track_id: npt.ArrayLike) -> Detections:
        """The same rows with the given track identities."""
        return Detections(self.xyxy, self.score, self.class_id, np.asarray(track_id, dtype=np.int64))

    def transformed(self, scale_x: float, scale_y: float, offset_x: float, offset_y: float) -> Detections:
        """Boxes mapped by ``x * scale_x + offset_x`` and ``y * scale_y + offset_y``."""
        factor = np.array([scale_x, scale_y, scale_x, scale_y], dtype=np.float32)
        offset = np.array([offset_x, offset_y, offset_x, offset_y], dtype=np.float32)
        return Detections(self.xyxy * factor + offset, self.score, self.class_id, self.track_id)

    def clipped(self, width: int, height: int) -> Detections:
        """Boxes clipped to an image of ``width`` x ``height`` pixels."""
        xyxy = self.xyxy.copy()
        np.clip(xyxy[:, 0::2], 0, width, out=xyxy[:, 0::2])
        np.clip(xyxy[:, 1::2], 0, height, out=xyxy[:, 1::2])
        return Detections(xyxy, self.score, self.class_id, self.track_id)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded video frame: a BGR uint8 ``H x W x 3`` image, its time and its position in the stream."""

    image: npt.NDArray[np.uint8]
    timestamp: float
    """Seconds from the start of the stream (presentation time)."""
    index: int
    """Zero-based number of the frame in its stream."""

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])
