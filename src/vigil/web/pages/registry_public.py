"""The public camera registration portal (no login): register, confirm by email, update or delete.

Spam protection: a per-address rate limit and a honeypot field (``website``, hidden from people; a form that
fills it in is answered as if it succeeded, and nothing is stored or sent). The confirmation and self-service
links open a page with a button, so that a mail scanner following the link changes nothing.

Link tokens never travel in a URL the server sees (finding F8): the emailed link carries the token after ``#``;
the page's script puts it in a form that is POSTed. The self-service token is exchanged once for an HttpOnly,
SameSite=Strict cookie scoped to ``/register/manage``, and the pages after that have token-free URLs.
Emails are queued in the outbox and sent after the registration commits; if the mail server is down the page
says so (the email is retried), never that it was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from vigil.errors import InvalidInput, NotFound, VigilError
from vigil.registry.owners import (
    CURRENT_CONSENT,
    MAX_CAMERAS,
    by_manage_token,
    consent_text,
    delete_registration,
    parse_registration,
    register,
    update_registration,
    verify,
)
from vigil.web.deps import DbSession, client_address
from vigil.web.errors import TooManyAttempts
from vigil.web.forms import refusal_shown_on
from vigil.web.link_cookies import MANAGE_COOKIE, clear_link_cookie, link_token, set_link_cookie
from vigil.web.mail import deliver_now, queued_notice
from vigil.web.ratelimit import retry_after_header
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

TokenField = Annotated[str, Form(max_length=100)]
FORM_CAMERAS = 3  # camera rows on the form (a registration may hold up to MAX_CAMERAS through updates)
HONEYPOT = "website"
OWNER_FIELDS = ("kind", "name", "address", "postcode", "email", "phone")
CAMERA_FIELDS = ("label", "kind", "latitude", "longitude", "facing_deg", "retention_days")


def _check_rate(request: Request) -> None:
    wait_s = web_state(request).registrations.attempt(client_address(request))
    if wait_s is not None:
        raise TooManyAttempts(
            "Too many registrations from your address. Please try again later.", retry_after=retry_after_header(wait_s)
        )


def form_data(form: dict[str, str]) -> dict[str, Any]:
    """The registration as the service reads it, from the form's flat fields (empty camera rows skipped)."""
    cameras = []
    for index in range(MAX_CAMERAS):
        row = {field: form.get(f"camera_{index}_{field}", "").strip() for field in CAMERA_FIELDS}
        if not row["latitude"] and not row["longitude"]:
            continue
        cameras.append({k: v for k, v in row.items() if v != "" or k in ("latitude", "longitude", "retention_days")})
    data: dict[str, Any] = {field: form.get(field, "") for field in OWNER_FIELDS}
    data.update(consent=form.get("consent") == "yes", consent_version=form.get("consent_version", ""), cameras=cameras)
    return data


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _form_page(
    request: Request, *, values: dict[str, str], error: str = "", manage: str = "", status: int = 200
) -> Response:
    settings = web_state(request).system.settings
    return render(
        request,
        "registry_register.html",
        user=None,
        status_code=status,
        values=values,
        error=error,
        manage=manage,
        rows=range(max(FORM_CAMERAS, sum(1 for key in values if key.endswith("_latitude")))),
        consent=consent_text(settings),
        consent_version=CURRENT_CONSENT,
        registry=settings.registry,
    )


def _message(
    request: Request,
    title: str,
    text: str,
    *,
    action: str = "",
    button: str = "",
    status: int = 200,
    link_form: bool = False,
    warning: str = "",
) -> Response:
    return render(
        request,
        "registry_message.html",
        user=None,
        status_code=status,
        title=title,
        text=text,
        action=action,
        button=button,
        link_form=link_form,
        warning=warning,
    )


@router.get("/register")
def registration_form(request: Request) -> Response:
    return _form_page(request, values={"kind": "resident"})


def _form_again(request: Request, form: dict[str, str], *, manage: str = "") -> Callable[[VigilError], Response]:
    """The registration form shown again as it was filled in, with the reason it was not accepted (422)."""

    def page(exc: VigilError) -> Response:
        return _form_page(request, values=form, error=exc.message, manage=manage, status=422)

    return page


@router.post("/register")
async def registration_submit(request: Request, db: DbSession) -> Response:
    _check_rate(request)
    form = await _form(request)
    if form.get(HONEYPOT):
        return _check_email(request)
    settings = web_state(request).system.settings
    refused = _form_again(request, form)
    with refusal_shown_on(request, refused, catching=(InvalidInput,)):
        registered = register(db, settings=settings, data=parse_registration(form_data(form)))
    delivery = deliver_now(request, db, [registered.message_id])
    return _check_email(request, warning="" if delivery.all_sent else queued_notice(delivery))


def _check_email(request: Request, *, warning: str = "") -> Response:
    return _message(
        request,
        "Check your email",
        "We are sending you an email with a link. Open it to confirm your registration; until then nothing is active."
        if warning
        else "We have sent you an email with a link. Open it to confirm your registration; "
        "until then nothing is active.",
        warning=warning,
    )


@router.get("/register/verify")
def verification_page(request: Request) -> Response:
    return _message(
        request,
        "Confirm your registration",
        "Press the button to confirm your registration and put your cameras on the registry.",
        action="/register/verify",
        button="Confirm my registration",
        link_form=True,
    )


@router.post("/register/verify")
def verification_submit(request: Request, db: DbSession, token: TokenField = "") -> Response:
    settings = web_state(request).system.settings
    registered = verify(db, settings=settings, token=token)
    delivery = deliver_now(request, db, [registered.message_id])
    return _message(
        request,
        "Registration confirmed",
        "Thank you: your cameras are on the registry. We are emailing you a link to change or delete your "
        "registration at any time.",
        warning="" if delivery.all_sent else queued_notice(delivery),
    )


def _values_of(db: Session, token: str) -> dict[str, str]:
    owner = by_manage_token(db, token)
    values = {field: str(getattr(owner, field)) for field in OWNER_FIELDS}
    for index, camera in enumerate(owner.cameras):
        for field in CAMERA_FIELDS:
            value = getattr(camera, field)
            values[f"camera_{index}_{field}"] = "" if value is None else str(value)
    return values


@router.get("/register/manage")
def manage_page(request: Request, db: DbSession) -> Response:
    token = link_token(request, MANAGE_COOKIE)
    if not token:
        return _message(
            request,
            "Your camera registration",
            "Opening your registration from the link in your email…",
            action="/register/manage/open",
            button="Open my registration",
            link_form=True,
        )
    return _form_page(request, values=_values_of(db, token), manage="yes")


@router.post("/register/manage/open")
def manage_open(request: Request, db: DbSession, token: TokenField = "") -> Response:
    """Exchange the emailed self-service token (POST body) for a cookie, and go to the token-free page."""
    by_manage_token(db, token)  # a forged, mistyped or deleted registration's link is refused here
    response = RedirectResponse("/register/manage", status_code=303)
    set_link_cookie(request, response, MANAGE_COOKIE, token)
    return response


def _manage_token(request: Request) -> str:
    token = link_token(request, MANAGE_COOKIE)
    if not token:
        raise NotFound("open your registration from the link in your email first")
    return token


@router.post("/register/manage")
async def manage_submit(request: Request, db: DbSession) -> Response:
    token = _manage_token(request)
    form = await _form(request)
    with refusal_shown_on(request, _form_again(request, form, manage="yes"), catching=(InvalidInput,)):
        update_registration(db, token=token, data=parse_registration(form_data(form)))
    return _message(request, "Registration updated", "Your changes are saved.")


@router.post("/register/manage/delete")
def delete_submit(request: Request, db: DbSession) -> Response:
    delete_registration(db, token=_manage_token(request))  # a refusal leaves by the error page, rolled back
    response = _message(
        request,
        "Registration deleted",
        "Your registration is deleted: your name, address, contact details and cameras have been erased.",
    )
    clear_link_cookie(response, MANAGE_COOKIE)
    return response
