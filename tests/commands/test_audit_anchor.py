"""`vigil audit checkpoint | verify | public-key` against a database owner who rewrites the chain (issue 10, F5).

The attacks use the SQLite file directly, as its owner would: read the append-only triggers' SQL, drop them,
rewrite the chain so it verifies on its own, and put the triggers back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import cli_environment, move_head, owner_access, run
from vigil.db.models import AuditEntry
from vigil.governance.audit import entry_hash


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_environment(tmp_path, monkeypatch)


def _entry(row: sqlite3.Row) -> AuditEntry:
    data = dict(row)
    data["at"] = datetime.fromisoformat(data["at"]).replace(tzinfo=UTC)
    return AuditEntry(**{key: value for key, value in data.items() if key != "id"})


def truncate(con: sqlite3.Connection) -> None:
    con.execute("DELETE FROM audit_entries WHERE seq > (SELECT max(seq) - 2 FROM audit_entries)")
    move_head(con)


def rechain(con: sqlite3.Connection) -> None:
    con.row_factory = sqlite3.Row
    con.execute("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2")
    prev = con.execute("SELECT hash FROM audit_entries WHERE seq = 1").fetchone()[0]
    for row in con.execute("SELECT * FROM audit_entries WHERE seq >= 2 ORDER BY seq").fetchall():
        entry = _entry(row)
        entry.prev_hash = prev
        prev = entry_hash(entry)
        con.execute(
            "UPDATE audit_entries SET prev_hash = ?, hash = ? WHERE seq = ?", (entry.prev_hash, prev, row["seq"])
        )
    move_head(con)


def forge(con: sqlite3.Connection) -> None:
    """A correctly hashed entry appended after the last one, dated a day earlier (a fake approval)."""
    con.row_factory = sqlite3.Row
    newest = _entry(con.execute("SELECT * FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone())
    forged = AuditEntry(
        seq=newest.seq + 1,
        at=newest.at - timedelta(days=1),
        actor="supervisor",
        action="export.approve",
        outcome="ok",
        details="{}",
        prev_hash=newest.hash,
    )
    forged.hash = entry_hash(forged)
    con.execute(
        "INSERT INTO audit_entries (seq, at, actor, action, outcome, details, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (forged.seq, forged.at.replace(tzinfo=None).isoformat(" "), "supervisor", "export.approve", "ok", "{}",
         forged.prev_hash, forged.hash),
    )  # fmt: skip
    move_head(con)


def _anchored(runner: CliRunner) -> None:
    run(runner, "db", "upgrade")
    assert "checkpoint 1 written" in run(runner, "audit", "checkpoint")
    run(runner, "user", "add", "ivy", "--role", "investigator", "--name", "Ivy", "--as", "admin")
    run(runner, "user", "add", "olly", "--role", "operator", "--name", "Olly", "--as", "admin")
    assert "checkpoint 2 written" in run(runner, "audit", "checkpoint")
    assert "no new audit entries" in run(runner, "audit", "checkpoint")


def test_an_intact_installation_verifies_and_the_key_is_private(data_dir: Path) -> None:
    runner = CliRunner()
    _anchored(runner)
    output = run(runner, "audit", "verify")
    assert "audit chain intact" in output and "matches all 2 signed checkpoints" in output
    assert (data_dir / "audit-signing.key").stat().st_mode & 0o777 == 0o600
    lines = (data_dir / "audit-checkpoints.jsonl").read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 2]


@pytest.mark.parametrize(
    ("attack", "named"),
    [(truncate, "TRUNCATED"), (rechain, "RE-CHAINED"), (forge, "FORGED ENTRY")],
    ids=["delete-tail-move-head", "edit-and-rehash", "forged-backdated-entry"],
)
def test_a_rewritten_chain_is_detected_and_named(
    data_dir: Path, attack: Callable[[sqlite3.Connection], None], named: str
) -> None:
    runner = CliRunner()
    _anchored(runner)
    with owner_access(data_dir) as con:
        attack(con)
    output = run(runner, "audit", "verify", code=1)
    assert "audit chain intact" in output  # the chain alone is fooled: this is the attack
    assert "does NOT match its signed checkpoints" in output and named in output
    before = (data_dir / "audit-checkpoints.jsonl").read_text()
    if attack is not forge:  # a truncated or rewritten chain is never signed
        assert "NOT written" in run(runner, "audit", "checkpoint", code=2)
        assert (data_dir / "audit-checkpoints.jsonl").read_text() == before
    with sqlite3.connect(data_dir / "vigil.db") as con:  # the triggers are back: nothing looks touched
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0] >= 2


def test_a_tampered_checkpoint_file_and_a_missing_key_are_reported(data_dir: Path) -> None:
    runner = CliRunner()
    _anchored(runner)
    public = run(runner, "audit", "public-key").strip()
    assert public.startswith("ed25519:")
    path = data_dir / "audit-checkpoints.jsonl"
    first, second = path.read_text().splitlines()
    edited = json.loads(second)
    edited["seq"] -= 1  # e.g. to make a truncation look covered
    path.write_text(first + "\n" + json.dumps(edited) + "\n")
    output = run(runner, "audit", "verify", code=1)
    assert "TAMPERED CHECKPOINT: the signature of line 2" in output
    path.write_text(first + "\n" + second + "\n")
    (data_dir / "audit-signing.key").unlink()
    output = run(runner, "audit", "verify", code=2)
    assert "audit signing key" in output and "is missing" in output
    assert "is missing" in run(runner, "audit", "checkpoint", code=2)  # no new key replaces the lost one
    assert not (data_dir / "audit-signing.key").exists()
    assert "matches all 2 signed checkpoints" in run(runner, "audit", "verify", "--public-key", public)
