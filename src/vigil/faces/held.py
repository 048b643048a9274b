"""Photos held while the person enrolling chooses which of their faces to enrol (the web's two-step enrolment).

A photo showing several faces, none standing out, is held under ``faces/held/<user id>/<sha256>`` for the user who
uploaded it alone; the choice page lists its faces and shows it with each face boxed and numbered. The held photo is
deleted when it is enrolled, and any held photo older than :data:`HELD_FOR` is deleted whenever another is held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.errors import NotFound
from vigil.faces.images import Photo, PhotoFace, decode_photo, photo_faces, write_file
from vigil.faces.watchlists import fr_capability
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer

HELD_FOR = timedelta(hours=24)
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class HeldPhoto:
    """A held photo, its size in pixels and its faces, numbered as the choice page draws them."""

    sha256: str
    photo: Photo
    width: int
    height: int
    faces: tuple[PhotoFace, ...]


def _folder(settings: Settings, user: User) -> Path:
    return settings.data_dir / "faces" / "held" / str(user.id)


def _path(settings: Settings, user: User, sha256: str) -> Path:
    if not SHA256.match(sha256):
        raise NotFound("that photo is no longer held; upload it again")
    return _folder(settings, user) / f"{sha256}.img"


def hold_photo(db: Session, *, settings: Settings, user: User, photo: Photo, now: datetime | None = None) -> str:
    """Hold ``photo`` for ``user`` to choose a face from; its SHA-256. Sweeps the user's stale held photos."""
    fr_capability(db, user=user, action="fr.enrol", context=None, now=now)
    cutoff = (now or utcnow()).timestamp() - HELD_FOR.total_seconds()
    folder = _folder(settings, user)
    for stale in folder.glob("*.img") if folder.is_dir() else ():
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)
    write_file(settings.data_dir, str(_path(settings, user, photo.sha256).relative_to(settings.data_dir)), photo.data)
    return photo.sha256


def held_photo(
    db: Session, *, settings: Settings, user: User, recognizer: FaceRecognizer | None, sha256: str
) -> HeldPhoto:
    """The user's held photo (its faces listed when a ``recognizer`` is given); NotFound when it is not held."""
    fr_capability(db, user=user, action="fr.enrol", context=None)
    path = _path(settings, user, sha256)
    if not path.is_file():
        raise NotFound("that photo is no longer held; upload it again")
    photo = decode_photo(
        path.read_bytes(),
        label="photo",
        max_mb=settings.faces.max_image_mb,
        max_pixels=settings.vision.max_image_pixels,
    )
    faces = photo_faces(recognizer.analyse(photo.image)) if recognizer is not None else ()
    height, width = photo.image.shape[:2]
    return HeldPhoto(sha256, photo, width, height, faces)


def held_path(db: Session, *, settings: Settings, user: User, sha256: str) -> Path:
    """The file of the user's held photo, to show on the choice page."""
    fr_capability(db, user=user, action="fr.enrol", context=None)
    path = _path(settings, user, sha256)
    if not path.is_file():
        raise NotFound("that photo is no longer held; upload it again")
    return path


def release_photo(*, settings: Settings, user: User, sha256: str) -> None:
    """Delete the user's held photo (after it was enrolled)."""
    _path(settings, user, sha256).unlink(missing_ok=True)
