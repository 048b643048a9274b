"""Running the ``vigil`` CLI in tests: a fresh data folder in the environment, and a checked invocation."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli import app


def cli_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the CLI at ``tmp_path/data`` with a fixed secret key and no ambient user or database URL."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    return tmp_path / "data"


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stdout if "--json" in args else result.output


@contextmanager
def owner_access(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The database file opened directly, append-only triggers dropped, and recreated afterwards."""
    with closing(sqlite3.connect(data_dir / "vigil.db")) as con:
        triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in triggers:
            con.execute(f"DROP TRIGGER {name}")
        yield con
        for _, sql in triggers:
            con.execute(sql)
        con.commit()


def move_head(con: sqlite3.Connection) -> None:
    """Point the audit head at the last entry (as a database owner rewriting the chain would)."""
    seq, hash_ = con.execute("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()
    con.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, hash_))
