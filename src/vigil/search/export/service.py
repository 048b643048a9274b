"""Evidence export: a case's confirmed tracks as a verifiable zip of original clips, stills and a manifest.

Only tracks a trained reviewer confirmed for the case may leave the system, and only for a user with the export
capability, a stated case and purpose. The bundle is written to ``<data_dir>/exports/<case>/<id>.zip`` through a
partial file renamed into place; its row (with the zip's SHA-256) and the ``export.create`` audit entry are
written in the same transaction, and any failure removes the partial file and the row, so nothing half-made is
left (the failed attempt itself is audited, outcome ``failed``). Downloads are re-authorised and audited
(``export.download``). See :mod:`vigil.search.export.verify` for the checks ``vigil export verify`` runs.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import AuditHead, Case, EvidenceExport, Footage, ReviewMark, Track, User
from vigil.errors import InvalidInput, NotFound, VigilError
from vigil.footage.storage import STORED_MODE
from vigil.governance import audit
from vigil.governance.access import authorise, ensure_case
from vigil.governance.audit import GENESIS_HASH, AuditContext, Outcome
from vigil.governance.keys import secret_key
from vigil.governance.roles import Capability
from vigil.search.export.bundle import BundleContent, BundleHeader, ExportedTrack, file_sha256, write_bundle
from vigil.search.export.clips import ClipError
from vigil.search.review.marks import confirmed_tracks, marks_of_case
from vigil.settings import Settings

EXPORTS_FOLDER = "exports"
PARTIAL_SUFFIX = ".partial"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class ExportCandidates:
    """The case's confirmed tracks (what may be exported) and its bundles so far, newest first."""

    case_ref: str
    tracks: list[Track]
    exports: list[EvidenceExport]


def _allow(db: Session, user: User, action: str, context: AuditContext, now: datetime | None = None) -> Case:
    authorise(db, user=user, capability=Capability.EXPORT, action=action, context=context, now=now)
    return ensure_case(db, reference=context.case_ref, user=user)


def case_folder(case_ref: str) -> str:
    """The exports sub-folder of a case: its reference with anything but letters, digits, _ . - replaced."""
    return _UNSAFE.sub("_", case_ref).replace("..", "__")


def _version() -> str:
    try:
        return importlib.metadata.version("vigil")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def _chosen(db: Session, case: Case, track_ids: Sequence[int] | None) -> list[ExportedTrack]:
    """The confirmed tracks to export (all, or those asked for) with their current confirming mark."""
    confirmed = {track.id: track for track in confirmed_tracks(db, case_id=case.id)}
    if not confirmed:
        raise InvalidInput(f"no track is confirmed for case {case.reference}: review and confirm tracks first")
    if track_ids is not None and not track_ids:
        raise InvalidInput("choose at least one confirmed track to export")
    wanted = list(dict.fromkeys(track_ids)) if track_ids is not None else list(confirmed)
    refused = [str(track_id) for track_id in wanted if track_id not in confirmed]
    if refused:
        raise InvalidInput(
            f"track {', '.join(refused)} {'is' if len(refused) == 1 else 'are'} not confirmed for case "
            f"{case.reference}: only confirmed tracks can be exported"
        )
    marks: dict[int, ReviewMark] = {}
    for mark in marks_of_case(db, case_id=case.id):  # newest first: the first seen per track is current
        marks.setdefault(mark.track_id, mark)
    users = {mark.marked_by_id for mark in marks.values()}
    stmt = select(User.id, User.username).where(User.id.in_(users))
    names = {int(uid): str(name) for uid, name in db.execute(stmt)}
    chosen = [confirmed[track_id] for track_id in wanted]
    chosen.sort(key=lambda t: (t.first_seen, t.id))
    return [ExportedTrack(t, marks[t.id], names.get(marks[t.id].marked_by_id, "?")) for t in chosen]


def _content(db: Session, case_ref: str, tracks: list[ExportedTrack]) -> BundleContent:
    footage_ids = {item.track.footage_id for item in tracks}
    stmt = (
        select(Footage.id, User.username)
        .join(User, User.id == Footage.ingested_by_id)
        .where(Footage.id.in_(footage_ids))
    )
    ingesters = {int(fid): str(name) for fid, name in db.execute(stmt)}
    entries = [audit.entry_as_dict(entry) for entry in audit.query_entries(db, case_ref=case_ref)]
    head = db.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    chain_head = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    return BundleContent(tracks, ingesters, entries, chain_head)


def create_export(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    settings: Settings,
    track_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> EvidenceExport:
    """Bundle the case's confirmed tracks (all, or ``track_ids``) as a zip, audited as ``export.create``."""
    now = now or utcnow()
    case = _allow(db, user, "export.create", context, now)
    chosen = _chosen(db, case, track_ids)
    content = _content(db, context.case_ref, chosen)
    savepoint = db.begin_nested()
    row = EvidenceExport(
        case_id=case.id, stored_path="", sha256="", size_bytes=0, track_count=len(chosen), created_by_id=user.id
    )
    row.created_at = now
    db.add(row)
    db.flush()
    row.stored_path = str(Path(EXPORTS_FOLDER) / case_folder(case.reference) / f"{row.id}.zip")
    final = settings.data_dir / row.stored_path
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    try:
        _write(db, row, user=user, context=context, settings=settings, content=content, partial=partial)
        partial.chmod(STORED_MODE)  # read-only, like stored footage
        os.replace(partial, final)
        savepoint.commit()
    except BaseException as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        if savepoint.is_active:
            savepoint.rollback()
            with contextlib.suppress(OSError):
                final.unlink(missing_ok=True)
        if isinstance(exc, Exception):
            _record_failure(db, user=user, context=context, tracks=chosen, problem=exc)
        if isinstance(exc, ClipError):
            raise InvalidInput(f"the bundle could not be made: {exc}") from None
        if isinstance(exc, OSError):
            raise VigilError(f"the bundle could not be written: {exc.strerror or exc}") from None
        raise
    return row


def _write(
    db: Session,
    row: EvidenceExport,
    *,
    user: User,
    context: AuditContext,
    settings: Settings,
    content: BundleContent,
    partial: Path,
) -> None:
    """Write the zip to ``partial``, fill in the row's hash and size, and audit ``export.create``."""
    header = BundleHeader(
        row.id, context.case_ref, context.purpose, user.username, user.display_name, row.created_at, _version()
    )
    manifest = write_bundle(header, content, settings=settings, secret=secret_key(settings), target=partial)
    row.sha256, row.size_bytes = file_sha256(partial), partial.stat().st_size
    methods = sorted({str(t["clip"]["method"]) for t in manifest["tracks"]})
    audit.record(
        db,
        actor=user.username,
        action="export.create",
        capability=Capability.EXPORT.value,
        context=context,
        subject_type="export",
        subject_id=row.id,
        details={"tracks": [item.track.id for item in content.tracks], "sha256": row.sha256, "clips": methods},
        now=row.created_at,
    )
    db.flush()


def _record_failure(
    db: Session, *, user: User, context: AuditContext, tracks: list[ExportedTrack], problem: Exception
) -> None:
    """Audit a failed export (committed, so it survives the caller's rollback); nothing else is kept."""
    message = problem.message if isinstance(problem, VigilError) else f"{type(problem).__name__}: {problem}"
    audit.record(
        db,
        actor=user.username,
        action="export.create",
        outcome=Outcome.FAILED,
        capability=Capability.EXPORT.value,
        context=context,
        details={"tracks": [item.track.id for item in tracks], "problem": message[:500]},
    )
    db.commit()


def export_candidates(db: Session, *, user: User, context: AuditContext) -> ExportCandidates:
    """What the exports page shows: the case's confirmed tracks and its bundles (export users; not audited)."""
    case = _allow(db, user, "export.list", context)
    tracks = confirmed_tracks(db, case_id=case.id)
    stmt = (
        select(EvidenceExport)
        .where(EvidenceExport.case_id == case.id)
        .order_by(EvidenceExport.created_at.desc(), EvidenceExport.id.desc())
    )
    return ExportCandidates(context.case_ref, tracks, list(db.execute(stmt).scalars()))


def case_exports(db: Session, *, user: User, context: AuditContext) -> list[EvidenceExport]:
    """The case's bundles, newest first (export users; not audited: it shows no footage)."""
    return export_candidates(db, user=user, context=context).exports


def download_export(
    db: Session, *, user: User, context: AuditContext, settings: Settings, export_id: int
) -> tuple[EvidenceExport, Path]:
    """A bundle of the context's case for download, re-authorised and audited as ``export.download``."""
    now = utcnow()
    case = _allow(db, user, "export.download", context, now)
    row = db.get(EvidenceExport, export_id)
    if row is None or row.case_id != case.id:
        raise NotFound(f"case {context.case_ref} has no export {export_id}")
    root = settings.data_dir.resolve()
    path = (root / row.stored_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"the zip of export {export_id} is missing from the data folder")
    audit.record(
        db,
        actor=user.username,
        action="export.download",
        capability=Capability.EXPORT.value,
        context=context,
        subject_type="export",
        subject_id=row.id,
        details={"sha256": row.sha256},
        now=now,
    )
    return row, path
