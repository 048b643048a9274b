"""Retention of retrospective face searches: a search follows its case, like the case's footage and bundles.

The face index of a case's footage needs no rule of its own: its rows are deleted with the footage (database
cascade) and its crops live under the footage's ``derived/<id>/`` folder, which the footage rule removes. The
searches (probe crop, candidates, verdicts) are kept while the case is open or retained, and deleted once it is
closed and its ``retain_until`` has passed (or, with no ``retain_until``, after the footage policy's days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from vigil.db.face_models import RetroSearch
from vigil.db.models import Case
from vigil.governance.retention import DueItems


@dataclass(frozen=True)
class RetroSearchRule:
    """Retrospective searches of closed cases no longer retained (see the module docstring)."""

    data_dir: Path
    days: float
    data_class: str = "fr_retro_searches"

    def find_due(self, db: Session, *, now: datetime) -> DueItems:
        expired = select(Case.id).where(
            Case.closed_at.is_not(None),
            or_(
                Case.retain_until < now.date(),
                and_(Case.retain_until.is_(None), Case.closed_at < now - timedelta(days=self.days)),
            ),
        )
        stmt = select(RetroSearch.id, RetroSearch.probe_crop_path).where(RetroSearch.case_id.in_(expired))
        rows = db.execute(stmt).all()
        paths = tuple(dict.fromkeys(self.data_dir / path for _, path in rows))
        policy = f"with their case: after retain_until, or {self.days:g} days after closing"
        return DueItems(self.data_class, policy, tuple(r[0] for r in rows), paths)

    def delete_rows(self, db: Session, due: DueItems) -> None:
        db.execute(delete(RetroSearch).where(RetroSearch.id.in_(due.row_ids)))  # candidates go by cascade
