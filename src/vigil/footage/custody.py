"""Chain of custody: the events on a footage record, and re-hashing a stored file to prove it unchanged."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import CustodyEvent, Footage
from vigil.footage.storage import PARTIAL_PREFIX, UPLOAD_PREFIX, footage_root, sha256_of, stored_files
from vigil.governance import audit
from vigil.governance.audit import SYSTEM_ACTOR, Outcome
from vigil.settings import Settings

INGESTED = "ingested"
DUPLICATE_SUBMITTED = "duplicate submitted"
VERIFIED = "hash verified"
VERIFY_FAILED = "hash verification FAILED"
PARTIAL_MAX_AGE = timedelta(hours=1)  # a live copy or upload writes every second; an hour untouched means dead
ORPHAN_MAX_AGE = timedelta(hours=24)


def add_custody_event(
    db: Session,
    *,
    footage: Footage,
    actor: str,
    action: str,
    sha256: str,
    details: Mapping[str, Any],
    at: datetime,
) -> CustodyEvent:
    event = CustodyEvent(actor=actor, action=action, sha256=sha256, details=audit.canonical_details(details), at=at)
    footage.custody.append(event)
    db.flush()
    return event


def footage_path(settings: Settings, footage: Footage) -> Path:
    """The stored file of a footage record (refusing a stored path that leads outside the data folder)."""
    root = settings.data_dir.resolve()
    path = (root / footage.stored_path).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"footage {footage.id} has a stored path outside the data folder")
    return path


def verify_footage(
    db: Session, *, footage: Footage, settings: Settings, actor: str = SYSTEM_ACTOR, now: datetime | None = None
) -> bool:
    """Re-hash the stored file; record the result as a custody event and an audit entry. True if unchanged."""
    now = now or utcnow()
    path = footage_path(settings, footage)
    try:
        actual = sha256_of(path)
        problem = "" if actual == footage.sha256 else "the file's SHA-256 no longer matches the one taken at ingest"
    except OSError as exc:
        actual, problem = "", f"the stored file cannot be read: {exc.strerror or exc}"
    ok = not problem
    details = {"expected": footage.sha256, "actual": actual, **({"problem": problem} if problem else {})}
    add_custody_event(
        db,
        footage=footage,
        actor=actor,
        action=VERIFIED if ok else VERIFY_FAILED,
        sha256=actual,
        details=details,
        at=now,
    )
    audit.record(
        db,
        actor=actor,
        action="footage.verify",
        outcome=Outcome.OK if ok else Outcome.FAILED,
        subject_type="footage",
        subject_id=footage.id,
        details=details,
        now=now,
    )
    return ok


def orphan_files(
    db: Session, *, settings: Settings, older_than: timedelta = timedelta(hours=24), now: datetime | None = None
) -> list[Path]:
    """Files in the footage folder that no footage record refers to, last modified before ``older_than`` ago.

    They arise only when a caller's transaction rolls back after an ingest placed its file, or a copy was
    killed part-way. Retention should delete them: they are footage held outside any policy.
    """
    cutoff = ((now or utcnow()) - older_than).timestamp()
    known = {settings.data_dir / stored for stored in db.execute(select(Footage.stored_path)).scalars()}
    return sorted(
        path
        for path in stored_files(footage_root(settings.data_dir))
        if path not in known and path.stat().st_mtime < cutoff
    )


def stale_partials(
    settings: Settings, *, older_than: timedelta = PARTIAL_MAX_AGE, now: datetime | None = None
) -> list[Path]:
    """Partial copies and uploads in the footage folder whose writer died (``kill -9``, a power cut): their
    file has not been written to for ``older_than``. Only the footage folder's own partial files are listed."""
    cutoff = ((now or utcnow()) - older_than).timestamp()
    root = footage_root(settings.data_dir)
    found = []
    for prefix in (PARTIAL_PREFIX, UPLOAD_PREFIX):
        for path in root.glob(f"{prefix}*.part") if root.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):  # finished and renamed, or removed, meanwhile
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                    found.append(path)
    return sorted(found)


def sweep_stale_files(db: Session, *, settings: Settings, now: datetime | None = None) -> list[Path]:
    """Delete stale partial files and files no footage record refers to (after a day); audited when any went.

    Called when the web app starts and before every scheduled retention run. Returns what was deleted.
    """
    now = now or utcnow()
    partials = stale_partials(settings, now=now)
    orphans = [p for p in orphan_files(db, settings=settings, older_than=ORPHAN_MAX_AGE, now=now) if p not in partials]
    removed = []
    for path in [*partials, *orphans]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    if removed:
        audit.record(
            db,
            actor=SYSTEM_ACTOR,
            action="footage.sweep",
            subject_type="footage",
            details={
                "partial_files": sum(p in partials for p in removed),
                "orphan_files": sum(p in orphans for p in removed),
                "removed": [str(p.relative_to(settings.data_dir)) for p in removed][:200],
            },
            now=now,
        )
    return removed
