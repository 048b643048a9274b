"""The registry's commands through the real CLI: import, export, cameras near an incident, housekeeping."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.registry_cameras import CSV
from vigil.cli import app

CONTEXT = ("--case", "CUM-2026-000417", "--purpose", "find cameras near the robbery on Market Square")


@pytest.fixture
def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stdout if "--json" in args else result.output


def test_import_export_and_near_through_the_cli(vigil: CliRunner, tmp_path: Path) -> None:
    run(vigil, "db", "upgrade")
    cameras = tmp_path / "cameras.csv"
    cameras.write_text(CSV)
    assert "imported 3 camera(s)" in run(vigil, "registry", "import", str(cameras), "--as", "admin")
    assert "already exists" in run(vigil, "registry", "import", str(cameras), "--as", "admin", code=2)
    exported = tmp_path / "out.geojson"
    assert "wrote 3 camera(s)" in run(vigil, "registry", "export", "-o", str(exported), "--as", "admin")
    assert {f["properties"]["code"] for f in json.loads(exported.read_text())["features"]} == {
        "PEN-10",
        "PEN-11",
        "KES-01",
    }
    run(vigil, "user", "add", "olly", "--role", "investigator", "--name", "Olly", "--as", "admin")
    run(vigil, "user", "add", "tess", "--role", "supervisor", "--name", "Tess Trainer", "--as", "admin")
    today = date.today()
    run(
        vigil,
        "training",
        "add",
        "olly",
        "--capability",
        "registry",
        "--course",
        "Registry course",
        "--completed",
        str(today - timedelta(days=1)),
        "--expires",
        str(today + timedelta(days=300)),
        "--as",
        "tess",
    )
    at = f"{today - timedelta(days=2)}T14:00:00Z"
    case = CONTEXT[1]
    run(vigil, "user", "add", "sue", "--role", "supervisor", "--name", "Sue", "--as", "admin")
    assert "may not manage cases" in run(vigil, "case", "open", case, "--title", "Robbery", "--as", "olly", code=2)
    assert "opened case" in run(vigil, "case", "open", case, "--title", "Robbery on Market Square", "--as", "sue")
    not_yet = run(vigil, "registry", "near", "--at", at, *CONTEXT, "--as", "olly", "--", "54.6641", "-2.752", code=2)
    assert f"not a member of case {case}" in not_yet
    run(vigil, "case", "add-member", case, "olly", "--as", "sue")
    assert [c["reference"] for c in json.loads(run(vigil, "case", "list", "--as", "olly", "--json"))] == [case]
    near = json.loads(
        run(vigil, "registry", "near", "--at", at, *CONTEXT, "--as", "olly", "--json", "--", "54.6641", "-2.7520")
    )
    assert [(c["label"].split()[0], c["source"], round(c["distance_m"])) for c in near] == [
        ("PEN-10", "force", 45),
        ("PEN-11", "force", 45),
    ]
    assert near[0]["faces_point"] is True and near[0]["pia"] is None  # PEN-10 faces east, towards the point
    assert near[1]["faces_point"] is None  # PEN-11 has no bearing
    refused = run(vigil, "registry", "near", "--at", at, *CONTEXT, "--as", "admin", "--", "54.6641", "-2.752", code=2)
    assert "does not grant the camera registry capability" in refused
    assert "reminded 0, expired 0" in run(vigil, "requests", "remind")
    assert "emails: 0 sent, 0 still queued, 0 given up" in run(vigil, "requests", "send-mail")
