"""Turn errors into responses: a page for browsers, ``{"detail": ...}`` for the API, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from vigil.errors import VigilError
from vigil.web.errors import (
    ContextRequired,
    LoginRequired,
    PasswordChangeRequired,
    Refused,
    ShownInline,
    TooManyAttempts,
    is_api_path,
)
from vigil.web.rendering import render

log = logging.getLogger("vigil.web")

TITLES = {
    400: "Request not accepted",
    401: "Not signed in",
    403: "Not permitted",
    404: "Page not found",
    405: "Not allowed here",
    409: "Already exists",
    413: "Too large",
    422: "Please check the details",
    429: "Too many attempts",
    500: "Something went wrong",
}


def error_response(
    request: Request, status: int, message: str | list[str], headers: dict[str, str] | None = None
) -> Response:
    if is_api_path(request.url.path):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    messages = message if isinstance(message, list) else [message]
    title = TITLES.get(status, "Request not accepted")
    return render(request, "error.html", user=None, status_code=status, headers=headers, title=title, messages=messages)


async def on_vigil_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VigilError)
    headers = {}
    if exc.status_code == 401 and is_api_path(request.url.path):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = exc.retry_after
    return error_response(request, exc.status_code, exc.message, headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if exc.status_code == 404 and not is_api_path(request.url.path):
        detail = "There is no page at this address."
    return error_response(request, exc.status_code, str(detail), dict(exc.headers or {}))


def _field(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "request"


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "invalid")),
            "type": str(e.get("type", "invalid")),
        }
        for e in exc.errors()
    ]
    if is_api_path(request.url.path):
        return JSONResponse({"detail": errors}, status_code=422)
    return error_response(request, 422, [f"{_field(e['loc'])}: {e['msg']}" for e in errors])


async def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if is_api_path(request.url.path):
        return error_response(request, 401, "authentication required", {"WWW-Authenticate": "Bearer"})
    query = urlencode({"next": exc.next_url}) if exc.next_url != "/" else ""
    return RedirectResponse("/login" + (f"?{query}" if query else ""), status_code=303)


async def on_password_change_required(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/password", status_code=303)


async def on_context_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ContextRequired)
    params = {"next": exc.next_url, **({"case": exc.case_ref} if exc.case_ref else {})}
    return RedirectResponse("/context?" + urlencode(params), status_code=303)


async def on_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return RedirectResponse(exc.back, status_code=303)


async def on_shown_inline(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShownInline)
    return exc.response


def incident_response(request: Request, incident: str) -> Response:
    """The answer to an unexpected error: a generic message and the incident id that was logged."""
    message = f"An unexpected error occurred. It has been logged as incident {incident}; quote it when reporting."
    try:
        return error_response(request, 500, message)
    except Exception:  # the error page itself failed: fall back to plain text
        log.exception("incident %s: the error page could not be rendered", incident)
        return PlainTextResponse(message, status_code=500)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VigilError, on_vigil_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(PasswordChangeRequired, on_password_change_required)
    app.add_exception_handler(ContextRequired, on_context_required)
    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(ShownInline, on_shown_inline)
