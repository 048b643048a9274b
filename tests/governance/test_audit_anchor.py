"""The audit chain anchored outside the database (issue 10, F5).

Each attack is what a database owner can do: switch the append-only triggers off, rewrite the chain so that it
verifies again on its own, and rely on nobody noticing. The signed checkpoints in a file must name it.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from vigil.db.models import AuditEntry
from vigil.governance import audit
from vigil.governance.audit_anchor import (
    AnchorError,
    AnchorReport,
    ensure_signing_key,
    load_signing_key,
    parse_public_key,
    public_key_text,
    verify_anchors,
    write_checkpoint,
)


def _fill(db: Session, n: int, label: str = "a") -> None:
    for i in range(n):
        audit.record(db, actor="alice", action=f"test.{label}{i}", details={"i": i})
    db.flush()


def disable_append_only(db: Session) -> None:
    """What an owner of the database does first: SQLite drop the triggers, PostgreSQL disable them."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("DROP TRIGGER audit_entries_no_update"))
        db.execute(text("DROP TRIGGER audit_entries_no_delete"))
    else:
        db.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))


def _newest_seq(db: Session) -> int:
    return int(db.execute(text("SELECT max(seq) FROM audit_entries")).scalar_one())


def _set_head(db: Session) -> None:
    seq = _newest_seq(db)
    hash_ = db.execute(text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": seq}).scalar_one()
    db.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": hash_})
    db.expire_all()


def _rehash_from(db: Session, seq: int) -> None:
    """Re-link and re-hash every entry from ``seq`` on, so that the chain verifies again on its own."""
    prev = db.execute(text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": seq - 1}).scalar_one_or_none()
    prev = prev or audit.GENESIS_HASH
    for entry in db.execute(select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)).scalars():
        entry.prev_hash = prev
        entry.hash = audit.entry_hash(entry)
        prev = entry.hash
    db.flush()
    _set_head(db)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _verify(db: Session, key: Ed25519PrivateKey, path: Path) -> AnchorReport:
    return verify_anchors(db, checkpoint_file=path, public=key.public_key())


def _anchored(db: Session, key: Ed25519PrivateKey, path: Path) -> None:
    _fill(db, 4, "a")
    assert write_checkpoint(db, key=key, checkpoint_file=path) is not None
    _fill(db, 4, "b")
    assert write_checkpoint(db, key=key, checkpoint_file=path) is not None


def test_intact_chain_matches_its_checkpoints(db: Session, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    _anchored(db, key, path)
    assert write_checkpoint(db, key=key, checkpoint_file=path) is None  # nothing new: no new line
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["n"] for line in lines] == [1, 2]
    assert lines[-1]["seq"] == _newest_seq(db) and lines[-1]["count"] == _newest_seq(db)
    report = _verify(db, key, path)
    assert report.ok and report.checkpoints == 2, report.describe()
    _fill(db, 2, "c")  # entries after the newest checkpoint are normal
    assert _verify(db, key, path).ok


def test_deleting_the_tail_and_moving_the_head_is_reported_as_truncation(
    db: Session, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    path = tmp_path / "checkpoints.jsonl"
    _anchored(db, key, path)
    newest = _newest_seq(db)
    disable_append_only(db)
    db.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": newest - 3})
    _set_head(db)
    assert audit.verify(db).ok  # the chain alone no longer shows it: this is the attack
    report = _verify(db, key, path)
    assert not report.ok
    assert any(p.startswith("TRUNCATED") and f"entries {newest - 2}-{newest}" in p for p in report.problems)
    before = path.read_text()
    with pytest.raises(AnchorError, match="NOT written"):  # a truncated chain is never signed
        write_checkpoint(db, key=key, checkpoint_file=path)
    assert path.read_text() == before


def test_editing_an_entry_and_rehashing_the_rest_is_reported_as_rechaining(
    db: Session, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    path = tmp_path / "checkpoints.jsonl"
    _anchored(db, key, path)
    target = _newest_seq(db) - 5
    disable_append_only(db)
    db.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = :s"), {"s": target})
    db.expire_all()
    _rehash_from(db, target)
    assert audit.verify(db).ok
    report = _verify(db, key, path)
    assert not report.ok
    assert any(p.startswith("RE-CHAINED") and f"entry {_newest_seq(db)}" in p for p in report.problems)


def test_a_forged_entry_dated_before_a_checkpoint_is_reported(
    db: Session, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """A correctly hashed entry appended with the head moved on, but dated in the past (e.g. a fake approval)."""
    path = tmp_path / "checkpoints.jsonl"
    _anchored(db, key, path)
    newest = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    forged = AuditEntry(
        seq=newest.seq + 1,
        at=newest.at - timedelta(hours=2),
        actor="supervisor",
        action="export.approve",
        outcome="ok",
        details="{}",
        prev_hash=newest.hash,
    )
    forged.hash = audit.entry_hash(forged)
    db.execute(
        text(
            "INSERT INTO audit_entries (seq, at, actor, action, outcome, details, prev_hash, hash) "
            "VALUES (:seq, :at, :actor, :action, :outcome, :details, :prev_hash, :hash)"
        ),
        {
            "seq": forged.seq,
            "at": forged.at.replace(tzinfo=None),
            "actor": forged.actor,
            "action": forged.action,
            "outcome": forged.outcome,
            "details": forged.details,
            "prev_hash": forged.prev_hash,
            "hash": forged.hash,
        },
    )
    _set_head(db)
    assert audit.verify(db).ok
    report = _verify(db, key, path)
    assert any(p.startswith("FORGED ENTRY") and f"entry {forged.seq}" in p for p in report.problems), report.problems


def test_a_forged_entry_inserted_below_a_checkpoint_is_reported(
    db: Session, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """Rows shifted up by one, a forged entry in the gap, everything after it re-hashed."""
    path = tmp_path / "checkpoints.jsonl"
    _anchored(db, key, path)
    target = _newest_seq(db) - 2
    disable_append_only(db)
    db.execute(text("UPDATE audit_entries SET seq = seq + 1000000 WHERE seq >= :s"), {"s": target})
    db.execute(text("UPDATE audit_entries SET seq = seq - 1000000 + 1 WHERE seq >= 1000000"))
    db.expire_all()
    at = db.execute(select(AuditEntry.at).where(AuditEntry.seq == target - 1)).scalar_one()
    db.add(
        AuditEntry(
            seq=target, at=at, actor="mallory", action="forged", outcome="ok", details="{}", prev_hash="", hash=""
        )
    )
    db.flush()
    _rehash_from(db, target)
    assert audit.verify(db).ok
    problems = _verify(db, key, path).problems
    assert any(p.startswith("RE-CHAINED") for p in problems), problems


def test_a_tampered_or_removed_checkpoint_line_is_reported(db: Session, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    _anchored(db, key, path)
    _fill(db, 1, "c")
    write_checkpoint(db, key=key, checkpoint_file=path)
    lines = path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["count"] += 1
    path.write_text("\n".join([json.dumps(edited), *lines[1:]]) + "\n")
    problems = _verify(db, key, path).problems
    assert any(p.startswith("TAMPERED CHECKPOINT") and "line 1 " in p for p in problems), problems
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")  # the middle checkpoint removed
    problems = _verify(db, key, path).problems
    assert problems == ["CHECKPOINT FILE: line 2 does not follow the line before it (a line was removed)"]
    other = Ed25519PrivateKey.generate()  # checkpoints checked with a key that did not sign them
    problems = verify_anchors(db, checkpoint_file=path, public=other.public_key()).problems
    assert len(problems) == 2 and all("another key" in p for p in problems)


def test_signing_key_is_created_private_and_never_silently_replaced(tmp_path: Path) -> None:
    key_file, checkpoints = tmp_path / "keys" / "audit-signing.key", tmp_path / "checkpoints.jsonl"
    key = ensure_signing_key(key_file=key_file, checkpoint_file=checkpoints)
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert public_key_text(load_signing_key(key_file)) == public_key_text(key)
    assert public_key_text(parse_public_key(public_key_text(key))) == public_key_text(key)
    checkpoints.write_text('{"v": 1}\n')
    key_file.unlink()
    with pytest.raises(AnchorError, match=r"audit signing key .* is missing"):
        ensure_signing_key(key_file=key_file, checkpoint_file=checkpoints)
    assert not key_file.exists()
    with pytest.raises(AnchorError, match="not an Ed25519 public key"):
        parse_public_key("ed25519:not-base64!")
