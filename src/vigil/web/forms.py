"""Parsing browser form fields into typed values with messages a person can act on, and the
post/redirect/get pattern every form uses."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from vigil.errors import InvalidInput, VigilError
from vigil.web.auth import flash
from vigil.web.deps import UNIT_OF_WORK
from vigil.web.errors import Refused, ShownInline

MAX_FIELD_CHARS = 4000


def text(value: str | None, *, label: str, max_chars: int = MAX_FIELD_CHARS) -> str:
    value = (value or "").strip()
    if len(value) > max_chars:
        raise InvalidInput(f"{label} is limited to {max_chars} characters")
    if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in value):
        raise InvalidInput(f"{label} contains control characters")
    return value


def optional_float(value: str | None, *, label: str) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{label} must be a number") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{label} must be a finite number")
    return number


def required_date(value: str | None, *, label: str) -> date:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{label} is required")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{label} must be a date (YYYY-MM-DD)") from None


def as_utc(value: datetime | None, *, label: str) -> datetime | None:
    """A timestamp in UTC; one given without a zone is taken to be UTC already."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(f"{label} is out of range") from None


def optional_datetime(value: str | None, *, label: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{label} must be a date or date and time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    return as_utc(parsed, label=label)


def local_datetime(value: str | None, *, zone: tzinfo, label: str, required: bool = False) -> datetime | None:
    """A time typed in a form (``datetime-local``: YYYY-MM-DDTHH:MM[:SS]), read as local force time unless it
    carries its own offset, returned in UTC. The one parser for every form that takes a time."""
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"{label} is required")
        return None
    if len(value) > 40:
        raise InvalidInput(f"{label} must be a date and time (YYYY-MM-DDTHH:MM)")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{label} must be a date and time (YYYY-MM-DDTHH:MM)") from None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(f"{label} is out of range") from None


@contextmanager
def refusal_goes_to(request: Request, back: str, *, shown_as_page: tuple[type[VigilError], ...] = ()) -> Iterator[None]:
    """The one place a refused form turns into a response: a :class:`~vigil.errors.VigilError` raised by the
    block's service calls is flashed and becomes a 303 to ``back``; the request's work is rolled back by its unit
    of work as the error leaves the route (refusals the service audited were committed by the service).
    Errors of the ``shown_as_page`` types go to the error page instead (e.g. a refused live deployment is a 403
    page, never a redirect that looks like progress)."""
    try:
        yield
    except shown_as_page:
        raise
    except VigilError as exc:
        flash(request, exc.message, "error")
        raise Refused(back) from exc


@contextmanager
def refusal_shown_on(
    request: Request,
    page: Callable[[VigilError], Response],
    *,
    catching: tuple[type[VigilError], ...] = (VigilError,),
) -> Iterator[None]:
    """The one place a refused form is answered in place: an error of the ``catching`` types raised by the block's
    service calls rolls the request's work back, then ``page(error)`` (the form re-rendered with the error inline)
    is the answer. Other errors go to the error page. Refusals the service audited were committed by it."""
    try:
        yield
    except catching as exc:
        _roll_back(request)  # before the page renders: rendering commits what the session holds
        raise ShownInline(page(exc)) from exc


@contextmanager
def refusal_as_json() -> Iterator[None]:
    """The one place a script's refused request becomes JSON: ``{"detail": message}`` with the error's status;
    the request's work is rolled back by its unit of work as the error leaves the route (nothing renders first)."""
    try:
        yield
    except VigilError as exc:
        raise ShownInline(JSONResponse({"detail": exc.message}, status_code=exc.status_code)) from exc


def _roll_back(request: Request) -> None:
    db = request.scope.get(UNIT_OF_WORK)
    if isinstance(db, Session):
        db.rollback()


def outcome(
    request: Request,
    action: Callable[[], object],
    *,
    done: str,
    back: str,
    retry: str | None = None,
) -> RedirectResponse:
    """Run a form's service call: on success flash ``done`` and go to ``back``; on a refusal or invalid
    input the work is undone, the reason flashed and the browser sent to ``retry`` (default ``back``)."""
    with refusal_goes_to(request, retry or back):
        action()
    flash(request, done, "ok")
    return RedirectResponse(back, status_code=303)
