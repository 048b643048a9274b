"""Owner upload tests: a file sent in chunks the way the upload page's script sends it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from vigil.registry.uploads import (
    Stored,
    append_chunk,
    begin_upload,
    complete_upload,
)
from vigil.settings import Settings

CHUNK = 4096


def send_file(db: Session, settings: Settings, token: str, path: Path, *, name: str | None = None) -> Stored:
    """What the upload page's script does: begin, send the chunks in order, complete (committing as the web does)."""
    data = path.read_bytes()
    upload = begin_upload(db, settings=settings, token=token, name=name or path.name, size_bytes=len(data))
    db.commit()
    for offset in range(0, len(data), CHUNK):
        append_chunk(
            db,
            settings=settings,
            token=token,
            upload_key=upload.upload_key,
            offset=offset,
            data=data[offset : offset + CHUNK],
        )
        db.commit()
    return complete_upload(db, settings=settings, token=token, upload_key=upload.upload_key)
