"""The audit viewer (filtered, newest first, paged), chain verification, and export for a stated purpose."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from vigil.db.base import utcnow
from vigil.governance.audit_anchor import newest_checkpoint
from vigil.governance.audit_review import AuditFilter, browse_audit, export_audit, verify_chain, verify_chain_anchors
from vigil.web.auth import CurrentUser, flash
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.forms import optional_datetime
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Filter = Annotated[str, Query(max_length=64)]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@router.get("/audit")
def audit_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    case: Filter = "",
    actor: Filter = "",
    action: Filter = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    where = AuditFilter(
        case_ref=case.strip() or None, actor=actor.strip() or None, action_prefix=action.strip() or None
    )
    page = browse_audit(db, actor=user, where=where, before_seq=before)
    filters = {"case": case, "actor": actor, "action": action}
    older = None if page.older_than is None else "/audit?" + urlencode({**filters, "before": page.older_than})
    public_key, checkpoint = newest_checkpoint(web_state(request).system.settings)
    return render(
        request,
        "audit.html",
        user=user,
        section="audit",
        entries=page.entries,
        filters=filters,
        older=older,
        first_page=before is None,
        public_key=public_key,
        checkpoint=checkpoint,
    )


@router.post("/audit/verify")
def audit_verify(request: Request, db: DbSession, user: CurrentUser) -> Response:
    report = verify_chain(db, actor=user)
    flash(request, report.describe(), "ok" if report.ok else "error")
    anchors = verify_chain_anchors(db, actor=user, settings=web_state(request).system.settings)
    if anchors.ok:
        flash(request, anchors.describe(), "ok")
    else:
        flash(request, "The audit chain does NOT match its signed checkpoints outside the database:", "error")
        for problem in anchors.problems[:3]:
            flash(request, problem, "error")
    return RedirectResponse("/audit", status_code=303)


@router.get("/audit/export")
def audit_export(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    fmt: Literal["csv", "json"] = "csv",
    case: Filter = "",
    since: Filter = "",
) -> Response:
    where = AuditFilter(case_ref=case.strip() or None, since=optional_datetime(since, label="Since"))
    body = export_audit(db, actor=user, context=context, where=where, fmt=fmt)
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", where.case_ref or "all")
    name = f"vigil-audit-{label}-{utcnow():%Y%m%dT%H%M%SZ}.{fmt}"
    disposition = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
