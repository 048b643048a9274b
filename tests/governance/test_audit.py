from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from vigil.governance import audit
from vigil.governance.audit import AuditContext


def _fill(db: Session, n: int = 5) -> None:
    for i in range(n):
        audit.record(
            db,
            actor="alice",
            action=f"test.action{i}",
            context=AuditContext("CASE-1", "testing the chain"),
            details={"i": i, "text": "naïve café"},
        )
    db.flush()


def _allow_tampering(db: Session) -> None:
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("DROP TRIGGER audit_entries_no_update"))
        db.execute(text("DROP TRIGGER audit_entries_no_delete"))
    else:
        db.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))


def test_intact_chain_verifies(db: Session) -> None:
    _fill(db)
    report = audit.verify(db)
    assert report.ok, report.describe()
    assert report.checked == report.head_seq >= 5


def test_database_refuses_updates_and_deletes(db: Session) -> None:
    _fill(db, 1)
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("UPDATE audit_entries SET actor = 'mallory'"))
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM audit_entries"))


def _seq_of(db: Session, action: str) -> int:
    return int(db.execute(text("SELECT seq FROM audit_entries WHERE action = :a"), {"a": action}).scalar_one())


def test_edited_row_is_detected(db: Session) -> None:
    _fill(db)
    target = _seq_of(db, "test.action2")
    _allow_tampering(db)
    db.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = :s"), {"s": target})
    report = audit.verify(db)
    assert not report.ok
    assert report.broken_seq == target
    assert "edited" in report.problem


def test_deleted_row_is_detected(db: Session) -> None:
    _fill(db)
    target = _seq_of(db, "test.action2")
    _allow_tampering(db)
    db.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": target})
    report = audit.verify(db)
    assert not report.ok and report.broken_seq == target
    assert "deleted" in report.problem


def test_deleted_last_row_is_detected(db: Session) -> None:
    _fill(db)
    last = _seq_of(db, "test.action4")
    _allow_tampering(db)
    db.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": last})
    report = audit.verify(db)
    assert not report.ok and report.broken_seq == last


def test_inserted_row_is_detected(db: Session) -> None:
    """An attacker shifts later rows up by one and inserts a forged, correctly hashed entry in the gap."""
    _fill(db)
    target = _seq_of(db, "test.action2")
    _allow_tampering(db)
    db.execute(text("UPDATE audit_entries SET seq = seq + 1000000 WHERE seq >= :s"), {"s": target})
    db.execute(text("UPDATE audit_entries SET seq = seq - 1000000 + 1 WHERE seq >= 1000000"))
    prev = db.execute(text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": target - 1}).scalar_one()
    forged = audit.AuditEntry(
        seq=target, at=datetime.now(UTC), actor="mallory", action="forged", outcome="ok", details="{}", prev_hash=prev
    )
    forged.hash = audit.entry_hash(forged)
    db.add(forged)
    db.flush()
    report = audit.verify(db)
    assert not report.ok
    assert report.broken_seq == target + 1
    assert "inserted" in report.problem


def test_export_filters_by_case_and_time_and_carries_hashes(db: Session) -> None:
    _fill(db, 3)
    audit.record(db, actor="bob", action="other", context=AuditContext("CASE-2", "another inquiry"))
    since = datetime.now(UTC) - timedelta(minutes=5)
    rows = json.loads(audit.render_export(audit.query_entries(db, since=since, case_ref="CASE-1"), "json"))
    assert [r["action"] for r in rows][-3:] == ["test.action0", "test.action1", "test.action2"]
    assert all(r["case_ref"] == "CASE-1" and len(r["hash"]) == 64 for r in rows)
    table = list(csv.DictReader(io.StringIO(audit.render_export(audit.query_entries(db, case_ref="CASE-2"), "csv"))))
    assert [r["actor"] for r in table] == ["bob"]
    future = datetime.now(UTC) + timedelta(days=1)
    assert json.loads(audit.render_export(audit.query_entries(db, since=future), "json")) == []
