"""The Cases page: a supervisor opens cases and assigns their members (every change audited by the service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from vigil.governance.cases import add_member, cases_page, close_case, open_case_record, remove_member
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.forms import outcome
from vigil.web.rendering import render

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]


@router.get("/cases")
def cases_list(request: Request, db: DbSession, user: CurrentUser) -> Response:
    cases, assignable = cases_page(db=db, actor=user)
    return render(request, "cases.html", user=user, section="cases", cases=cases, assignable=assignable)


@router.post("/cases")
def case_open(
    request: Request, db: DbSession, user: CurrentUser, reference: Field = "", title: Field = "", summary: Field = ""
) -> Response:
    def act() -> None:
        open_case_record(db=db, actor=user, reference=reference, title=title, summary=summary)

    return outcome(request, act, done=f"Case {reference.strip()} opened: now add its members.", back="/cases")


@router.post("/cases/members")
def case_member_add(
    request: Request, db: DbSession, user: CurrentUser, reference: Field = "", username: Field = ""
) -> Response:
    def act() -> None:
        add_member(db=db, actor=user, reference=reference, username=username)

    return outcome(request, act, done=f"{username} added to case {reference}.", back="/cases")


@router.post("/cases/members/remove")
def case_member_remove(
    request: Request, db: DbSession, user: CurrentUser, reference: Field = "", username: Field = ""
) -> Response:
    def act() -> None:
        remove_member(db=db, actor=user, reference=reference, username=username)

    return outcome(request, act, done=f"{username} removed from case {reference}.", back="/cases")


@router.post("/cases/close")
def case_close(request: Request, db: DbSession, user: CurrentUser, reference: Field = "") -> Response:
    return outcome(
        request,
        lambda: close_case(db=db, actor=user, reference=reference),
        done=f"Case {reference} closed.",
        back="/cases",
    )
