"""Decoders: raw network outputs -> candidate boxes in network-canvas pixels (before NMS).

Each decoder is selected by name through :data:`DECODERS`; a deployment can point vigil at its own
ONNX export and name the decoder that understands its outputs (e.g. ``yolov8``).

* ``centernet`` - heatmap ``(1, C, H/4, W/4)`` (sigmoid) and ``ltrb`` ``(1, 4, H/4, W/4)``: distances
  in input pixels from the cell point ``(x * 4, y * 4)`` to the box's left, top, right and bottom.
  Peaks are cells that are the maximum of their 3x3 neighbourhood (max-pool NMS).
* ``nanodet`` - per stride s in (8, 16, 32): ``cls_s`` ``(1, C, H/s, W/s)`` (sigmoid) and ``reg_s``
  ``(1, 4 * (R + 1), H/s, W/s)``: for each side a distribution over distances 0..R (in strides);
  the distance is its expectation (the distribution-focal-loss integral), measured from the cell
  centre ``((x + 0.5) * s, (y + 0.5) * s)``.
* ``yolov8`` - one output ``(1, 4 + C, N)`` of ``cx, cy, w, h`` in input pixels followed by C class
  scores (as exported by ultralytics; ``(1, N, 4 + C)`` is accepted too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vigil.vision.preprocess import InputSpec

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Candidates:
    """Boxes (xyxy, canvas pixels), scores and class ids straight from a decoder."""

    xyxy: F32
    score: F32
    class_id: npt.NDArray[np.int32]

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))

    @classmethod
    def concat(cls, parts: list[Candidates]) -> Candidates:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.xyxy for p in parts]).astype(np.float32),
            np.concatenate([p.score for p in parts]).astype(np.float32),
            np.concatenate([p.class_id for p in parts]).astype(np.int32),
        )


class Decoder(Protocol):
    """Turns one inference's outputs (by ONNX output name) into candidates above a score."""

    @property
    def name(self) -> str: ...

    @property
    def nms_iou(self) -> float:
        """IoU above which a lower-scoring box of the same class is suppressed."""
        ...

    def input_spec(self) -> InputSpec: ...

    def decode(
        self, outputs: Mapping[str, F32], score_threshold: float, classes: Sequence[int] | None = None
    ) -> Candidates:
        """Candidates scoring at least ``score_threshold``, only of ``classes`` when given."""
        ...


def _class_rows(scores: F32, classes: Sequence[int] | None) -> tuple[F32, npt.NDArray[np.int32]]:
    """The class planes (axis 0) to search and their class ids."""
    if classes is None:
        return scores, np.arange(scores.shape[0], dtype=np.int32)
    ids = np.asarray([c for c in classes if 0 <= c < scores.shape[0]], dtype=np.int32)
    return scores[ids], ids


Index = npt.NDArray[np.intp]


def _local_peaks(heat: F32, c: Index, y: Index, x: Index) -> npt.NDArray[np.bool_]:
    """Which of the cells (c, y, x) equal the maximum of their 3x3 neighbourhood in ``heat[c]``."""
    value = heat[c, y, x]
    peak = np.ones(len(c), dtype=bool)
    height, width = heat.shape[1:]
    for dy in (-1, 0, 1):
        yy = np.clip(y + dy, 0, height - 1)
        for dx in (-1, 0, 1):
            if dy or dx:
                peak &= value >= heat[c, yy, np.clip(x + dx, 0, width - 1)]
    return peak


@dataclass(frozen=True)
class CenterNetDecoder:
    name: str = "centernet"
    stride: int = 4
    max_detections: int = 100
    nms_iou: float = 0.5

    def input_spec(self) -> InputSpec:
        # The TF.js graph takes RGB 0..255 NHWC (its /255 was folded into the first convolution).
        return InputSpec(layout="nhwc", channel_order="rgb", stride=32, default_size=512)

    def decode(
        self, outputs: Mapping[str, F32], score_threshold: float, classes: Sequence[int] | None = None
    ) -> Candidates:
        heat, class_ids = _class_rows(outputs["heatmap"][0], classes)
        ltrb = outputs["ltrb"][0]
        c, y, x = np.nonzero(heat >= score_threshold)
        if len(c) == 0:
            return Candidates.empty()
        peak = _local_peaks(heat, c, y, x)
        c, y, x = c[peak], y[peak], x[peak]
        score = heat[c, y, x]
        top = np.argsort(-score, kind="stable")[: self.max_detections]
        c, y, x, score = c[top], y[top], x[top], score[top]
        dist = ltrb[:, y, x]  # (4, K)
        px, py = x * float(self.stride), y * float(self.stride)
        xyxy = np.stack([px - dist[0], py - dist[1], px + dist[2], py + dist[3]], axis=1)
        return Candidates(xyxy.astype(np.float32), score.astype(np.float32), class_ids[c])


def _softmax(logits: F32, axis: int) -> F32:
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    result: F32 = (shifted / shifted.sum(axis=axis, keepdims=True)).astype(np.float32)
    return result


@dataclass(frozen=True)
class NanoDetDecoder:
    name: str = "nanodet"
    strides: tuple[int, ...] = (8, 16, 32)
    center_offset: float = 0.5
    nms_iou: float = 0.6

    def input_spec(self) -> InputSpec:
        # NanoDet was trained on BGR images normalised per channel (its ONNX export has no preprocessing).
        return InputSpec(
            layout="nchw",
            channel_order="bgr",
            mean=(103.53, 116.28, 123.675),
            std=(57.375, 57.12, 58.395),
            stride=32,
            default_size=416,
        )

    def decode_level(
        self, cls: F32, reg: F32, stride: int, score_threshold: float, classes: Sequence[int] | None = None
    ) -> Candidates:
        cls, class_ids = _class_rows(cls, classes)
        c, y, x = np.nonzero(cls >= score_threshold)
        if len(c) == 0:
            return Candidates.empty()
        bins = reg.shape[0] // 4
        logits = reg.reshape(4, bins, *reg.shape[1:])[:, :, y, x]  # (4, bins, K)
        dist = (_softmax(logits, axis=1) * np.arange(bins, dtype=np.float32)[None, :, None]).sum(axis=1) * stride
        cx, cy = (x + self.center_offset) * stride, (y + self.center_offset) * stride
        xyxy = np.stack([cx - dist[0], cy - dist[1], cx + dist[2], cy + dist[3]], axis=1)
        return Candidates(xyxy.astype(np.float32), cls[c, y, x].astype(np.float32), class_ids[c])

    def decode(
        self, outputs: Mapping[str, F32], score_threshold: float, classes: Sequence[int] | None = None
    ) -> Candidates:
        return Candidates.concat(
            [
                self.decode_level(outputs[f"cls_{s}"][0], outputs[f"reg_{s}"][0], s, score_threshold, classes)
                for s in self.strides
            ]
        )


@dataclass(frozen=True)
class YoloV8Decoder:
    name: str = "yolov8"
    nms_iou: float = 0.5
    max_candidates: int = 3000
    num_classes: int = 80
    """Tells the ``4 + C`` axis from the box axis; when neither matches, the longer axis is the boxes."""

    def input_spec(self) -> InputSpec:
        return InputSpec(
            layout="nchw", channel_order="rgb", std=(255.0, 255.0, 255.0), stride=32, default_size=640, pad_value=114
        )

    def decode(
        self, outputs: Mapping[str, F32], score_threshold: float, classes: Sequence[int] | None = None
    ) -> Candidates:
        raw = next(iter(outputs.values()))[0]
        if raw.ndim != 2 or max(raw.shape) < 5:
            raise ValueError(f"yolov8 decoder expects an output of shape (1, 4 + classes, N), got {raw.shape}")
        channels = 4 + self.num_classes
        if channels in raw.shape:
            rows = raw.T if raw.shape[0] == channels else raw  # (N, 4 + C)
        else:
            rows = raw.T if raw.shape[0] < raw.shape[1] else raw
        planes, class_ids = _class_rows(rows[:, 4:].T, classes)
        scores = planes.T
        i, c = np.nonzero(scores >= score_threshold)
        if len(i) == 0:
            return Candidates.empty()
        score = scores[i, c]
        top = np.argsort(-score, kind="stable")[: self.max_candidates]
        i, c, score = i[top], c[top], score[top]
        cx, cy, w, h = rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3]
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        return Candidates(xyxy.astype(np.float32), score.astype(np.float32), class_ids[c])


DECODERS: Mapping[str, type[CenterNetDecoder] | type[NanoDetDecoder] | type[YoloV8Decoder]] = {
    "centernet": CenterNetDecoder,
    "nanodet": NanoDetDecoder,
    "yolov8": YoloV8Decoder,
}
"""Decoder classes by the name used in configuration."""
