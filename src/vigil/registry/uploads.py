"""Owners' uploads through a request's link: resumable, in chunks, checked, stored as evidence for the case.

An upload is begun with its name and size (checked against the per-file and per-request limits), then sent in
chunks at increasing offsets; a chunk at the wrong offset is refused with the offset expected, so a client whose
connection dropped asks where it stands and carries on. The partial file lives under
``<data_dir>/registry-uploads/<key>.part`` (the key is random hex; the owner's file name never touches a path).
When the last byte has arrived the file goes through the footage ingest (PyAV probe: decodable video or
refused; SHA-256; content-addressed storage; custody; audit) as the requesting officer's submission for the
case, a custody entry names the request, and the partial file is deleted. A refused file leaves nothing stored.

The owner's consent (their registration, the request and the upload) together with the requesting case's own
authorisation is the basis for analysing that footage in place of a location PIA: it is recorded on the footage
(``consent_case_id``), in its custody and in the audit, and holds only while the footage is held for that case.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Camera, Footage, Location, User
from vigil.db.registry_models import FootageRequest, RequestUpload
from vigil.errors import Conflict, InvalidInput, NotFound, VigilError
from vigil.footage.custody import add_custody_event
from vigil.footage.ingest import ingest_footage
from vigil.footage.storage import MIB, UploadTooLarge
from vigil.governance import audit
from vigil.governance.audit import PUBLIC_ACTOR, SYSTEM_ACTOR
from vigil.registry.requests import UPLOADED, request_for_token
from vigil.settings import Settings

UPLOAD_FOLDER = "registry-uploads"
RECEIVING, STORED, REFUSED = "receiving", "stored", "refused"
MAX_CHUNK_BYTES = 16 * MIB
RECEIVED_UNDER_REQUEST = "received under footage request"
CONSENT_BASIS = "owner's consent (footage request) and the case's authorisation"
_KEY = re.compile(r"^[0-9a-f]{32}$")
_FORBIDDEN_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
NOT_STORED = "Nothing was stored."


@dataclass(frozen=True)
class Stored:
    upload: RequestUpload
    footage: Footage
    officer: User  # the officer the footage was submitted to (the analysis is started in their name)
    duplicate: bool


def check_file_name(name: str) -> str:
    """A file name as the owner's computer gave it: a plain name, never a path."""
    name = name.strip()
    if not name:
        raise InvalidInput("the file has no name")
    if len(name) > 255:
        raise InvalidInput("the file name is longer than 255 characters; rename the file and try again")
    if _FORBIDDEN_NAME.search(name) or name in (".", "..") or name.startswith(".."):
        raise InvalidInput(
            f"the file name {name!r} is not acceptable: it must be a plain file name, without folders, "
            f"'/', '\\', '..' or control characters. {NOT_STORED}"
        )
    return name


def partial_path(settings: Settings, upload: RequestUpload) -> Path:
    if not _KEY.match(upload.upload_key):
        raise ValueError("upload keys are 32 hex digits")
    return settings.data_dir / UPLOAD_FOLDER / f"{upload.upload_key}.part"


def begin_upload(
    db: Session, *, settings: Settings, token: str, name: str, size_bytes: int, now: datetime | None = None
) -> RequestUpload:
    """Start receiving a file for the link's request, after checking its name and size against the limits."""
    now = now or utcnow()
    request = request_for_token(db, token, now=now, for_upload=True)
    name = check_file_name(name)
    limits = settings.registry
    if size_bytes <= 0:
        raise InvalidInput(f"{name!r} is empty. {NOT_STORED}")
    if size_bytes > limits.max_file_mb * MIB:
        raise UploadTooLarge(f"{name!r} is larger than the {limits.max_file_mb} MiB limit per file. {NOT_STORED}")
    taken = db.execute(
        select(func.coalesce(func.sum(RequestUpload.size_bytes), 0)).where(
            RequestUpload.request_id == request.id, RequestUpload.status != REFUSED
        )
    ).scalar_one()
    if int(taken) + size_bytes > limits.max_request_mb * MIB:
        raise UploadTooLarge(
            f"{name!r} would take this request over its {limits.max_request_mb} MiB limit "
            f"({int(taken) / MIB:.0f} MiB already sent). {NOT_STORED}"
        )
    upload = RequestUpload(
        request_id=request.id,
        upload_key=secrets.token_hex(16),
        original_name=name,
        size_bytes=size_bytes,
        received_bytes=0,
        status=RECEIVING,
        created_at=now,
    )
    db.add(upload)
    db.flush()
    path = partial_path(settings, upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return upload


def upload_of(db: Session, *, token: str, upload_key: str, now: datetime) -> RequestUpload:
    """An upload of the link's own request (another request's upload is unknown to this link)."""
    request = request_for_token(db, token, now=now, for_upload=True)
    upload = None
    if _KEY.match(upload_key):
        stmt = select(RequestUpload).where(RequestUpload.upload_key == upload_key)
        upload = db.execute(stmt).scalar_one_or_none()
    if upload is None or upload.request_id != request.id:
        raise NotFound("no such upload for this link")
    return upload


def append_chunk(
    db: Session,
    *,
    settings: Settings,
    token: str,
    upload_key: str,
    offset: int,
    data: bytes,
    now: datetime | None = None,
) -> RequestUpload:
    """Write one chunk at ``offset`` (which must be where the last one ended)."""
    now = now or utcnow()
    upload = upload_of(db, token=token, upload_key=upload_key, now=now)
    if upload.status != RECEIVING:
        raise Conflict(f"{upload.original_name!r} is not being received any more ({upload.status})")
    if offset != upload.received_bytes:
        raise Conflict(f"expected the chunk at byte {upload.received_bytes}, not {offset}")
    if len(data) > MAX_CHUNK_BYTES:
        raise UploadTooLarge(f"a chunk may be at most {MAX_CHUNK_BYTES // MIB} MiB")
    if offset + len(data) > upload.size_bytes:
        raise InvalidInput(f"more bytes arrived than the {upload.size_bytes} announced for {upload.original_name!r}")
    path = partial_path(settings, upload)
    with path.open("r+b") as writer:
        writer.truncate(offset)  # drop anything a previous, unrecorded attempt wrote past the offset
        writer.seek(offset)
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())
    upload.received_bytes = offset + len(data)
    db.flush()
    return upload


def complete_upload(
    db: Session, *, settings: Settings, token: str, upload_key: str, now: datetime | None = None
) -> Stored:
    """Check and store a fully received file as evidence for the request's case.

    A refused file (not decodable video, truncated, ...) is deleted, its upload marked refused with the
    reason (committed), and :class:`InvalidInput` raised with a message for the owner.
    """
    now = now or utcnow()
    upload = upload_of(db, token=token, upload_key=upload_key, now=now)
    if upload.status != RECEIVING:
        raise Conflict(f"{upload.original_name!r} was already {upload.status}")
    if upload.received_bytes != upload.size_bytes:
        raise InvalidInput(
            f"{upload.original_name!r} is incomplete: {upload.received_bytes} of {upload.size_bytes} bytes arrived"
        )
    request = upload.request
    path = partial_path(settings, upload)
    key, name = upload.upload_key, upload.original_name
    try:
        stored = _store(db, settings=settings, request=request, upload=upload, path=path, now=now)
    except VigilError as exc:
        db.rollback()
        _refuse(db, upload_key=key, reason=exc.message, now=now)
        raise InvalidInput(f"{name!r} was refused: {exc.message}. {NOT_STORED}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return stored


def _store(
    db: Session, *, settings: Settings, request: FootageRequest, upload: RequestUpload, path: Path, now: datetime
) -> Stored:
    officer = db.get(User, request.created_by_id)
    assert officer is not None
    camera = submission_camera(db, settings=settings, owner_id=request.owner_id, now=now)
    result = ingest_footage(
        db,
        settings=settings,
        user=officer,
        source_path=path,
        camera_code=camera.code,
        original_name=upload.original_name,
        source=f"footage request {request.id} (registration {request.owner_id})",
        case_ref=request.case.reference,
        now=now,
    )
    footage = result.footage
    basis = ""
    if footage.case_id == request.case_id:  # (a duplicate already held for another case keeps that case's basis)
        footage.consent_case_id, basis = request.case_id, CONSENT_BASIS
    add_custody_event(
        db,
        footage=footage,
        actor=PUBLIC_ACTOR,
        action=RECEIVED_UNDER_REQUEST,
        sha256=footage.sha256,
        details={
            "request": request.id,
            "registration": request.owner_id,
            "case": request.case.reference,
            "analysis_basis": basis or "none (held for another case)",
        },
        at=now,
    )
    upload.status, upload.footage_id, upload.completed_at = STORED, footage.id, now
    request.status = UPLOADED
    request.first_upload_at = request.first_upload_at or now
    audit.record(
        db,
        actor=PUBLIC_ACTOR,
        action="requests.upload",
        subject_type="footage_request",
        subject_id=request.id,
        details={
            "footage": footage.id,
            "sha256": footage.sha256,
            "duplicate": result.duplicate,
            "analysis_basis": basis or None,
        },
        now=now,
    )
    db.flush()
    return Stored(upload, footage, officer, result.duplicate)


def _refuse(db: Session, *, upload_key: str, reason: str, now: datetime) -> None:
    upload = db.execute(select(RequestUpload).where(RequestUpload.upload_key == upload_key)).scalar_one()
    upload.status, upload.error, upload.completed_at = REFUSED, reason, now
    audit.record(
        db,
        actor=PUBLIC_ACTOR,
        action="requests.upload",
        outcome=audit.Outcome.REFUSED,
        subject_type="footage_request",
        subject_id=upload.request_id,
        details={"reason": reason},
        now=now,
    )
    db.commit()


def submission_camera(db: Session, *, settings: Settings, owner_id: int, now: datetime) -> Camera:
    """The camera record owner-submitted footage is held under (``REG-<registration>``), made on first use.

    They sit at one location (``settings.registry.submitted_location``); their footage is analysed on the owner's
    consent under the requesting case, so that location needs no PIA.
    """
    code = f"REG-{owner_id}"
    camera = db.execute(select(Camera).where(Camera.code == code)).scalar_one_or_none()
    if camera is not None:
        return camera
    name = settings.registry.submitted_location
    site = db.execute(select(Location).where(Location.name == name)).scalar_one_or_none()
    if site is None:
        site = Location(name=name, address="", created_at=now)
        db.add(site)
        db.flush()
    camera = Camera(code=code, name=f"Registered camera owner {owner_id}", location_id=site.id, created_at=now)
    db.add(camera)
    db.flush()
    audit.record(
        db, actor=SYSTEM_ACTOR, action="camera.add", subject_type="camera", subject_id=code, details={"location": name}
    )
    return camera


def note_not_analysed(db: Session, *, upload_id: int, reason: str) -> None:
    """Keep why a stored upload's analysis could not start, for the officer's requests page."""
    upload = db.get(RequestUpload, upload_id)
    if upload is not None:
        upload.error = f"stored, not analysed: {reason}"
        db.flush()


def abandon_stale_uploads(db: Session, *, settings: Settings, now: datetime | None = None) -> int:
    """Refuse and delete the partial files of uploads whose request can no longer take files."""
    now = now or utcnow()
    stmt = select(RequestUpload).join(FootageRequest).where(RequestUpload.status == RECEIVING)
    dropped = 0
    for upload in db.execute(stmt).scalars():
        request = upload.request
        if request.expires_at > now and request.revoked_at is None and request.finished_at is None:
            continue
        upload.status, upload.error, upload.completed_at = REFUSED, "the link closed before the file was complete", now
        with contextlib.suppress(FileNotFoundError):
            partial_path(settings, upload).unlink()
        dropped += 1
    db.flush()
    return dropped
