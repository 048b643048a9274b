"""Box utilities: IoU matrices and greedy (class-wise) non-maximum suppression in NumPy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Boxes = npt.NDArray[np.float32]


def iou_matrix(a: Boxes, b: Boxes) -> npt.NDArray[np.float32]:
    """Pairwise IoU of ``a`` (N, 4) and ``b`` (M, 4) xyxy boxes -> (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    result: npt.NDArray[np.float32] = (inter / np.maximum(union, 1e-9)).astype(np.float32)
    return result


def nms(boxes: Boxes, scores: npt.NDArray[np.float32], iou_threshold: float) -> npt.NDArray[np.intp]:
    """Indices of the boxes kept by greedy NMS, best score first."""
    order = np.argsort(-scores, kind="stable")
    boxes = boxes[order]
    keep: list[int] = []
    suppressed = np.zeros(len(order), dtype=bool)
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = np.flatnonzero(~suppressed[i + 1 :]) + i + 1
        if len(rest):
            overlaps = iou_matrix(boxes[i : i + 1], boxes[rest])[0]
            suppressed[rest[overlaps > iou_threshold]] = True
    return order[np.asarray(keep, dtype=np.intp)]


def batched_nms(
    boxes: Boxes, scores: npt.NDArray[np.float32], class_ids: npt.NDArray[np.int32], iou_threshold: float
) -> npt.NDArray[np.intp]:
    """Class-wise NMS: boxes of different classes never suppress each other."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.intp)
    span = float(np.max(boxes)) - float(np.min(boxes)) + 1.0
    shifted = boxes + (class_ids.astype(np.float32) * span)[:, None]
    return nms(shifted.astype(np.float32), scores, iou_threshold)
