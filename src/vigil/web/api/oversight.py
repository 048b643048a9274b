"""Oversight: the audit log, its verification, and retention."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from vigil.db.models import AuditEntry
from vigil.governance.audit_review import MAX_PAGE, AuditFilter, browse_audit, verify_chain
from vigil.governance.retention import retention_status, run_retention_now
from vigil.system import default_rules
from vigil.web.api.access import ERRORS, ApiUser
from vigil.web.api.schemas import (
    AuditEntryReply,
    AuditVerifyReply,
    RetentionClass,
    RetentionReply,
    RetentionRunReply,
    RetentionRunRequest,
)
from vigil.web.deps import DbSession
from vigil.web.forms import as_utc
from vigil.web.state import web_state

router = APIRouter(responses=ERRORS)

Filter = Annotated[str | None, Query(max_length=64)]


def entry_reply(entry: AuditEntry) -> AuditEntryReply:
    return AuditEntryReply(**{name: getattr(entry, name) for name in AuditEntryReply.model_fields})


@router.get("/audit", response_model=list[AuditEntryReply], tags=["audit"])
def audit_list(
    db: DbSession,
    user: ApiUser,
    case: Annotated[str | None, Query(max_length=64, description="Only entries for this case reference.")] = None,
    actor: Annotated[str | None, Query(max_length=64, description="Only entries by this user.")] = None,
    action: Annotated[str | None, Query(max_length=64, description="Only actions starting with this.")] = None,
    since: Annotated[datetime | None, Query(description="Only entries at or after this time (UTC if no zone).")] = None,
    until: Annotated[datetime | None, Query(description="Only entries before this time (UTC if no zone).")] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Only entries older than this seq.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most entries to return.")] = 100,
) -> list[AuditEntryReply]:
    """Audit entries, newest first (supervisors, administrators and auditors)."""
    where = AuditFilter(
        case_ref=case or None,
        actor=actor or None,
        action_prefix=action or None,
        since=as_utc(since, label="since"),
        until=as_utc(until, label="until"),
    )
    page = browse_audit(db, actor=user, where=where, before_seq=before, page_size=limit)
    return [entry_reply(entry) for entry in page.entries]


@router.get("/audit/verify", response_model=AuditVerifyReply, tags=["audit"])
def audit_verify(db: DbSession, user: ApiUser) -> AuditVerifyReply:
    """Walk the hash chain and report the first broken link (the check itself is audited)."""
    report = verify_chain(db, actor=user)
    return AuditVerifyReply(
        ok=report.ok,
        checked=report.checked,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        broken_seq=report.broken_seq,
        problem=report.problem,
        description=report.describe(),
    )


@router.get("/retention", response_model=RetentionReply, tags=["retention"])
def retention(request: Request, db: DbSession, user: ApiUser) -> RetentionReply:
    """Retention policies, what is due for deletion now, and the latest runs."""
    settings = web_state(request).system.settings
    status = retention_status(db, actor=user, rules=default_rules(settings))
    policies = {name: float(getattr(settings.retention, name)) for name in type(settings.retention).model_fields}
    return RetentionReply(
        policies=policies,
        due_now=[RetentionClass(**asdict(r)) for r in status.due_now],
        last_runs=[entry_reply(e) for e in status.last_runs],
    )


@router.post("/retention/run", response_model=RetentionRunReply, tags=["retention"])
def retention_run(
    request: Request, db: DbSession, user: ApiUser, body: Annotated[RetentionRunRequest | None, Body()] = None
) -> RetentionRunReply:
    """Run retention now, or count what is due with dry_run (administrators)."""
    settings = web_state(request).system.settings
    report = run_retention_now(
        db,
        actor=user,
        rules=default_rules(settings),
        data_dir=settings.data_dir,
        dry_run=body.dry_run if body else False,
    )
    return RetentionRunReply(
        at=report.at,
        dry_run=report.dry_run,
        file_errors=report.file_errors,
        results=[RetentionClass(**asdict(r)) for r in report.results],
    )
