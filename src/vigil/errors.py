"""Errors that carry a message fit to show a user (never a traceback)."""

from __future__ import annotations


class VigilError(Exception):
    """Base for errors whose message is safe and useful to show to the user."""

    status_code = 400

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidInput(VigilError):
    status_code = 422


class NotFound(VigilError):
    status_code = 404


class Conflict(VigilError):
    status_code = 409


class NotPermitted(VigilError):
    """The user may not do this (role, training, purpose or PIA); the refusal has been audited."""

    status_code = 403


class AuthenticationFailed(VigilError):
    status_code = 401
