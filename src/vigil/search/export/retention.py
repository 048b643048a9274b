"""Retention of evidence bundles: a bundle follows its case. It is kept while the case is open or retained, and
deleted (row and zip) once the case is closed and its ``retain_until`` has passed, or, for a closed case with no
``retain_until``, once it has been closed longer than the footage policy keeps unheld footage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from vigil.db.models import Case, EvidenceExport
from vigil.governance.retention import DueItems


@dataclass(frozen=True)
class ExportRule:
    """Bundles of closed cases no longer retained (see the module docstring)."""

    data_dir: Path
    days: float  # how long after closing a case without a retain_until date its bundles are kept
    data_class: str = "evidence_exports"

    def find_due(self, db: Session, *, now: datetime) -> DueItems:
        expired = select(Case.id).where(
            Case.closed_at.is_not(None),
            or_(
                Case.retain_until < now.date(),
                and_(Case.retain_until.is_(None), Case.closed_at < now - timedelta(days=self.days)),
            ),
        )
        stmt = select(EvidenceExport.id, EvidenceExport.stored_path).where(EvidenceExport.case_id.in_(expired))
        rows = db.execute(stmt).all()
        paths = tuple(self.data_dir / stored for _, stored in rows if stored)
        policy = f"with their case: after retain_until, or {self.days:g} days after closing"
        return DueItems(self.data_class, policy, tuple(r[0] for r in rows), paths)

    def delete_rows(self, db: Session, due: DueItems) -> None:
        db.execute(delete(EvidenceExport).where(EvidenceExport.id.in_(due.row_ids)))
