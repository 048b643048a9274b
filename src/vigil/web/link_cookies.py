"""Cookies that carry an emailed link's token once the page has exchanged it (finding F8).

The token arrives in a POST body (from the link's ``#`` part), is checked, and is set in an HttpOnly,
SameSite=Strict cookie limited to its own pages' path; every later URL is token-free, so no token reaches an
access log, a Referer header or the browser history.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vigil.registry.links import well_formed
from vigil.web.state import web_state

MANAGE_COOKIE = "vigil_manage"
UPLOAD_COOKIE = "vigil_upload"
COOKIE_PATHS = {MANAGE_COOKIE: "/register/manage", UPLOAD_COOKIE: "/upload"}


def set_link_cookie(request: Request, response: Response, name: str, token: str) -> None:
    secure = web_state(request).system.settings.web.secure_cookies
    response.set_cookie(name, token, httponly=True, samesite="strict", secure=secure, path=COOKIE_PATHS[name])


def clear_link_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATHS[name], httponly=True, samesite="strict")


def link_token(request: Request, name: str) -> str:
    """The token the cookie holds, or "" (a cookie that is not token-shaped counts as none)."""
    value = request.cookies.get(name, "")
    return value if well_formed(value) else ""
