"""`vigil search "DESCRIPTION" --case C --purpose P [--json]` against a real data folder with analysed footage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.support.analysed import analysed_footage
from tests.support.builders import make_user
from vigil.cli import app
from vigil.db.models import AuditEntry
from vigil.db.session import session_scope
from vigil.settings import load_settings
from vigil.system import open_system

CASE = ("--case", "CUM-2026-000555", "--purpose", "assault outside the station, tracing the suspect")


@pytest.fixture
def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    system = open_system(load_settings())
    try:
        with session_scope(system.sessions) as db:
            make_user(db, "ivy", trained_for=("analytics",), cases=(CASE[1],))
            make_user(db, "ned")
            analysed_footage(db, system.settings)
    finally:
        system.close()
    return runner


def audit_actions() -> list[tuple[str, str, str | None]]:
    system = open_system(load_settings())
    try:
        with session_scope(system.sessions) as db:
            rows = db.execute(select(AuditEntry).where(AuditEntry.action.like("search.%")).order_by(AuditEntry.seq))
            return [(e.action, e.outcome, e.case_ref) for e in rows.scalars()]
    finally:
        system.close()


def test_search_prints_what_it_understood_and_the_candidates_as_json(vigil: CliRunner) -> None:
    result = vigil.invoke(app, ["search", "man in a red top with a pram", *CASE, "--as", "ivy", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == {"classes": ["person"], "upper_colours": ["red"]}
    assert data["unknown_words"] == ["pram"]
    assert any("does not infer gender, age or ethnicity" in n for n in data["notices"])
    assert [(r["upper"], r["heading"], r["camera_code"]) for r in data["results"]] == [(["red"], "right", "PEN-01")]
    assert audit_actions() == [("search.run", "ok", "CUM-2026-000555")]


def test_search_prints_a_table(vigil: CliRunner) -> None:
    result = vigil.invoke(app, ["search", "person in a yellow top", *CASE, "--as", "ivy"])
    assert result.exit_code == 0, result.output
    assert "Understood:" in result.output and "top: yellow" in result.output
    assert "1 candidates" in result.output and "PEN-01" in result.output and "top yellow; legs green" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["identify the face of the man in red", *CASE, "--as", "ivy"], "does not identify people"),
        (["person in red", "--case", "CUM-1", "--as", "ivy"], "purpose"),
        (["person in red", *CASE, "--as", "ned"], "training"),
        (["   ", *CASE, "--as", "ivy"], "describe what you are looking for"),
    ],
)
def test_refusals_and_bad_input_are_one_clear_line(vigil: CliRunner, args: list[str], message: str) -> None:
    result = vigil.invoke(app, ["search", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output
