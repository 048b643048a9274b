"""Labelled photo sets uploaded as a ZIP for threshold calibration from the browser.

The ZIP holds one folder per person (``person/photo.jpg``) like `vigil fr calibrate FOLDER`. It is unpacked into a
fresh folder with checked names only (no absolute paths, no ``..``, no links), within limits on the number of
photos, each photo's size and the total unpacked size, so a crafted archive cannot write elsewhere or fill the disk.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from vigil.errors import InvalidInput
from vigil.faces.calibration import IMAGE_SUFFIXES, LabelledPhoto, folder_photos

MAX_PHOTOS = 5000
MAX_TOTAL_MB = 1024


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path when it is a photo with a plain name; None for folders and other files."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(part in ("", "..") for part in path.parts):
        raise InvalidInput(f"the ZIP holds an unsafe path {name[:80]!r}")
    if name.endswith("/") or path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts) or len(path.parts) > 3:
        return None
    return path


def photos_from_zip(archive: Path, into: Path, *, max_photo_mb: float) -> list[LabelledPhoto]:
    """Unpack the labelled photos of ``archive`` (a person-per-folder ZIP) into the empty folder ``into``."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [(m, _safe_member(m.filename)) for m in bundle.infolist()]
            photos = [(m, path) for m, path in members if path is not None and not m.is_dir()]
            if not photos:
                raise InvalidInput("the ZIP holds no photos (JPEG, PNG, BMP or WebP in one folder per person)")
            if len(photos) > MAX_PHOTOS:
                raise InvalidInput(f"the ZIP holds {len(photos)} photos; at most {MAX_PHOTOS} are used")
            if sum(m.file_size for m, _ in photos) > MAX_TOTAL_MB * 1024 * 1024:
                raise InvalidInput(f"the photos unpack to more than {MAX_TOTAL_MB} MB")
            for member, path in photos:
                if member.file_size > max_photo_mb * 1024 * 1024:
                    raise InvalidInput(f"{path} is larger than {max_photo_mb:g} MB")
                target = into.joinpath(*path.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source:
                    data = source.read(int(max_photo_mb * 1024 * 1024) + 1)
                if len(data) > max_photo_mb * 1024 * 1024:
                    raise InvalidInput(f"{path} is larger than {max_photo_mb:g} MB")
                target.write_bytes(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError):
        raise InvalidInput("the upload is not a readable ZIP archive (no encryption, standard compression)") from None
    return folder_photos(into)
