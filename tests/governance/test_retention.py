from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.builders import make_user
from tests.support.retention import aged_footage
from vigil.db.base import utcnow
from vigil.db.models import ApiToken, AuditEntry, Case, CustodyEvent, Footage
from vigil.governance import audit
from vigil.governance.retention import run_retention
from vigil.settings import Settings
from vigil.system import default_rules


def _case(db: Session, reference: str, *, closed_days_ago: float | None, retain_days: int | None) -> Case:
    owner = make_user(db, f"owner{reference.lower()}")
    now = utcnow()
    case = Case(
        reference=reference,
        opened_by_id=owner.id,
        opened_at=now - timedelta(days=400),
        closed_at=None if closed_days_ago is None else now - timedelta(days=closed_days_ago),
        retain_until=None if retain_days is None else (now + timedelta(days=retain_days)).date(),
    )
    db.add(case)
    db.flush()
    return case


def test_retention_deletes_exactly_what_is_due(db: Session, settings: Settings) -> None:
    old = aged_footage(db, settings, "OLD", age_days=40)
    fresh = aged_footage(db, settings, "FRESH", age_days=5)
    held_open = aged_footage(
        db, settings, "HELD", age_days=90, case=_case(db, "OPEN-1", closed_days_ago=None, retain_days=None)
    )
    held_kept = aged_footage(
        db, settings, "KEPT", age_days=90, case=_case(db, "KEPT-1", closed_days_ago=10, retain_days=30)
    )
    expired_case = aged_footage(
        db, settings, "GONE", age_days=90, case=_case(db, "GONE-1", closed_days_ago=100, retain_days=-1)
    )
    due_ids = {old.id, expired_case.id}
    files = {
        f.id: (settings.data_dir / f.stored_path, settings.data_dir / "derived" / str(f.id))
        for f in (old, fresh, held_open, held_kept, expired_case)
    }

    preview = run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir, dry_run=True)
    assert {r.data_class: r.rows for r in preview.results}["footage"] == 2
    assert all(p.exists() for pair in files.values() for p in pair), "a dry run deletes nothing"

    report = run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir)
    assert {r.data_class: (r.rows, r.files) for r in report.results}["footage"] == (2, 4)
    assert report.file_errors == []
    remaining = set(db.execute(select(Footage.id)).scalars())
    assert remaining.isdisjoint(due_ids)
    assert {fresh.id, held_open.id, held_kept.id} <= remaining
    for footage_id, (original, derived) in files.items():
        assert original.exists() == (footage_id not in due_ids)
        assert derived.exists() == (footage_id not in due_ids)
    orphans = db.execute(select(func.count()).select_from(CustodyEvent).where(CustodyEvent.footage_id.in_(due_ids)))
    assert orphans.scalar_one() == 0

    entry = db.execute(
        select(AuditEntry).where(AuditEntry.action == "retention.delete").order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar_one()
    assert (entry.subject_type, entry.details) == (
        "footage",
        audit.canonical_details({"policy": "31 days", "rows": 2, "files": 4}),
    )
    assert audit.verify(db).ok


def test_expired_api_tokens_are_purged_and_live_ones_kept(db: Session, settings: Settings) -> None:
    user = make_user(db, "tok")
    now = utcnow()
    old = ApiToken(
        user_id=user.id,
        name="old",
        token_hash="a" * 64,
        created_at=now - timedelta(days=200),
        expires_at=now - timedelta(days=31),
    )
    live = ApiToken(user_id=user.id, name="live", token_hash="b" * 64, created_at=now, expires_at=now + timedelta(1))
    db.add_all([old, live])
    db.flush()
    report = run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir)
    assert {r.data_class: r.rows for r in report.results}["api_tokens"] == 1
    assert set(db.execute(select(ApiToken.name)).scalars()) == {"live"}


def test_files_outside_the_data_folder_are_never_deleted(db: Session, settings: Settings, tmp_path: Path) -> None:
    victim = tmp_path / "outside.txt"
    victim.write_text("keep me")
    footage = aged_footage(db, settings, "EVIL", age_days=60)
    footage.stored_path = "../outside.txt"
    db.flush()
    report = run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir)
    assert victim.exists()
    assert any("outside the data folder" in error for error in report.file_errors)
