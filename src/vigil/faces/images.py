"""Photos in, one checked face out: decoding, the one-face rule, quality floors, crops and stored embeddings.

Shared by enrolment (watchlists), probe searches (retrospective) and identification. Every refusal is an
:class:`~vigil.errors.InvalidInput` whose message says plainly what is wrong with the photo.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from vigil.errors import InvalidInput
from vigil.settings import Settings
from vigil.vision.faces import FaceQuality, FaceRecognizer, Faces, MobileFaceNetEmbedder, default_recognizer
from vigil.vision.image_files import DEFAULT_MAX_PIXELS, decode_image

Image = npt.NDArray[np.uint8]
Use = Literal["enrol", "search"]
CROP_MARGIN = 0.25
"""Fraction of the face box added on each side of a stored face crop."""


@dataclass(frozen=True)
class Photo:
    """A decoded photo and the SHA-256 of the bytes it came from."""

    image: Image
    sha256: str
    data: bytes


@dataclass(frozen=True)
class CheckedFace:
    """The one usable face of a photo: its box and landmarks, unit embedding, quality and a crop."""

    faces: Faces
    embedding: npt.NDArray[np.float32]
    quality: FaceQuality
    crop: Image


def model_name(recognizer: FaceRecognizer) -> str:
    """The name stored with embeddings, so that vectors of different models are never compared."""
    if isinstance(recognizer.embedder, MobileFaceNetEmbedder):
        return "mobilefacenet"
    return type(recognizer.embedder).__name__.lower().removesuffix("embedder")[:32]


def decode_photo(data: bytes, *, label: str, max_mb: float, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode image bytes (JPEG, PNG, ...) into BGR; refuse what is empty, too big (bytes, or pixels declared
    by its header, checked before decoding) or not an image."""
    if not data:
        raise InvalidInput(f"{label}: the file is empty")
    if len(data) > max_mb * 1024 * 1024:
        raise InvalidInput(f"{label}: the file is larger than {max_mb:g} MB")
    image = decode_image(data, label=label, max_pixels=max_pixels)
    return Photo(image, hashlib.sha256(data).hexdigest(), data)


def read_photo(path: Path, *, max_mb: float, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """:func:`decode_photo` of a file, with a clear error when it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path.name}: cannot read the file ({exc.strerror})") from None
    return decode_photo(data, label=path.name, max_mb=max_mb, max_pixels=max_pixels)


def crop_face(image: Image, box: npt.NDArray[np.float32], margin: float = CROP_MARGIN) -> Image:
    """The face box widened by ``margin`` on each side, clipped to the image."""
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    height, width = image.shape[:2]
    left, top = max(0, int(x0 - dx)), max(0, int(y0 - dy))
    right, bottom = min(width, int(np.ceil(x1 + dx))), min(height, int(np.ceil(y1 + dy)))
    return np.ascontiguousarray(image[top:bottom, left:right])


def one_face(recognizer: FaceRecognizer, photo: Photo, *, label: str, use: Use, min_quality: float) -> CheckedFace:
    """The single face of a photo, fit for ``use``; refuse no face, several faces, or a face too poor."""
    analysis = recognizer.analyse(photo.image)
    if len(analysis) == 0:
        raise InvalidInput(f"{label}: no face found (use a clear photo of one person's face)")
    if len(analysis) > 1:
        raise InvalidInput(f"{label}: {len(analysis)} faces found; use a photo of exactly one person")
    quality = analysis.quality[0]
    fit = quality.enrollable if use == "enrol" else quality.searchable
    if not fit or quality.score < min_quality:
        reasons = "; ".join(quality.reasons) or f"quality {quality.score:.2f} is under the floor of {min_quality:g}"
        verb = "enrol" if use == "enrol" else "search with"
        raise InvalidInput(f"{label}: face too poor to {verb}: {reasons}")
    return CheckedFace(
        faces=analysis.faces,
        embedding=np.asarray(analysis.embeddings[0], dtype=np.float32),
        quality=quality,
        crop=crop_face(photo.image, analysis.faces.xyxy[0]),
    )


def to_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def write_file(data_dir: Path, relative: str, data: bytes) -> Path:
    """Write ``data`` to ``data_dir/relative`` atomically (temporary file, then rename)."""
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def jpeg(image: Image, quality: int = 90) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InvalidInput("could not encode a face crop as JPEG")
    return bytes(encoded.tobytes())


def photo_extension(photo: Photo) -> str:
    """The stored file's extension from the image's own signature (not the uploaded name)."""
    if photo.data.startswith(b"\x89PNG"):
        return ".png"
    if photo.data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    return ".img"


def make_recognizer(settings: Settings) -> FaceRecognizer:
    """The default face recognizer with the configured runtime (models load on first use)."""
    return default_recognizer(threads=settings.vision.threads, providers=settings.vision.providers)
