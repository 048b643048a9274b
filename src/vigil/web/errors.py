"""Exceptions the web layer raises; :mod:`vigil.web.handlers` turns each into a page, a redirect or JSON."""

from __future__ import annotations

from starlette.responses import Response

from vigil.errors import VigilError

API_PREFIX = "/api/"


class LoginRequired(Exception):
    """No valid login session: browsers are sent to the login page, then back to ``next_url``."""

    def __init__(self, next_url: str = "/") -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PasswordChangeRequired(Exception):
    """The user must change the initial password before doing anything else."""


class ContextRequired(Exception):
    """The page needs a stated case reference and purpose; the user is asked for them, then sent back."""

    def __init__(self, next_url: str, case_ref: str | None = None) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.case_ref = case_ref


class Refused(Exception):
    """A form's action was refused: its reason is already flashed; the browser goes back to ``back`` (a 303, so
    reloading never submits the form again). Raised by :func:`vigil.web.forms.refusal_goes_to`; leaving the route
    by an exception makes the request's unit of work (:func:`vigil.web.deps.get_db`) roll its work back."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


class ShownInline(Exception):
    """A refusal answered in place: the form re-rendered with its error, or a JSON error for a script. Raised by
    :func:`vigil.web.forms.refusal_shown_on` (or ``refusal_as_json``) with the response ready; leaving the route
    by an exception makes the request's unit of work roll its work back."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class CsrfRejected(VigilError):
    status_code = 403


class TooManyAttempts(VigilError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")
