"""Detect -> align -> embed -> quality for one image; the default model set is chosen in ``bench/face_models.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.vision.faces.align import ArcFaceAligner, FaceAligner
from vigil.vision.faces.detect import FaceDetector, RetinaFaceDetector
from vigil.vision.faces.embed import FaceEmbedder, MobileFaceNetEmbedder
from vigil.vision.faces.faces import Faces
from vigil.vision.faces.quality import FaceQuality, QualityThresholds, assess_faces
from vigil.vision.runtime import DEFAULT_PROVIDERS

DEFAULT_EMBEDDER = "mobilefacenet"
"""Chosen by open-set identification accuracy (TPIR at fixed FPIR) in ``bench/face_models.py``."""


@dataclass(frozen=True, eq=False)
class FaceAnalysis:
    """Every face found in one image: where (``faces``), who-like (``embeddings``, unit rows) and how usable."""

    faces: Faces
    embeddings: npt.NDArray[np.float32]
    quality: tuple[FaceQuality, ...]

    def __len__(self) -> int:
        return len(self.faces)


class FaceRecognizer:
    """A detector, the aligner its embedder expects, and the embedder; quality always uses the ArcFace chip."""

    def __init__(
        self,
        *,
        detector: FaceDetector,
        aligner: FaceAligner,
        embedder: FaceEmbedder,
        quality_limits: QualityThresholds | None = None,
    ) -> None:
        self.detector = detector
        self.aligner = aligner
        self.embedder = embedder
        self.quality_limits = quality_limits or QualityThresholds()
        self._quality_aligner = ArcFaceAligner()

    def analyse(self, image_bgr: npt.NDArray[np.uint8], faces: Faces | None = None) -> FaceAnalysis:
        """Faces in ``image_bgr`` (or the given ``faces``), with embeddings and quality."""
        faces = self.detector.detect(image_bgr) if faces is None else faces
        chips = self.aligner.align(image_bgr, faces)
        quality_chips = chips if chips.shape[1:3] == (112, 112) else self._quality_aligner.align(image_bgr, faces)
        return FaceAnalysis(
            faces=faces,
            embeddings=self.embedder.embed(chips),
            quality=tuple(assess_faces(faces, quality_chips, self.quality_limits)),
        )


def default_recognizer(
    *, threads: int = 1, providers: Sequence[str] = DEFAULT_PROVIDERS, max_side: int = 1280
) -> FaceRecognizer:
    """RetinaFace + ArcFace 112x112 alignment + MobileFaceNet (192-d, cosine); nothing loads until first use.

    ``max_side`` caps the detector's input (long side, pixels): live streams trade the smallest faces for speed.
    """
    return FaceRecognizer(
        detector=RetinaFaceDetector(threads=threads, providers=providers, max_side=max_side),
        aligner=ArcFaceAligner(),
        embedder=MobileFaceNetEmbedder(threads=threads, providers=providers),
    )


def dlib_recognizer(*, threads: int = 1, providers: Sequence[str] = DEFAULT_PROVIDERS) -> FaceRecognizer:
    """RetinaFace boxes + dlib's 5-point alignment + dlib ResNet (128-d); needs ``dlib-bin`` and its models."""
    from vigil.vision.faces.dlib_resnet import DlibAligner, DlibResNetEmbedder

    return FaceRecognizer(
        detector=RetinaFaceDetector(threads=threads, providers=providers),
        aligner=DlibAligner(),
        embedder=DlibResNetEmbedder(),
    )
