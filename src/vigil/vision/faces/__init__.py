"""Face detection, alignment, embeddings and quality behind small Protocols.

* :class:`FaceDetector` (``detect(image_bgr) -> Faces``): :class:`RetinaFaceDetector`.
* :class:`FaceAligner` (``align(image_bgr, faces) -> chips``): :class:`ArcFaceAligner` (112x112, 5 points).
* :class:`FaceEmbedder` (``embed(chips) -> unit vectors``): :class:`MobileFaceNetEmbedder` (default, 192-d);
  ``vigil.vision.faces.dlib_resnet`` has dlib's ResNet for comparison (optional dependency).
* :func:`assess_faces` -> :class:`FaceQuality` (size, sharpness, pose; fit to search / fit to enrol).

Models load on first use; importing this package creates no session.
"""

from vigil.vision.faces.align import ARCFACE_TEMPLATE, ArcFaceAligner, FaceAligner, similarity_transform
from vigil.vision.faces.detect import FaceDetector, RetinaFaceDetector
from vigil.vision.faces.embed import FaceEmbedder, MobileFaceNetEmbedder, cosine_similarity, l2_normalise
from vigil.vision.faces.faces import LANDMARK_NAMES, Faces
from vigil.vision.faces.quality import FaceQuality, QualityThresholds, assess_faces
from vigil.vision.faces.recognizer import (
    DEFAULT_EMBEDDER,
    FaceAnalysis,
    FaceRecognizer,
    default_recognizer,
    dlib_recognizer,
)

__all__ = [
    "ARCFACE_TEMPLATE",
    "DEFAULT_EMBEDDER",
    "LANDMARK_NAMES",
    "ArcFaceAligner",
    "FaceAligner",
    "FaceAnalysis",
    "FaceDetector",
    "FaceEmbedder",
    "FaceQuality",
    "FaceRecognizer",
    "Faces",
    "MobileFaceNetEmbedder",
    "QualityThresholds",
    "RetinaFaceDetector",
    "assess_faces",
    "cosine_similarity",
    "default_recognizer",
    "dlib_recognizer",
    "l2_normalise",
    "similarity_transform",
]
