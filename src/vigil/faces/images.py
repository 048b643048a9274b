"""Photos in, one checked face out: decoding, the one-face rule, quality floors, crops and stored embeddings.

Shared by enrolment (watchlists), probe searches (retrospective) and identification. Every refusal is an
:class:`~vigil.errors.InvalidInput` whose message says plainly what is wrong with the photo.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from vigil.errors import InvalidInput
from vigil.settings import Settings
from vigil.vision.faces import (
    FaceAnalysis,
    FaceQuality,
    FaceRecognizer,
    Faces,
    MobileFaceNetEmbedder,
    default_recognizer,
)
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


AUTO_CHOICE_RATIO = 1.5
"""A photo's face is chosen without asking only when it is the most central face and this many times wider than
every other face (an LFW-style portrait: the subject centred, passers-by small in the background)."""


@dataclass(frozen=True)
class PhotoFace:
    """One face found in a photo, numbered from 1 (left to right) as it is listed and drawn for a person to choose."""

    number: int
    box: tuple[float, float, float, float]
    width_px: float
    quality: FaceQuality
    row: int
    """The face's row in the photo's :class:`FaceAnalysis`."""

    def describe(self) -> str:
        x0, y0, x1, y1 = (round(v) for v in self.box)
        size = f"{self.width_px:.0f} px wide"
        return f"face {self.number}: box {x0},{y0}-{x1},{y1}, {size}, quality {self.quality.score:.2f}"


class SeveralFaces(InvalidInput):
    """A photo shows several faces and none stands out: the person enrolling must choose one (``faces`` lists them)."""

    def __init__(self, label: str, faces: tuple[PhotoFace, ...]) -> None:
        listing = "; ".join(face.describe() for face in faces)
        super().__init__(f"{label}: {len(faces)} faces found; choose one by its number ({listing})")
        self.label = label
        self.faces = faces


class PoorFace(InvalidInput):
    """A face that fails a quality limit; ``reasons`` give each measurement and its limit."""

    def __init__(self, message: str, reasons: tuple[str, ...]) -> None:
        super().__init__(message)
        self.reasons = reasons


@dataclass(frozen=True)
class CheckedFace:
    """The usable face of a photo: its box and landmarks, unit embedding, quality, a crop, and how it was chosen.

    ``number`` is the face's number among the photo's faces (1 when it was the only one); ``chosen`` says how it was
    picked ("only", "person" or "auto"); ``overridden`` holds the quality reasons a supervisor overrode.
    """

    faces: Faces
    embedding: npt.NDArray[np.float32]
    quality: FaceQuality
    crop: Image
    number: int = 1
    chosen: str = "only"
    overridden: tuple[str, ...] = ()


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


def _box(xyxy: npt.NDArray[np.float32]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (round(float(v), 1) for v in xyxy)
    return x0, y0, x1, y1


def photo_faces(analysis: FaceAnalysis) -> tuple[PhotoFace, ...]:
    """The faces of an analysed photo, in the order they are numbered (left to right, from 1)."""
    order = np.argsort(analysis.faces.xyxy[:, 0], kind="stable") if len(analysis) else np.zeros(0, int)
    return tuple(
        PhotoFace(
            number=number,
            box=_box(analysis.faces.xyxy[index]),
            width_px=float(analysis.faces.xyxy[index, 2] - analysis.faces.xyxy[index, 0]),
            quality=analysis.quality[index],
            row=index,
        )
        for number, index in enumerate(order.tolist(), start=1)
    )


def standout_face(faces: Sequence[PhotoFace], image_size: tuple[int, int]) -> PhotoFace | None:
    """The face to take without asking: the most central face, when it is ``AUTO_CHOICE_RATIO`` times wider than
    every other face; None when that is not plain (the person must choose)."""
    width, height = image_size

    def off_centre(face: PhotoFace) -> float:
        x0, y0, x1, y1 = face.box
        return float(np.hypot((x0 + x1) / 2 - width / 2, (y0 + y1) / 2 - height / 2))

    central = min(faces, key=off_centre)
    others = [face.width_px for face in faces if face is not central]
    return central if all(central.width_px >= AUTO_CHOICE_RATIO * w for w in others) else None


def _chosen(
    faces: tuple[PhotoFace, ...], photo: Photo, label: str, face: int | None, use: Use
) -> tuple[PhotoFace, str]:
    if face is not None:
        if not 1 <= face <= len(faces):
            found = f"{len(faces)} face" + ("s" if len(faces) != 1 else "")
            raise InvalidInput(f"{label}: there is no face {face}; {found} found (choose 1-{len(faces)})")
        return faces[face - 1], "person" if len(faces) > 1 else "only"
    if len(faces) == 1:
        return faces[0], "only"
    standout = standout_face(faces, (photo.image.shape[1], photo.image.shape[0]))
    if standout is None and use == "search":
        raise InvalidInput(f"{label}: {len(faces)} faces found and none stands out; crop the photo to one face")
    if standout is None:
        raise SeveralFaces(label, faces)
    return standout, "auto"


def one_face(
    recognizer: FaceRecognizer,
    photo: Photo,
    *,
    label: str,
    use: Use,
    min_quality: float,
    face: int | None = None,
    override: bool = False,
) -> CheckedFace:
    """The face of a photo to use, fit for ``use``: the only face, face number ``face``, or the one face that plainly
    stands out; refuse no face, several faces with none standing out (:class:`SeveralFaces`), or a face too poor
    (:class:`PoorFace`, each reason with its measurement and limit) unless ``override`` (a supervisor's decision,
    recorded by the caller; a face too poor even to search with cannot be overridden)."""
    analysis = recognizer.analyse(photo.image)
    if len(analysis) == 0:
        raise InvalidInput(f"{label}: no face found (use a clear photo of one person's face)")
    faces = photo_faces(analysis)
    picked, how = _chosen(faces, photo, label, face, use)
    index = picked.row
    quality = picked.quality
    fit = quality.enrollable if use == "enrol" else quality.searchable
    reasons = quality.reasons or (f"quality {quality.score:.2f}; limit at least {min_quality:g}",)
    which = f"face {picked.number}" if len(faces) > 1 else "face"
    verb = "enrol" if use == "enrol" else "search with"
    if not fit or quality.score < min_quality:
        if not override or not quality.searchable:
            raise PoorFace(f"{label}: {which} too poor to {verb}: {'; '.join(reasons)}", reasons)
    else:
        reasons = ()
    chosen = analysis.faces[np.array([index])]
    return CheckedFace(
        faces=chosen,
        embedding=np.asarray(analysis.embeddings[index], dtype=np.float32),
        quality=quality,
        crop=crop_face(photo.image, analysis.faces.xyxy[index]),
        number=picked.number,
        chosen=how,
        overridden=reasons,
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
