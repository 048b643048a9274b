"""Logging in and out, and changing one's password (forced at first login)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from vigil.db.models import User
from vigil.errors import AuthenticationFailed, InvalidInput
from vigil.governance.users import authenticate, change_password, record_logout
from vigil.web.auth import (
    SignedInUser,
    check_login_rate,
    end_session,
    flash,
    optional_user,
    renew_session,
    safe_next,
    start_session,
)
from vigil.web.deps import DbSession, client_address
from vigil.web.forms import outcome
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

MaybeUser = Annotated[User | None, Depends(optional_user)]
Secret = Annotated[str, Form(max_length=1024)]


@router.get("/login")
def login_page(request: Request, user: MaybeUser, next_url: Annotated[str, Query(alias="next")] = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next_url), status_code=303)
    return render(request, "login.html", user=None, next=safe_next(next_url), username="", error="")


@router.post("/login")
def login(
    request: Request,
    db: DbSession,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Secret = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    check_login_rate(request)
    try:
        if not username.strip() or not password:
            raise AuthenticationFailed("Enter your username and password.")
        policy = web_state(request).system.settings.web
        user = authenticate(db, username=username, password=password, client=client_address(request), policy=policy)
    except AuthenticationFailed as exc:
        return render(
            request,
            "login.html",
            user=None,
            status_code=401,
            next=safe_next(next_url),
            username=username,
            error=exc.message,
        )
    start_session(request, db, user)
    return RedirectResponse("/password" if user.must_change_password else safe_next(next_url), status_code=303)


@router.post("/logout")
def logout(request: Request, db: DbSession, user: MaybeUser) -> Response:
    if user is not None:
        record_logout(db, user=user, client=client_address(request))
    end_session(request, db)
    flash(request, "You have signed out.")
    return RedirectResponse("/login", status_code=303)


@router.get("/password")
def password_page(request: Request, user: SignedInUser) -> Response:
    return render(request, "password.html", user=user, forced=user.must_change_password)


@router.post("/password")
def password_change(
    request: Request, db: DbSession, user: SignedInUser, current: Secret = "", new: Secret = "", confirm: Secret = ""
) -> Response:
    def act() -> None:
        if new != confirm:
            raise InvalidInput("the new password and its confirmation differ")
        change_password(db, user=user, current=current, new=new)
        renew_session(request, db, user)

    return outcome(request, act, done="Your password has been changed.", back="/", retry="/password")
