"""The working-context form: state the case and purpose before searching, viewing or exporting.

Investigating roles choose one of the cases they may work on (a supervisor adds them); administrators and
auditors type the reference of the oversight task (complaint, review) their audit exports are for."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.access import make_context
from vigil.governance.cases import check_stated_case, list_cases_for, works_on_cases
from vigil.web.auth import CurrentUser, flash, safe_next
from vigil.web.context import forget_context, remember_context, stated_context
from vigil.web.deps import DbSession
from vigil.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/context")
def context_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    next_url: Annotated[str, Query(alias="next", max_length=2000)] = "/",
    case: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    current = stated_context(request, case or None)
    choices = [(c.reference, c.title) for c in list_cases_for(db=db, user=user)] if works_on_cases(user) else None
    return render(
        request,
        "context.html",
        user=user,
        next=safe_next(next_url),
        case_ref=case,
        cases=choices,
        not_member=choices is not None and bool(case) and case not in {ref for ref, _ in choices},
        purpose=current.purpose if current else "",
    )


@router.post("/context")
def context_state(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    case_ref: Annotated[str, Form(max_length=200)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    try:
        context = make_context(case_ref, purpose)
        check_stated_case(db=db, user=user, context=context)
        remember_context(request, context)
    except (InvalidInput, NotPermitted) as exc:
        flash(request, exc.message, "error")
        query = urlencode({"next": safe_next(next_url), "case": case_ref.strip()[:64]})
        return RedirectResponse(f"/context?{query}", status_code=303)
    return RedirectResponse(safe_next(next_url), status_code=303)


@router.post("/context/clear")
def context_clear(request: Request, user: CurrentUser) -> Response:
    forget_context(request)
    flash(request, "Working context cleared.")
    return RedirectResponse("/", status_code=303)
