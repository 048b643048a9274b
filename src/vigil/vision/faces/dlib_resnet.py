"""dlib's ResNet face descriptor (128-d), a comparison candidate; not the default (see ``bench/face_models.py``).

Needs the optional packages ``dlib-bin`` and ``face_recognition_models`` (CC0 weights). dlib aligns with its own
5-point shape predictor, run inside the detector's box, into 150x150 chips (``dlib.get_face_chips``, padding 0.25).
Descriptors are L2-normalised so they are compared by cosine like every :class:`FaceEmbedder`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.vision.faces.embed import l2_normalise
from vigil.vision.faces.errors import FaceModelError
from vigil.vision.faces.faces import Faces

DLIB_CHIP_SIZE = 150


def _dlib() -> Any:
    try:
        return importlib.import_module("dlib")
    except ImportError as exc:
        raise FaceModelError("the dlib face models need the 'dlib-bin' package") from exc


def _weights(name: str) -> Path:
    try:
        package = importlib.import_module("face_recognition_models")
    except ImportError as exc:
        raise FaceModelError("the dlib face models need the 'face_recognition_models' package") from exc
    path = Path(str(package.__file__)).parent / "models" / name
    if not path.is_file():
        raise FaceModelError(f"dlib model file {path} is missing; reinstall face_recognition_models")
    return path


def _load(factory: str, name: str) -> Any:
    path = _weights(name)
    try:
        return getattr(_dlib(), factory)(str(path))
    except RuntimeError as exc:
        raise FaceModelError(f"dlib model file {path} is corrupt ({exc}); reinstall face_recognition_models") from exc


class DlibAligner:
    """dlib's 5-point shape predictor inside each detected box, then ``get_face_chips`` to 150x150 BGR chips."""

    size = DLIB_CHIP_SIZE

    def __init__(self) -> None:
        self._predictor: Any = None

    def align(self, image_bgr: npt.NDArray[np.uint8], faces: Faces) -> npt.NDArray[np.uint8]:
        if not len(faces):
            return np.zeros((0, self.size, self.size, 3), dtype=np.uint8)
        dlib = _dlib()
        if self._predictor is None:
            self._predictor = _load("shape_predictor", "shape_predictor_5_face_landmarks.dat")
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        shapes = dlib.full_object_detections()
        for left, top, right, bottom in np.round(faces.xyxy).astype(int).tolist():
            shapes.append(self._predictor(rgb, dlib.rectangle(left, top, right, bottom)))
        chips = dlib.get_face_chips(rgb, shapes, size=self.size, padding=0.25)
        return np.stack([np.asarray(chip)[:, :, ::-1] for chip in chips]).astype(np.uint8)


class DlibResNetEmbedder:
    """dlib_face_recognition_resnet_model_v1: 128-d embeddings of 150x150 chips made by :class:`DlibAligner`."""

    dim = 128
    chip_size = DLIB_CHIP_SIZE

    def __init__(self) -> None:
        self._model: Any = None

    def embed(self, aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        if aligned.dtype != np.uint8 or aligned.ndim != 4 or aligned.shape[1:] != (self.chip_size, self.chip_size, 3):
            raise ValueError(f"expected dlib chips (N, 150, 150, 3) uint8, got {aligned.dtype} {aligned.shape}")
        if not len(aligned):
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            self._model = _load("face_recognition_model_v1", "dlib_face_recognition_resnet_model_v1.dat")
        chips = [np.ascontiguousarray(chip[:, :, ::-1]) for chip in aligned]
        return l2_normalise(np.asarray(self._model.compute_face_descriptor(chips), dtype=np.float32))
