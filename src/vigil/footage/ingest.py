"""The footage ingest service: governance, probing, storage, duplicate detection, custody and audit.

``ingest_footage`` works in the caller's transaction. The stored file is placed only after the rows
are flushed, and every failure before that removes the partial copy, so a refusal leaves no file and
no row. (If the caller's transaction later rolls back, the placed file is an orphan: harmless, reused
by the next ingest of the same bytes, and deleted after a day by ``custody.sweep_stale_files``.) The
footage's playable copy is planned in the same transaction (:mod:`vigil.footage.playable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Case, Footage, User
from vigil.errors import InvalidInput, NotFound
from vigil.footage.custody import DUPLICATE_SUBMITTED, INGESTED, add_custody_event
from vigil.footage.playable import plan_playable_copy
from vigil.footage.probe import VideoProbe, probe_video
from vigil.footage.storage import (
    StagedFile,
    discard,
    footage_root,
    place,
    safe_extension,
    safe_name,
    stage_copy,
    stored_relative_path,
)
from vigil.governance import audit
from vigil.governance.access import CASE_REF_PATTERN, authorise, reach_case
from vigil.governance.audit import AuditContext
from vigil.governance.cameras.register import get_camera
from vigil.governance.locations import require_analysis_basis
from vigil.governance.roles import Capability
from vigil.settings import Settings

ACTION = "footage.ingest"
RECORDING_IN_PROGRESS = "live recording in progress"
"""``Footage.source`` of a live camera's segment still being recorded: a row (no file yet) its tracks can belong to
while they are searchable; replaced by the real footage once the segment closes, and never listed as footage."""
START_METADATA, START_OPERATOR, START_MTIME = "metadata", "operator", "file mtime"
CASE_REF_RULE = "case reference must be 2-64 letters, digits or / _ . - and start with a letter or digit"
EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)  # cameras with unset clocks write 1904, 1970, ...
EARLIEST_START = datetime(1990, 1, 1, tzinfo=UTC)  # no digital CCTV recording an operator gives is older
# Extension for a stored file whose original name had none, by FFmpeg demuxer.
_FORMAT_EXTENSIONS = {
    "avi": "avi",
    "mov": "mp4",
    "matroska": "mkv",
    "mpegts": "ts",
    "mpeg": "mpg",
    "flv": "flv",
    "asf": "wmv",
    "h264": "h264",
    "hevc": "hevc",
    "m4v": "m4v",
    "mjpeg": "mjpeg",
    "dhav": "dav",
}


@dataclass(frozen=True)
class IngestResult:
    footage: Footage
    duplicate: bool  # the same bytes were already stored: ``footage`` is that earlier record
    warnings: tuple[str, ...] = ()  # things the person ingesting should check (shown by the CLI and web)


@dataclass(frozen=True)
class _Submission:
    """What the person ingesting said about the file, checked."""

    user: User
    camera: Camera
    name: str
    source: str
    case: Case | None
    start: datetime | None
    now: datetime

    def facts(self) -> dict[str, object]:
        """What custody events and audit entries record about a submission."""
        return {
            "camera": self.camera.code,
            "original_name": self.name,
            "source": self.source,
            "case": self.case.reference if self.case else None,
        }


def ingest_footage(
    db: Session,
    *,
    settings: Settings,
    user: User,
    source_path: Path,
    camera_code: str,
    original_name: str | None = None,
    start: datetime | None = None,
    source: str = "force CCTV",
    case_ref: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store an original video untouched, with its probe facts, a custody event and an audit entry.

    The start time is ``start`` when given (the operator read it off the footage: it wins over the file's
    own tag, which is often the export time), else the file's ``creation_time`` tag, else its modification
    time (with a warning). Raises NotPermitted (audited), NotFound (camera) or InvalidInput (not decodable
    video; nothing is stored).
    """
    now = now or utcnow()
    authorise(
        db, user=user, capability=Capability.ANALYTICS, action=ACTION, context=None, context_required=False, now=now
    )
    camera = get_camera(db, camera_code)
    name = safe_name(original_name if original_name is not None else source_path.name)
    _check_start(start, now)
    source = " ".join(source.split())[:200]
    if not source:
        raise InvalidInput("say where the footage came from (e.g. 'force CCTV' or the owner's name)")
    case = _case(db, case_ref, user)
    submission = _Submission(user, camera, name, source, case, start, now)
    staged = stage_copy(source_path, root=footage_root(settings.data_dir), name=name)
    placed = False
    try:
        existing = db.execute(select(Footage).where(Footage.sha256 == staged.sha256)).scalar_one_or_none()
        if existing is not None:
            return _record_duplicate(db, existing, submission)
        probe = probe_video(staged.path, name=name)
        footage, warnings = _record_new(db, staged, probe, submission)
        place(staged, data_dir=settings.data_dir, relative_path=footage.stored_path)
        placed = True
        return IngestResult(footage, duplicate=False, warnings=warnings)
    finally:
        if not placed:
            discard(staged.path)


def check_ingest(
    db: Session,
    *,
    user: User,
    camera_code: str,
    start: datetime | None = None,
    case_ref: str | None = None,
    now: datetime | None = None,
) -> Camera:
    """The checks :func:`ingest_footage` makes before it touches the file, for a caller about to receive one.

    A web upload runs them before reading the request body, so a user without current training, an
    unknown camera or a bad start time or case reference is refused before gigabytes are sent. Refusals
    are audited as by the ingest itself; nothing is written on success.
    """
    now = now or utcnow()
    authorise(
        db, user=user, capability=Capability.ANALYTICS, action=ACTION, context=None, context_required=False, now=now
    )
    camera = get_camera(db, camera_code)
    _check_start(start, now)
    _case(db, case_ref, user)
    return camera


def _check_start(start: datetime | None, now: datetime) -> None:
    if start is None:
        return
    if start.tzinfo is None:
        raise InvalidInput("give the start time with its UTC offset (e.g. 2026-03-01T14:05:00+00:00)")
    if start < EARLIEST_START:
        raise InvalidInput(
            f"the start time {start.date().isoformat()} is before 1990, so it cannot be a recording's: "
            "check the date read off the footage"
        )
    if start > now:
        raise InvalidInput("the start time is in the future")


def _case(db: Session, case_ref: str | None, user: User) -> Case | None:
    case_ref = (case_ref or "").strip()
    if not case_ref:
        return None
    if not CASE_REF_PATTERN.match(case_ref):
        raise InvalidInput(CASE_REF_RULE)
    context = AuditContext(case_ref=case_ref, purpose=f"hold footage for case {case_ref}")
    return reach_case(db, user=user, context=context, action=ACTION)


def _start_time(probe: VideoProbe, staged: StagedFile, sub: _Submission) -> tuple[datetime, str, list[str]]:
    tag = probe.creation_time
    warnings: list[str] = []
    if tag is not None and not EARLIEST_PLAUSIBLE <= tag <= sub.now + timedelta(days=1):
        warnings.append(f"the file's creation_time tag ({tag.isoformat()}) is implausible and was ignored")
        tag = None
    if sub.start is not None:
        if tag is not None and abs(tag - sub.start) > timedelta(seconds=1):
            warnings.append(f"the file's creation_time tag says {tag.isoformat()}; the start time you gave was used")
        return sub.start.astimezone(UTC), START_OPERATOR, warnings
    if tag is not None:
        return tag, START_METADATA, warnings
    mtime = datetime.fromtimestamp(staged.source_mtime, UTC)
    warnings.append(
        f"the file records no start time, so its modification time ({mtime.isoformat(timespec='seconds')}) "
        "was used; that is often when it was copied, not recorded: give the start time if this is wrong"
    )
    return mtime, START_MTIME, warnings


def _record_new(
    db: Session, staged: StagedFile, probe: VideoProbe, sub: _Submission
) -> tuple[Footage, tuple[str, ...]]:
    start, start_source, warnings = _start_time(probe, staged, sub)
    ext = safe_extension(sub.name) or _FORMAT_EXTENSIONS.get(probe.container.split(",")[0], "bin")
    footage = Footage(
        camera_id=sub.camera.id,
        case_id=sub.case.id if sub.case else None,
        original_name=sub.name,
        stored_path=stored_relative_path(staged.sha256, ext),
        sha256=staged.sha256,
        size_bytes=staged.size_bytes,
        container=probe.container[:64],
        codec=probe.codec[:64],
        width=probe.width,
        height=probe.height,
        fps=probe.fps,
        duration_s=probe.duration_s,
        frame_count=probe.frame_count,
        start_time=start,
        start_time_source=start_source,
        ingested_at=sub.now,
        ingested_by_id=sub.user.id,
        source=sub.source,
    )
    db.add(footage)
    db.flush()
    plan_playable_copy(db, footage=footage, path=staged.path, now=sub.now)
    facts = {**sub.facts(), "size_bytes": staged.size_bytes}
    add_custody_event(
        db, footage=footage, actor=sub.user.username, action=INGESTED, sha256=staged.sha256, details=facts, at=sub.now
    )
    _audit(
        db,
        sub,
        footage,
        {**facts, "duration_s": probe.duration_s, "start_time": start.isoformat(), "start_time_source": start_source},
    )
    return footage, tuple(warnings)


def _audit(db: Session, sub: _Submission, footage: Footage, details: dict[str, object]) -> None:
    audit.record(
        db,
        actor=sub.user.username,
        action=ACTION,
        capability=Capability.ANALYTICS.value,
        subject_type="footage",
        subject_id=footage.id,
        now=sub.now,
        details={**details, "sha256": footage.sha256},
    )


def _record_duplicate(db: Session, existing: Footage, sub: _Submission) -> IngestResult:
    warnings = [
        f"this file was already ingested as footage {existing.id} on {existing.ingested_at:%Y-%m-%d %H:%M} UTC "
        "and was not stored again; the submission is recorded in its chain of custody"
    ]
    if existing.camera_id != sub.camera.id:
        warnings.append(f"the earlier record is for camera {existing.camera.code}, not {sub.camera.code}")
    if sub.case is not None and existing.case_id is None:
        existing.case_id = sub.case.id
    elif sub.case is not None and existing.case_id != sub.case.id:  # which case is not said: it may not be theirs
        warnings.append(f"the footage is already held for another case, so it was not linked to {sub.case.reference}")
    add_custody_event(
        db,
        footage=existing,
        actor=sub.user.username,
        action=DUPLICATE_SUBMITTED,
        sha256=existing.sha256,
        details=sub.facts(),
        at=sub.now,
    )
    _audit(db, sub, existing, {**sub.facts(), "duplicate": True})
    return IngestResult(existing, duplicate=True, warnings=tuple(warnings))


def check_analysable(db: Session, *, footage: Footage, user: User, today: date, action: str = "analysis.start") -> None:
    """Refuse (audited) analysis of footage with no basis: no current location PIA and no owner's consent."""
    require_analysis_basis(db, footage=footage, user=user, action=action, today=today)


def get_footage(db: Session, footage_id: int) -> Footage:
    footage = db.get(Footage, footage_id)
    if footage is None:
        raise NotFound(f"no footage with id {footage_id}; `vigil footage list` shows what is stored")
    return footage


def list_footage(db: Session, *, camera_code: str | None = None) -> list[Footage]:
    """Stored footage in order of start time, optionally for one camera (NotFound if it is unknown)."""
    stmt = select(Footage).options(selectinload(Footage.camera)).order_by(Footage.start_time, Footage.id)
    if camera_code is not None:
        stmt = stmt.where(Footage.camera_id == get_camera(db, camera_code).id)
    return list(db.execute(stmt).scalars())
