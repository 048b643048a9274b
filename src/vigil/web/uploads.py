"""Video uploads sent as a raw request body (the footage page's script and the API), streamed to disk.

The checks that need no file (training, camera, start time, case reference, declared size) run before the
body is read, so a refused upload costs the sender nothing. The body is written to a temporary file under
the footage folder and refused as soon as it passes ``settings.web.max_upload_mb``; the ingest service then
probes and stores it (in a worker thread: probing and copying block), and the temporary file is deleted.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.errors import InvalidInput
from vigil.footage.ingest import EARLIEST_PLAUSIBLE, IngestResult, check_ingest, ingest_footage
from vigil.footage.storage import MIB, check_upload_size, discard, footage_root, receive_upload_stream
from vigil.web.forms import local_datetime, text
from vigil.web.state import web_state

UPLOAD_SOURCE = "web upload"


@dataclass(frozen=True)
class UploadDetails:
    """What the sender says about an uploaded file (from the query string: the body is the file)."""

    camera: str
    name: str
    start: datetime | None = None
    case_ref: str | None = None
    modified: datetime | None = None  # the file's modification time on the sender's computer
    source: str = UPLOAD_SOURCE


def upload_details(
    *,
    camera: str,
    name: str,
    start: str = "",
    case: str = "",
    modified: str = "",
    source: str = "",
    zone: tzinfo = UTC,
) -> UploadDetails:
    """Check the query parameters of an upload; a start time without an offset is read in ``zone`` (the web form
    passes the force's time zone; the API keeps UTC)."""
    camera = text(camera, label="Camera", max_chars=64)
    if not camera:
        raise InvalidInput("choose the camera that recorded the footage")
    return UploadDetails(
        camera=camera,
        name=text(name, label="File name", max_chars=255) or "upload",
        start=local_datetime(start, zone=zone, label="Recording start"),
        case_ref=text(case, label="Case reference", max_chars=64) or None,
        modified=_plausible_time(modified),
        source=text(source, label="Source", max_chars=200) or UPLOAD_SOURCE,
    )


def _plausible_time(milliseconds: str) -> datetime | None:
    """A browser's ``File.lastModified`` (ms since 1970) if it is a plausible recording time, else None."""
    if not milliseconds.isdigit() or len(milliseconds) > 15:
        return None
    with contextlib.suppress(OverflowError, ValueError, OSError):
        moment = datetime.fromtimestamp(int(milliseconds) / 1000, UTC)
        if EARLIEST_PLAUSIBLE <= moment <= utcnow() + timedelta(days=1):
            return moment
    return None


def _declared_size(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() and len(value) < 20 else None


async def receive_and_ingest(request: Request, db: Session, *, user: User, details: UploadDetails) -> IngestResult:
    """Check, receive and ingest an uploaded video; the temporary copy is always deleted."""
    settings = web_state(request).system.settings
    max_bytes = settings.web.max_upload_mb * MIB
    await run_in_threadpool(_check_before_receiving, db, user, details)
    declared = _declared_size(request)
    if declared is not None:
        check_upload_size(declared, max_bytes)
    try:
        path = await receive_upload_stream(
            request.stream(), dest_dir=footage_root(settings.data_dir), max_bytes=max_bytes
        )
    except ClientDisconnect:
        raise InvalidInput("the upload was interrupted before the whole file arrived; nothing was stored") from None
    try:
        _set_modified(path, details.modified)
        ingest = partial(
            ingest_footage,
            db,
            settings=settings,
            user=user,
            source_path=path,
            camera_code=details.camera,
            original_name=details.name,
            start=details.start,
            source=details.source,
            case_ref=details.case_ref,
        )
        return await run_in_threadpool(ingest)
    finally:
        discard(path)


def _check_before_receiving(db: Session, user: User, details: UploadDetails) -> None:
    check_ingest(db, user=user, camera_code=details.camera, start=details.start, case_ref=details.case_ref)
    db.commit()  # end the transaction: the database stays free for others while the file arrives


def _set_modified(path: Path, modified: datetime | None) -> None:
    """Give the received copy the original's modification time, which ingest falls back on for the start."""
    if modified is not None:
        os.utime(path, (modified.timestamp(), modified.timestamp()))
