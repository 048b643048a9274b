"""The retention engine: one rule per data class, run by a scheduler and by `vigil retention run`.

Each rule finds what is due under the policy in settings. A run deletes the rows in one transaction with
an audit entry of the counts, commits, and only then removes the files (so a failed run never leaves a
row pointing at a missing file). Rules of later capabilities (alerts, exports, ...) plug in by
implementing :class:`RetentionRule`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import ApiToken, AuditEntry, Case, Footage, LoginSession, User
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.audit import SYSTEM_ACTOR
from vigil.governance.roles import Permission


@dataclass(frozen=True)
class DueItems:
    data_class: str
    policy: str
    row_ids: tuple[int, ...] = ()
    paths: tuple[Path, ...] = ()


class RetentionRule(Protocol):
    @property
    def data_class(self) -> str: ...

    def find_due(self, db: Session, *, now: datetime) -> DueItems: ...

    def delete_rows(self, db: Session, due: DueItems) -> None: ...


FootageHold = Callable[[datetime], Select[int]]
"""Footage ids kept beyond the policy for another reason at ``now`` (e.g. a live bookmark for a held case)."""


@dataclass(frozen=True)
class FootageRule:
    """Footage older than the policy, unless it is held for a case that is open or still retained, or held by
    one of ``holds`` (assembled in system.py: capabilities above governance keep footage for their cases)."""

    data_dir: Path
    days: float
    data_class: str = "footage"
    holds: tuple[FootageHold, ...] = ()

    def find_due(self, db: Session, *, now: datetime) -> DueItems:
        cutoff = now - timedelta(days=self.days)
        held = select(Case.id).where(or_(Case.closed_at.is_(None), Case.retain_until >= now.date()))
        stmt = select(Footage.id, Footage.stored_path).where(
            Footage.ingested_at < cutoff, or_(Footage.case_id.is_(None), Footage.case_id.not_in(held))
        )
        for hold in self.holds:
            stmt = stmt.where(Footage.id.not_in(hold(now)))
        rows = db.execute(stmt).all()
        paths: list[Path] = []
        for footage_id, stored_path in rows:
            paths.append(self.data_dir / stored_path)
            paths.append(self.data_dir / "derived" / str(footage_id))
        return DueItems(self.data_class, f"{self.days:g} days", tuple(r[0] for r in rows), tuple(paths))

    def delete_rows(self, db: Session, due: DueItems) -> None:
        for footage in db.execute(select(Footage).where(Footage.id.in_(due.row_ids))).scalars():
            db.delete(footage)  # custody events go with it (cascade)


@dataclass(frozen=True)
class ApiTokenRule:
    """API tokens purged a while after they expired or were revoked."""

    days_after: float
    data_class: str = "api_tokens"

    def find_due(self, db: Session, *, now: datetime) -> DueItems:
        cutoff = now - timedelta(days=self.days_after)
        stmt = select(ApiToken.id).where(or_(ApiToken.expires_at < cutoff, ApiToken.revoked_at < cutoff))
        ids = tuple(db.execute(stmt).scalars())
        return DueItems(self.data_class, f"{self.days_after:g} days after expiry", ids)

    def delete_rows(self, db: Session, due: DueItems) -> None:
        db.execute(delete(ApiToken).where(ApiToken.id.in_(due.row_ids)))


@dataclass(frozen=True)
class LoginSessionRule:
    """Records of web login sessions (user, client address, times) purged a while after they ended."""

    days_after: float
    data_class: str = "login_sessions"

    def find_due(self, db: Session, *, now: datetime) -> DueItems:
        cutoff = now - timedelta(days=self.days_after)
        stmt = select(LoginSession.id).where(or_(LoginSession.expires_at < cutoff, LoginSession.ended_at < cutoff))
        return DueItems(self.data_class, f"{self.days_after:g} days after ending", tuple(db.execute(stmt).scalars()))

    def delete_rows(self, db: Session, due: DueItems) -> None:
        db.execute(delete(LoginSession).where(LoginSession.id.in_(due.row_ids)))


@dataclass(frozen=True)
class ClassResult:
    data_class: str
    policy: str
    rows: int
    files: int


@dataclass(frozen=True)
class RetentionReport:
    at: datetime
    dry_run: bool
    results: list[ClassResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)


def run_retention(
    db: Session,
    *,
    rules: Sequence[RetentionRule],
    data_dir: Path,
    actor: str = SYSTEM_ACTOR,
    now: datetime | None = None,
    dry_run: bool = False,
) -> RetentionReport:
    """Apply every rule. Each data class is its own transaction with its own audit entry of counts."""
    now = now or utcnow()
    report = RetentionReport(at=now, dry_run=dry_run)
    for rule in rules:
        due = rule.find_due(db, now=now)
        existing = [p for p in due.paths if p.exists()]
        report.results.append(ClassResult(due.data_class, due.policy, len(due.row_ids), len(existing)))
        if dry_run or not due.row_ids:
            continue
        rule.delete_rows(db, due)
        audit.record(
            db,
            actor=actor,
            action="retention.delete",
            subject_type=due.data_class,
            details={"policy": due.policy, "rows": len(due.row_ids), "files": len(existing)},
            now=now,
        )
        db.commit()
        report.file_errors.extend(_remove_files(existing, data_dir))
    audit.record(
        db,
        actor=actor,
        action="retention.run",
        now=now,
        details={"dry_run": dry_run, "deleted": {r.data_class: r.rows for r in report.results}},
    )
    db.commit()
    return report


def _remove_files(paths: Sequence[Path], data_dir: Path) -> list[str]:
    errors = []
    root = data_dir.resolve()
    for path in paths:
        resolved = path.resolve()
        if not resolved.is_relative_to(root) or resolved == root:
            errors.append(f"refused to delete {path}: outside the data folder")
            continue
        try:
            if resolved.is_dir():
                shutil.rmtree(resolved)
            else:
                resolved.unlink(missing_ok=True)
        except OSError as exc:
            errors.append(f"could not delete {path}: {exc.strerror}")
    return errors


def last_runs(db: Session, limit: int = 10) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == "retention.run").order_by(AuditEntry.seq.desc())
    return list(db.execute(stmt.limit(limit)).scalars())


@dataclass(frozen=True)
class RetentionStatus:
    due_now: list[ClassResult]
    last_runs: list[AuditEntry]


def retention_status(
    db: Session, *, actor: User, rules: Sequence[RetentionRule], now: datetime | None = None
) -> RetentionStatus:
    """What each rule would delete now (a preview that changes and audits nothing) and the latest runs."""
    require_permission(db, user=actor, permission=Permission.VIEW_AUDIT, action="retention.view")
    now = now or utcnow()
    due_now = []
    for rule in rules:
        due = rule.find_due(db, now=now)
        files = sum(1 for p in due.paths if p.exists())
        due_now.append(ClassResult(due.data_class, due.policy, len(due.row_ids), files))
    return RetentionStatus(due_now=due_now, last_runs=last_runs(db))


def run_retention_now(
    db: Session, *, actor: User, rules: Sequence[RetentionRule], data_dir: Path, dry_run: bool = False
) -> RetentionReport:
    """Run (or dry-run) retention at once on an administrator's request, audited under their name."""
    require_permission(db, user=actor, permission=Permission.RUN_RETENTION, action="retention.run")
    return run_retention(db, rules=rules, data_dir=data_dir, actor=actor.username, dry_run=dry_run)
