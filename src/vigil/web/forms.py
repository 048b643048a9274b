"""Parsing browser form fields into typed values with messages a person can act on, and the
post/redirect/get pattern every form uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse

from vigil.errors import InvalidInput, VigilError
from vigil.web.auth import flash

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


def outcome(
    request: Request,
    db: Session,
    action: Callable[[], object],
    *,
    done: str,
    back: str,
    retry: str | None = None,
) -> RedirectResponse:
    """Run a form's service call: on success flash ``done`` and go to ``back``; on a refusal or invalid
    input undo the work, flash the reason and go to ``retry`` (default ``back``). Redirects are 303,
    so reloading the next page never submits the form again."""
    try:
        action()
    except VigilError as exc:
        db.rollback()  # audited refusals were committed by the service itself
        flash(request, exc.message, "error")
        return RedirectResponse(retry or back, status_code=303)
    flash(request, done, "ok")
    return RedirectResponse(back, status_code=303)
