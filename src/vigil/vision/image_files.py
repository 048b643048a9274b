"""Decoding uploaded still images safely: the picture's size is read from its header before any decoding.

A decoder allocates the whole picture the header declares: a 1 MB PNG can declare 20,000 x 20,000 pixels
(1.2 GB once decoded to BGR). :func:`decode_image` therefore parses the header of the formats vigil accepts
(JPEG, PNG, WebP, BMP, GIF, TIFF), refuses a picture over the pixel limit (or one whose size cannot be read)
with a clear message, and only then lets OpenCV decode it. Every image input (face enrolment, identification
and probe photos, search by photo, ``vigil describe``) goes through it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vigil.errors import InvalidInput

DEFAULT_MAX_PIXELS = 40_000_000
ACCEPTED = "JPEG, PNG, WebP, BMP, GIF or TIFF"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the picture's size.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header declares."""

    kind: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_header(data: bytes) -> ImageHeader | None:
    """The format and declared size of an image, or None if it is not one of the accepted formats
    or its header is damaged (no size could be read)."""
    try:
        return _header(data)
    except (struct.error, IndexError, ValueError):
        return None


def _header(data: bytes) -> ImageHeader | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ImageHeader("PNG", width, height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _webp(data)
    if data.startswith(b"BM"):
        return _bmp(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", data[6:10])
        return ImageHeader("GIF", width, height)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(data)
    return None


def _jpeg(data: bytes) -> ImageHeader | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _JPEG_STANDALONE:
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return ImageHeader("JPEG", width, height)
        at += 2 + length
    return None


def _webp(data: bytes) -> ImageHeader | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageHeader("WebP", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return ImageHeader("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageHeader("WebP", width, height)
    return None


def _bmp(data: bytes) -> ImageHeader | None:
    (dib_size,) = struct.unpack("<I", data[14:18])
    if dib_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return ImageHeader("BMP", width, height)
    if dib_size < 40:
        return None
    width, height = struct.unpack("<ii", data[18:26])
    return ImageHeader("BMP", abs(width), abs(height))


def _tiff(data: bytes) -> ImageHeader | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    size: dict[int, int] = {}
    for entry in range(count):
        at = offset + 2 + 12 * entry
        tag, kind = struct.unpack(order + "HH", data[at : at + 4])
        if tag in (_TIFF_WIDTH, _TIFF_HEIGHT):
            fmt = "H" if kind == 3 else "I"
            (size[tag],) = struct.unpack(order + fmt, data[at + 8 : at + 8 + struct.calcsize(fmt)])
    if _TIFF_WIDTH not in size or _TIFF_HEIGHT not in size:
        return None
    return ImageHeader("TIFF", size[_TIFF_WIDTH], size[_TIFF_HEIGHT])


def check_image_size(data: bytes, *, label: str, max_pixels: int) -> ImageHeader:
    """The image's header, refusing (InvalidInput) an unknown format, a damaged header or too many pixels."""
    header = read_header(data)
    if header is None:
        raise InvalidInput(f"{label}: not an image vigil can read (use a {ACCEPTED} file)")
    if header.width <= 0 or header.height <= 0:
        raise InvalidInput(f"{label}: the {header.kind} header declares no picture size (is the file damaged?)")
    if header.pixels > max_pixels:
        raise InvalidInput(
            f"{label}: the picture is {header.width}×{header.height} pixels "
            f"({header.pixels / 1e6:.0f} megapixels); the limit is {max_pixels / 1e6:g} megapixels, "
            "so it was not opened: crop or scale it down and try again"
        )
    return header


def decode_image(data: bytes, *, label: str, max_pixels: int) -> npt.NDArray[np.uint8]:
    """A BGR picture from image bytes, checked against ``max_pixels`` before it is decoded."""
    if not data:
        raise InvalidInput(f"{label}: the file is empty; choose a photo ({ACCEPTED})")
    header = check_image_size(data, label=label, max_pixels=max_pixels)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise InvalidInput(f"{label}: not an image vigil can read (its {header.kind} data cannot be decoded)")
    if image.shape[0] * image.shape[1] > max_pixels:  # a header that lied: refuse the decoded picture too
        raise InvalidInput(f"{label}: the picture is over the limit of {max_pixels / 1e6:g} megapixels")
    return np.ascontiguousarray(image, dtype=np.uint8)
