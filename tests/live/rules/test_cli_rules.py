"""`vigil rules list|create|renew|expire` on a real data folder: the same checks as the services, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import make_settings
from tests.support.builders import make_camera, make_user
from tests.support.cli import run
from vigil.db.session import session_scope
from vigil.system import open_system, prepare

CASE = ("--case", "CUM-2026-000404", "--purpose", "watch the doorway for the burglar")


@pytest.fixture
def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    system = open_system(make_settings(tmp_path / "data"))
    prepare(system)
    with session_scope(system.sessions) as db:
        make_user(db, "olive", "operator", trained_for=("analytics",), cases=["CUM-2026-000404"])
        make_user(db, "una", "operator", cases=["CUM-2026-000404"])
        make_camera(db, "PEN-01")
    system.close()
    return CliRunner()


def test_rules_are_created_listed_renewed_and_expired(vigil: CliRunner) -> None:
    zone = ("--camera", "PEN-01", "--kind", "loitering", "--name", "Door", "--zone", "0.1,0.1 0.6,0.1 0.6,0.8")
    timing = ("--seconds", "20", "--days", "7")
    made = json.loads(run(vigil, "rules", "create", *zone, *timing, *CASE, "--as", "olive", "--json"))
    assert made["kind"] == "loitering" and made["case"] == "CUM-2026-000404" and made["owner"] == "olive"
    listed = json.loads(run(vigil, "rules", "list", "--as", "olive", "--json"))
    assert [r["id"] for r in listed] == [made["id"]]
    assert "now expires" in run(vigil, "rules", "renew", str(made["id"]), "--days", "31", "--as", "olive")
    assert "ended" in run(vigil, "rules", "expire", str(made["id"]), "--as", "olive")
    assert json.loads(run(vigil, "rules", "list", "--as", "olive", "--json")) == []
    assert len(json.loads(run(vigil, "rules", "list", "--all", "--as", "olive", "--json"))) == 1


@pytest.mark.parametrize(
    ("args", "user", "error"),
    [
        (("--zone", "0.1,0.1 0.6,0.1 0.6,0.8", "--days", "45"), "olive", "expires within 31 days"),
        (("--zone", "10,10 600,10 600,800", "--days", "7"), "olive", "less than or equal to 1"),
        (("--zone", "left top", "--days", "7"), "olive", "write points as"),
        (("--zone", "0.1,0.1 0.6,0.1 0.6,0.8", "--days", "7"), "una", "no current training"),
    ],
)
def test_bad_rules_fail_with_one_clear_line(vigil: CliRunner, args: tuple[str, ...], user: str, error: str) -> None:
    base = ("rules", "create", "--camera", "PEN-01", "--kind", "zone_entry", "--name", "Door")
    output = run(vigil, *base, *args, *CASE, "--as", user, code=2)
    assert error in output
    assert json.loads(run(vigil, "rules", "list", "--all", "--as", "olive", "--json")) == []


def test_an_appearance_watch_is_created_and_a_description_that_says_nothing_is_refused(vigil: CliRunner) -> None:
    base = ("rules", "watch", "--cameras", "PEN-01", "--name", "Robber", "--days", "2")
    made = json.loads(run(vigil, *base, "--description", "red top and a backpack", *CASE, "--as", "olive", "--json"))
    assert made["kind"] == "appearance_watch" and made["camera"] == "PEN-01" and made["owner"] == "olive"
    output = run(vigil, *base, "--description", "xyzzy plugh", *CASE, "--as", "olive", code=2)
    assert "found nothing to look for" in output
    missing = run(vigil, *base, "--photo", "/no/such/photo.jpg", *CASE, "--as", "olive", code=2)
    assert "is not a readable photo file" in missing
    assert [r["id"] for r in json.loads(run(vigil, "rules", "list", "--all", "--as", "olive", "--json"))] == [
        made["id"]
    ]
