"""The append-only audit log, every entry hash-chained to the one before it.

Each entry's hash is SHA-256 over a canonical serialisation of its fields, including the previous entry's
hash. ``verify`` walks the chain and reports the first broken link: an edited row no longer matches its
hash, a deleted or inserted row breaks the sequence or the previous-hash link, and a row removed from or
added at the end no longer matches the chain head (a separate row updated with every append).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
PUBLIC_ACTOR = "public"

JsonScalar = str | int | float | bool | None
JsonValue = JsonScalar | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditContext:
    """The purpose and case an action was done for (both required for searches, views and exports)."""

    case_ref: str
    purpose: str


def _timestamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_details(details: Mapping[str, Any] | None) -> str:
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the canonical serialisation of an entry (all fields but its own hash)."""
    canonical = json.dumps(
        {
            "seq": entry.seq,
            "at": _timestamp(entry.at),
            "actor": entry.actor,
            "action": entry.action,
            "outcome": entry.outcome,
            "capability": entry.capability,
            "case_ref": entry.case_ref,
            "purpose": entry.purpose,
            "subject_type": entry.subject_type,
            "subject_id": entry.subject_id,
            "details": entry.details,
            "prev_hash": entry.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _locked_head(db: Session) -> AuditHead:
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:  # the migration seeds it; this only guards a hand-made database
        head = AuditHead(id=1, seq=0, hash=GENESIS_HASH)
        db.add(head)
        db.flush()
    return head


def record(
    db: Session,
    *,
    actor: str,
    action: str,
    outcome: Outcome = Outcome.OK,
    capability: str | None = None,
    context: AuditContext | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the chain, in the caller's transaction (it commits with the caller's work)."""
    head = _locked_head(db)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=now or utcnow(),
        actor=actor,
        action=action,
        outcome=str(outcome),
        capability=capability,
        case_ref=context.case_ref if context else None,
        purpose=context.purpose if context else None,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=canonical_details(details),
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    db.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    db.flush()
    return entry


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} entries, head {self.head_seq} {self.head_hash[:16]}…"
        return f"audit chain BROKEN at entry {self.broken_seq}: {self.problem}"


def verify(db: Session) -> VerifyReport:
    """Walk the whole chain in order and report the first broken link."""
    head = db.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0

    def broken(seq: int, problem: str) -> VerifyReport:
        return VerifyReport(False, checked, head_seq, head_hash, seq, problem)

    rows = db.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000))
    for entry in rows.scalars():
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing (deleted)")
            return broken(entry.seq, "sequence number repeated or out of order (inserted)")
        if entry.prev_hash != prev_hash:
            return broken(entry.seq, "link to the previous entry is broken (an entry was inserted or replaced)")
        if entry_hash(entry) != entry.hash:
            return broken(entry.seq, "contents do not match the entry's hash (edited)")
        prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    last_seq = expected_seq - 1
    if last_seq != head_seq or prev_hash != head_hash:
        if last_seq < head_seq:
            return broken(last_seq + 1, f"the chain ends at {last_seq} but its head is {head_seq} (deleted)")
        return broken(head_seq + 1 if last_seq > head_seq else last_seq, "the chain does not end at its head")
    return VerifyReport(True, checked, head_seq, head_hash)


EXPORT_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "outcome",
    "capability",
    "case_ref",
    "purpose",
    "subject_type",
    "subject_id",
    "details",
    "prev_hash",
    "hash",
)


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in EXPORT_FIELDS}
    row["at"] = _timestamp(entry.at)
    return row


def query_entries(
    db: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    case_ref: str | None = None,
    actor: str | None = None,
    action_prefix: str | None = None,
    before_seq: int | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> Iterator[AuditEntry]:
    stmt = select(AuditEntry)
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    if case_ref:
        stmt = stmt.where(AuditEntry.case_ref == case_ref)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action_prefix:
        stmt = stmt.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    stmt = stmt.order_by(AuditEntry.seq.desc() if newest_first else AuditEntry.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from db.execute(stmt.execution_options(yield_per=2000)).scalars()


def render_export(entries: Iterator[AuditEntry], fmt: str) -> str:
    """Entries as CSV or JSON, each with its hashes, so an auditor can re-check the links offline."""
    rows = [entry_as_dict(entry) for entry in entries]
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r} (use csv or json)")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
