"""A watchlist subject form with sensible defaults."""

from __future__ import annotations

from datetime import date, timedelta

from vigil.db.base import utcnow
from vigil.faces.watchlists import (
    SubjectForm,
)


def subject_form(reference: str = "WAR-2024-001", expires: date | None = None, **changes: str) -> SubjectForm:
    values = {"category": "wanted", "reason": "Wanted on warrant for robbery", "authority": "Warrant 2024/17, PN Court"}
    values.update(changes)
    expires = expires or utcnow().date() + timedelta(days=30)
    return SubjectForm(reference, values["category"], values["reason"], values["authority"], expires)
