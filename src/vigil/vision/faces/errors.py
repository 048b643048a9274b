"""Errors raised by the face models."""

from __future__ import annotations

from vigil.errors import VigilError


class FaceModelError(VigilError):
    """A face model file is missing, unreadable or corrupt, or its runtime is not installed."""

    status_code = 500
