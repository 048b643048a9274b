"""The working context: the case reference and purpose a user states before searching, viewing or exporting.

Stated once per login session per case. The purposes live in the signed session cookie, which browsers
cap at 4 KiB, so only the most recent cases are kept (MAX_CASES, and MAX_PURPOSE_BYTES of JSON in all).
:func:`require_context` is the reusable dependency: a route that needs a purpose declares
``context: WorkingContext``; when the session has none for the requested case (the ``case`` query
parameter, else the current case) the browser is sent to the form and brought back afterwards.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Request

from vigil.errors import InvalidInput
from vigil.governance.audit import AuditContext
from vigil.web.auth import CurrentUser, here
from vigil.web.errors import ContextRequired

PURPOSES, CURRENT_CASE = "purposes", "case"
MAX_CASES = 10
MAX_PURPOSE_BYTES = 1800


def _json_size(case_ref: str, purpose: str) -> int:
    return len(json.dumps(case_ref)) + len(json.dumps(purpose)) + 2


def remember_context(request: Request, context: AuditContext) -> None:
    """Keep this case's purpose (and make it the current case), forgetting the oldest ones if needed."""
    if _json_size(context.case_ref, context.purpose) > MAX_PURPOSE_BYTES:
        raise InvalidInput("this purpose is too long to keep for the session; please shorten it")
    purposes = {k: v for k, v in request.session.get(PURPOSES, {}).items() if k != context.case_ref}
    purposes[context.case_ref] = context.purpose
    kept = list(purposes.items())[-MAX_CASES:]
    while sum(_json_size(k, v) for k, v in kept) > MAX_PURPOSE_BYTES:
        kept.pop(0)
    request.session[PURPOSES] = dict(kept)
    request.session[CURRENT_CASE] = context.case_ref


def forget_context(request: Request) -> None:
    request.session.pop(PURPOSES, None)
    request.session.pop(CURRENT_CASE, None)


def stated_context(request: Request, case_ref: str | None = None) -> AuditContext | None:
    """The purpose stated this session for ``case_ref`` (default: the current case), if any."""
    case_ref = case_ref or request.session.get(CURRENT_CASE)
    purposes = request.session.get(PURPOSES)
    if not isinstance(case_ref, str) or not isinstance(purposes, dict):
        return None
    purpose = purposes.get(case_ref)
    return AuditContext(case_ref=case_ref, purpose=purpose) if isinstance(purpose, str) else None


def require_context(request: Request, user: CurrentUser) -> AuditContext:
    """Dependency: the stated case and purpose for this request, or a detour to the context form."""
    wanted = request.query_params.get("case") or None
    context = stated_context(request, wanted)
    if context is None:
        raise ContextRequired(here(request), case_ref=wanted)
    return context


WorkingContext = Annotated[AuditContext, Depends(require_context)]
