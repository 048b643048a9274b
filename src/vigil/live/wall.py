"""The camera wall's pictures: each camera's latest frame as a JPEG in its spool folder.

:class:`WallPicture` is a frame observer (it runs in the camera's worker process): at most every
``settings.live.wall_picture_seconds`` it encodes the newest decoded frame, scaled to at most
:data:`MAX_WIDTH` wide, and replaces ``<spool>/<CODE>/wall.jpg`` atomically (a temporary file, fsync, rename), so
the web server never serves half a picture. The web server only reads the file, through :func:`picture_path`,
which accepts nothing but a known camera's code (no path can be built from a request).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigil.live.observers import LiveFrame

PICTURE_NAME = "wall.jpg"
PARTIAL_PICTURE = ".partial-wall.jpg"  # starts like a partial segment: a restarting worker clears it
MAX_WIDTH = 960
JPEG_QUALITY = 80
CAMERA_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.\-]{0,63}$")


class WallPicture:
    """Writes a camera's latest picture for the camera wall, at most every ``every_seconds``."""

    def __init__(self, *, folder: Path, every_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.folder, self.every_seconds = folder, every_seconds
        self._clock = clock
        self._last: float | None = None

    def observe(self, frame: LiveFrame) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self.every_seconds:
            return
        self._last = now
        write_picture(self.folder, frame.image)

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / PARTIAL_PICTURE).unlink()


def write_picture(folder: Path, image: npt.NDArray[np.uint8]) -> Path:
    """Encode ``image`` (BGR) as a JPEG and put it in place of the camera's wall picture in one step."""
    height, width = image.shape[:2]
    if width > MAX_WIDTH:
        image = np.asarray(
            cv2.resize(image, (MAX_WIDTH, max(1, round(height * MAX_WIDTH / width))), interpolation=cv2.INTER_AREA),
            dtype=np.uint8,
        )
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the frame could not be encoded as a JPEG")
    folder.mkdir(parents=True, exist_ok=True)
    partial, final = folder / PARTIAL_PICTURE, folder / PICTURE_NAME
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, encoded.tobytes())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, final)
    return final


def picture_path(spool_dir: Path, camera_code: str, known: set[str]) -> Path | None:
    """The wall picture of a known camera, or None (never a path outside the spool folder)."""
    if camera_code not in known or not CAMERA_CODE.match(camera_code):
        return None
    path = (spool_dir / camera_code / PICTURE_NAME).resolve()
    if not path.is_relative_to(spool_dir.resolve()) or not path.is_file():
        return None
    return path
