"""Oversight of the audit log: browsing it, verifying the chain, exporting it. Each needs VIEW_AUDIT.

Browsing is not itself audited (it would flood the log); verifying and exporting are, and an export
carries the purpose and case it was made for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from vigil.db.models import AuditEntry, User
from vigil.errors import InvalidInput
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.audit import AuditContext, Outcome, VerifyReport
from vigil.governance.audit_anchor import AnchorError, AnchorReport, check_anchors
from vigil.governance.roles import Permission
from vigil.settings import Settings

EXPORT_FORMATS = ("csv", "json")
MAX_PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: all fields optional; ``action_prefix`` matches e.g. 'user.' or 'login'."""

    case_ref: str | None = None
    actor: str | None = None
    action_prefix: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    older_than: int | None  # pass as ``before_seq`` to get the next (older) page; None on the last page


def browse_audit(
    db: Session, *, actor: User, where: AuditFilter, before_seq: int | None = None, page_size: int = 50
) -> AuditPage:
    """One page of entries, newest first, older than ``before_seq`` when given."""
    require_permission(db, user=actor, permission=Permission.VIEW_AUDIT, action="audit.view")
    if not 1 <= page_size <= MAX_PAGE:
        raise InvalidInput(f"page size must be 1-{MAX_PAGE}")
    rows = list(
        audit.query_entries(
            db,
            since=where.since,
            until=where.until,
            case_ref=where.case_ref,
            actor=where.actor,
            action_prefix=where.action_prefix,
            before_seq=before_seq,
            limit=page_size + 1,
            newest_first=True,
        )
    )
    entries = rows[:page_size]
    older = entries[-1].seq if len(rows) > page_size else None
    return AuditPage(entries=entries, older_than=older)


def verify_chain(db: Session, *, actor: User) -> VerifyReport:
    """Walk the whole chain; the check and its result are themselves audited."""
    require_permission(db, user=actor, permission=Permission.VIEW_AUDIT, action="audit.verify")
    report = audit.verify(db)
    audit.record(
        db,
        actor=actor.username,
        action="audit.verify",
        outcome=Outcome.OK if report.ok else Outcome.FAILED,
        details={"checked": report.checked, "head_seq": report.head_seq, "broken_seq": report.broken_seq},
    )
    return report


def export_audit(db: Session, *, actor: User, context: AuditContext, where: AuditFilter, fmt: str) -> str:
    """The matching entries as CSV or JSON (with their hashes), audited with the stated purpose and case."""
    require_permission(db, user=actor, permission=Permission.VIEW_AUDIT, action="audit.export")
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; choose csv or json")
    entries = list(
        audit.query_entries(
            db,
            since=where.since,
            until=where.until,
            case_ref=where.case_ref,
            actor=where.actor,
            action_prefix=where.action_prefix,
        )
    )
    text = audit.render_export(iter(entries), fmt)
    audit.record(
        db,
        actor=actor.username,
        action="audit.export",
        context=context,
        details={
            "format": fmt,
            "entries": len(entries),
            "case_filter": where.case_ref,
            "since": where.since.isoformat() if where.since else None,
        },
    )
    return text


def verify_chain_anchors(db: Session, *, actor: User, settings: Settings) -> AnchorReport:
    """Check the chain against its signed checkpoints outside the database; audited like ``verify_chain``."""
    require_permission(db, user=actor, permission=Permission.VIEW_AUDIT, action="audit.verify_anchors")
    try:
        report = check_anchors(db, settings=settings)
    except AnchorError as exc:
        report = AnchorReport(problems=[exc.message])
    audit.record(
        db,
        actor=actor.username,
        action="audit.verify_anchors",
        outcome=Outcome.OK if report.ok else Outcome.FAILED,
        details={"checkpoints": report.checkpoints, "problems": report.problems[:5]},
    )
    return report
