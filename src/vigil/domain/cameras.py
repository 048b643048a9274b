"""Camera codes: one spelling everywhere, whatever case or spacing a person types."""

from __future__ import annotations


def camera_code(text: str) -> str:
    """The stored form of a camera code: trimmed and upper-case (``pets-cam`` -> ``PETS-CAM``).

    Every lookup (CLI, web forms, API, search parser) goes through this, so a code typed in any case
    finds the camera it was registered as.
    """
    return text.strip().upper()
