"""Face alignment: a 5-point similarity transform onto the ArcFace 112x112 template (Umeyama, least squares)."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vigil.vision.faces.faces import Faces

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)
"""Where the five landmarks go in a 112x112 chip (InsightFace's ``arcface_dst``)."""

CHIP_SIZE = 112


class FaceAligner(Protocol):
    """Cuts out every face of ``faces`` as an aligned BGR uint8 chip: (N, S, S, 3)."""

    def align(self, image_bgr: npt.NDArray[np.uint8], faces: Faces) -> npt.NDArray[np.uint8]: ...


def similarity_transform(source: npt.ArrayLike, target: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The 2x3 rotation + uniform scale + translation that maps ``source`` points closest onto ``target``.

    Umeyama (1991), least squares without reflection; ``source`` and ``target`` are (K, 2) with K >= 2.
    """
    src, dst = np.asarray(source, np.float64), np.asarray(target, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


class ArcFaceAligner:
    """Warps each face so its five landmarks land on the ArcFace template (``size`` 112 by default)."""

    def __init__(self, size: int = CHIP_SIZE) -> None:
        self.size = size
        self.template = ARCFACE_TEMPLATE * (size / CHIP_SIZE)

    def transforms(self, faces: Faces) -> npt.NDArray[np.float64]:
        """One 2x3 image -> chip matrix per face: (N, 2, 3)."""
        return (
            np.stack([similarity_transform(points, self.template) for points in faces.landmarks])
            if len(faces)
            else np.zeros((0, 2, 3))
        )

    def align(self, image_bgr: npt.NDArray[np.uint8], faces: Faces) -> npt.NDArray[np.uint8]:
        chips = np.zeros((len(faces), self.size, self.size, 3), dtype=np.uint8)
        for i, matrix in enumerate(self.transforms(faces)):
            chips[i] = cv2.warpAffine(
                image_bgr, matrix, (self.size, self.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
        return chips
