"""Chain of custody: the events on a footage record, and re-hashing a stored file to prove it unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import CustodyEvent, Footage
from vigil.footage.storage import footage_root, sha256_of, stored_files
from vigil.governance import audit
from vigil.governance.audit import SYSTEM_ACTOR, Outcome
from vigil.settings import Settings

INGESTED = "ingested"
DUPLICATE_SUBMITTED = "duplicate submitted"
VERIFIED = "hash verified"
VERIFY_FAILED = "hash verification FAILED"


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
