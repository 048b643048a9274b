"""Object detectors: BGR frame in, :class:`~vigil.domain.Detections` (source pixels) out.

Use :func:`configured_detector` (the detector the settings name, with their calibrated threshold: every caller
builds it there) or :func:`build_detector`; both return a :class:`Detector` whose ``detect`` verb takes a BGR uint8
``H x W x 3`` image of any size.

Sub-region detection
--------------------
``detect(frame, roi=(x0, y0, x1, y1))`` runs the network on that crop only (clipped to the frame)
and returns boxes in *full-frame* pixels, clipped to the crop. The crop is scaled so its long side
is ``input_size`` if given, else the detector's ``roi_input_size`` (default 320) - smaller than the
full-frame size, so motion-gated detection on a moving region costs a fraction of a full pass, and a
small region is enlarged, which helps with distant people. Without ``roi`` the whole frame is scaled
to ``input_size`` or the detector's ``input_size`` (the model's default when unset).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from vigil.domain.detections import COCO_CLASSES, Detections
from vigil.settings import VisionSettings
from vigil.vision.decoders import DECODERS, Candidates, Decoder
from vigil.vision.nms import batched_nms, iou_matrix
from vigil.vision.runtime import DEFAULT_PROVIDERS, OnnxModel, bundled_models_dir

Box = tuple[int, int, int, int]
BUNDLED_DETECTORS = ("centernet", "nanodet")
CUSTOM = "custom"
SCORE_CALIBRATION = {"centernet": 0.75}
"""CenterNet's heat-map peaks score lower than NanoDet's boxes at the same precision (bench/tracking_accuracy.py):
its confident threshold is the configured one times this."""


@runtime_checkable
class Detector(Protocol):
    """Finds objects in a BGR uint8 image; boxes come back in source-image pixels."""

    def detect(
        self, frame: npt.NDArray[np.uint8], *, roi: Box | None = None, input_size: int | None = None
    ) -> Detections: ...


class DetectorConfigError(ValueError):
    """The detector name, decoder name or model path given in configuration cannot be used."""


@dataclass(frozen=True)
class DetectorOptions:
    score_threshold: float = 0.4
    input_size: int | None = None
    """Long side, in pixels, full frames are scaled to (``None``: the model's default)."""
    roi_input_size: int = 320
    """Long side crops passed as ``roi`` are scaled to."""
    classes: frozenset[int] | None = None
    """Keep only these class ids (``None``: all classes)."""
    nms_iou: float | None = None
    """Class-wise NMS IoU (``None``: the decoder's default)."""
    max_detections: int = 300

    def __post_init__(self) -> None:
        if not 0.0 < self.score_threshold <= 1.0:
            raise DetectorConfigError(f"score_threshold must be in (0, 1], got {self.score_threshold}")
        for size in (self.input_size, self.roi_input_size):
            if size is not None and size < 32:
                raise DetectorConfigError(f"input sizes must be at least 32 pixels, got {size}")


def clip_roi(roi: Box, width: int, height: int) -> Box | None:
    """``roi`` clipped to the frame, or ``None`` when nothing of it is inside."""
    x0, y0 = max(0, int(roi[0])), max(0, int(roi[1]))
    x1, y1 = min(width, int(roi[2])), min(height, int(roi[3]))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


class OnnxDetector:
    """A :class:`Detector` made of an :class:`OnnxModel` and a named output :class:`Decoder`."""

    def __init__(self, model: OnnxModel, decoder: Decoder, options: DetectorOptions | None = None) -> None:
        self.model = model
        self.decoder = decoder
        self.options = options or DetectorOptions()
        self.class_names: Sequence[str] = COCO_CLASSES

    def load(self) -> None:
        """Create the inference session now rather than on the first frame."""
        self.model.session()

    def infer(self, image: npt.NDArray[np.uint8], input_size: int | None) -> tuple[Candidates, float, float]:
        """Network + decode on a whole image: candidates in image pixels, and the two scale factors."""
        tensor, placement = self.model.prepare(image, input_size)
        classes = None if self.options.classes is None else sorted(self.options.classes)
        candidates = self.decoder.decode(self.model.run(tensor), self.options.score_threshold, classes)
        return candidates, placement.scale_x, placement.scale_y

    def detect(
        self, frame: npt.NDArray[np.uint8], *, roi: Box | None = None, input_size: int | None = None
    ) -> Detections:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 HxWx3 image, got {frame.dtype} {frame.shape}")
        height, width = frame.shape[:2]
        x0, y0, x1, y1 = 0, 0, width, height
        if roi is not None:
            clipped = clip_roi(roi, width, height)
            if clipped is None:
                return Detections.empty()
            x0, y0, x1, y1 = clipped
            input_size = input_size or self.options.roi_input_size
        image = frame[y0:y1, x0:x1] if roi is not None else frame
        candidates, scale_x, scale_y = self.infer(image, input_size or self.options.input_size)
        kept = self.select(candidates)
        result = Detections(kept.xyxy, kept.score, kept.class_id)
        result = result.transformed(1.0 / scale_x, 1.0 / scale_y, float(x0), float(y0))
        return _clip_to(result, x0, y0, x1, y1)

    def select(self, candidates: Candidates) -> Candidates:
        """Class filter, class-wise NMS and the detection cap, applied to decoder output."""
        if self.options.classes is not None:
            mask = np.isin(candidates.class_id, np.fromiter(self.options.classes, dtype=np.int32))
            candidates = Candidates(candidates.xyxy[mask], candidates.score[mask], candidates.class_id[mask])
        iou = self.options.nms_iou if self.options.nms_iou is not None else self.decoder.nms_iou
        keep = matrix_nms(candidates.xyxy, candidates.score, candidates.class_id, iou)
        keep = keep[: self.options.max_detections]
        return Candidates(candidates.xyxy[keep], candidates.score[keep], candidates.class_id[keep])


def matrix_nms(
    boxes: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int32],
    iou_threshold: float,
    max_matrix: int = 2048,
) -> npt.NDArray[np.intp]:
    """Class-wise greedy NMS with exactly the result of :func:`~vigil.vision.nms.batched_nms`, from one IoU
    matrix of all candidates rather than one IoU row per kept box (a decoder's hundred-odd candidates then
    cost a fraction of a millisecond, not several). Above ``max_matrix`` candidates it falls back to
    ``batched_nms`` to bound memory."""
    if len(boxes) == 0 or len(boxes) > max_matrix:
        return batched_nms(boxes, scores, class_ids, iou_threshold)
    span = float(np.max(boxes)) - float(np.min(boxes)) + 1.0  # the same class offsets as batched_nms
    shifted = (boxes + (class_ids.astype(np.float32) * span)[:, None]).astype(np.float32)
    order = np.argsort(-scores, kind="stable")
    shifted = shifted[order]
    over = iou_matrix(shifted, shifted) > iou_threshold
    suppressed = np.zeros(len(order), dtype=bool)
    keep: list[int] = []
    for i in range(len(order)):
        if not suppressed[i]:
            keep.append(i)
            suppressed[i + 1 :] |= over[i, i + 1 :]
    return order[np.asarray(keep, dtype=np.intp)]


def _clip_to(detections: Detections, x0: int, y0: int, x1: int, y1: int) -> Detections:
    xyxy = detections.xyxy.copy()
    np.clip(xyxy[:, 0::2], x0, x1, out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], y0, y1, out=xyxy[:, 1::2])
    valid = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    return Detections(xyxy, detections.score, detections.class_id, detections.track_id)[valid]


def bundled_checksums(models_dir: Path) -> dict[str, str]:
    """SHA-256 by file name from the bundled ``MANIFEST.json`` (empty when it is absent or unreadable)."""
    try:
        manifest = json.loads((models_dir / "MANIFEST.json").read_text(encoding="utf-8"))
        return {entry["file"]: entry["sha256"] for entry in manifest["models"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def build_detector(
    name: str,
    *,
    custom_model_path: Path | None = None,
    custom_decoder: str = "",
    threads: int = 1,
    providers: Sequence[str] = DEFAULT_PROVIDERS,
    score_threshold: float = 0.4,
    input_size: int | None = None,
    roi_input_size: int = 320,
    classes: Iterable[int] | None = None,
    models_dir: Path | None = None,
) -> OnnxDetector:
    """A detector by configuration name. Nothing is loaded until the first ``detect`` (or ``load()``).

    ``name`` is ``"centernet"`` or ``"nanodet"`` (bundled models; ``custom_model_path`` may replace the
    file) or ``"custom"``, which needs ``custom_model_path`` and ``custom_decoder`` (a key of
    :data:`~vigil.vision.decoders.DECODERS`, e.g. ``"yolov8"``).
    """
    options = DetectorOptions(
        score_threshold=score_threshold,
        input_size=input_size,
        roi_input_size=roi_input_size,
        classes=None if classes is None else frozenset(int(c) for c in classes),
    )
    decoder_name = custom_decoder if name == CUSTOM else name
    if name not in (*BUNDLED_DETECTORS, CUSTOM):
        raise DetectorConfigError(f"unknown detector {name!r}; choose one of {[*BUNDLED_DETECTORS, CUSTOM]}")
    if decoder_name not in DECODERS:
        raise DetectorConfigError(f"unknown decoder {decoder_name!r}; choose one of {sorted(DECODERS)}")
    decoder = DECODERS[decoder_name]()
    if custom_model_path is not None:
        model = OnnxModel(
            Path(custom_model_path),
            decoder.input_spec(),
            threads=threads,
            providers=providers,
            rebuild_hint="check the configured custom detector model path",
        )
    elif name == CUSTOM:
        raise DetectorConfigError("the custom detector needs custom_model_path")
    else:
        directory = models_dir or bundled_models_dir()
        file_name = f"{name}.onnx"
        model = OnnxModel(
            directory / file_name,
            decoder.input_spec(),
            threads=threads,
            providers=providers,
            expected_sha256=bundled_checksums(directory).get(file_name),
        )
    return OnnxDetector(model, decoder, options)


def calibrated_threshold(vision: VisionSettings, name: str | None = None) -> float:
    """The confident-detection score for detector ``name`` (default: the configured one): the configured
    ``score_threshold`` scaled by the detector's :data:`SCORE_CALIBRATION`."""
    return vision.score_threshold * SCORE_CALIBRATION.get(name or vision.detector, 1.0)


def configured_detector(
    vision: VisionSettings,
    *,
    name: str | None = None,
    score_threshold: float | None = None,
    classes: Iterable[int] | None = None,
) -> OnnxDetector:
    """The detector the settings name (or ``name``), with their model path, runtime and calibrated threshold.

    The one factory every caller uses (analysis, search by photo, `vigil describe`, `vigil similar`, camera
    sensitivity), so they all find the same objects in the same picture. ``score_threshold`` overrides the
    calibrated one where a caller needs weaker detections too (the tracker's low band, sensitivity calibration).
    """
    name = name or vision.detector
    return build_detector(
        name,
        custom_model_path=vision.custom_model_path,
        custom_decoder=vision.custom_decoder,
        threads=vision.threads,
        providers=vision.providers,
        score_threshold=calibrated_threshold(vision, name) if score_threshold is None else score_threshold,
        classes=classes,
    )
