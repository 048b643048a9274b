"""Login sessions in a signed cookie, their CSRF token, flash messages, and the current-user dependencies.

The cookie (HttpOnly, SameSite=Lax, Secure when configured) holds the user id, a random session id and the
CSRF token. The session itself is a database record (governance.sessions): each request reloads the user
and the record, so signing out, a password change, disabling the account or the end of
``settings.web.session_hours`` ends the session everywhere, and a copied cookie is useless afterwards.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vigil.db.models import User
from vigil.governance.sessions import end_login_session, end_user_sessions, login_session_is_current, open_login_session
from vigil.web.deps import DbSession, client_address
from vigil.web.errors import CsrfRejected, LoginRequired, PasswordChangeRequired, TooManyAttempts, is_api_path
from vigil.web.ratelimit import retry_after_header
from vigil.web.state import web_state

UID, SID, CSRF, FLASH = "uid", "sid", "csrf", "flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_MESSAGE = (
    "This form could not be accepted: its security token is missing or out of date. "
    "Go back, reload the page and try again."
)


def session_lifetime(request: Request) -> timedelta:
    return timedelta(hours=web_state(request).system.settings.web.session_hours)


def start_session(request: Request, db: Session, user: User) -> None:
    """A fresh session for a user who has just logged in (a new id, so no fixation), recorded in the database."""
    request.session.clear()
    session_id = open_login_session(db, user=user, client=client_address(request), lifetime=session_lifetime(request))
    request.session.update({UID: user.id, SID: session_id, CSRF: secrets.token_urlsafe(32)})


def end_session(request: Request, db: Session) -> None:
    session_id = request.session.get(SID)
    if isinstance(session_id, str):
        end_login_session(db, session_id=session_id)
    request.session.clear()


def renew_session(request: Request, db: Session, user: User) -> None:
    """After a password change: every session of the user ends, and this browser gets a new one."""
    end_user_sessions(db, user=user)
    start_session(request, db, user)


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


async def check_csrf(request: Request) -> None:
    """App-wide dependency: every state-changing browser request must carry the session's CSRF token.

    The JSON API is exempt: it authenticates with bearer tokens and never reads the cookie.
    """
    if request.method in SAFE_METHODS or is_api_path(request.url.path):
        return
    expected = request.session.get(CSRF)
    sent: Any = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not sent:
        raise CsrfRejected(CSRF_MESSAGE)
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise CsrfRejected(CSRF_MESSAGE)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once on the next page (kind: ok, error or warn)."""
    request.session[FLASH] = [*request.session.get(FLASH, []), [kind, message]][-5:]


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    return [(str(kind), str(message)) for kind, message in request.session.pop(FLASH, [])]


def safe_next(value: str | None) -> str:
    """A local path to return to after a detour (never another site)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 32 or ch == "\\" for ch in value) or len(value) > 2000:
        return "/"
    return value


def here(request: Request) -> str:
    """The current page, to come back to after logging in or stating a purpose."""
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _session_is_current(request: Request, db: Session, user: User) -> bool:
    session_id = request.session.get(SID)
    return isinstance(session_id, str) and login_session_is_current(db, session_id=session_id, user=user)


def signed_in_user(request: Request, db: DbSession) -> User:
    """The logged-in user, even one who still has to change the initial password."""
    user_id = request.session.get(UID)
    user = db.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or not _session_is_current(request, db, user):
        if user_id is not None:
            request.session.clear()
            flash(request, "Your session has ended; please log in again.", "warn")
        raise LoginRequired(here(request))
    return user


def current_user(request: Request, user: Annotated[User, Depends(signed_in_user)]) -> User:
    """The logged-in user, sent to change the initial password first when required."""
    if user.must_change_password:
        raise PasswordChangeRequired()
    return user


SignedInUser = Annotated[User, Depends(signed_in_user)]
CurrentUser = Annotated[User, Depends(current_user)]


def optional_user(request: Request, db: DbSession) -> User | None:
    """The logged-in user for pages that also work signed out (the login page, error pages)."""
    try:
        return signed_in_user(request, db)
    except LoginRequired:
        return None


def check_login_rate(request: Request) -> None:
    """Count a login (or token) attempt from this client address; refuse with 429 over the limit."""
    wait_s = web_state(request).login_attempts.attempt(client_address(request))  # a trusted proxy's client
    if wait_s is not None:
        raise TooManyAttempts(
            "Too many login attempts from your address. Wait a minute and try again.",
            retry_after=retry_after_header(wait_s),
        )
