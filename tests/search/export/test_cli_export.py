"""`vigil export create|verify|list` against a real data folder: exit codes and what they print."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.support.analysed import analysed_footage
from tests.support.builders import make_user
from vigil.cli import app
from vigil.db.models import AuditEntry, Track
from vigil.db.session import session_scope
from vigil.governance.audit import AuditContext
from vigil.search.review.marks import mark_track
from vigil.settings import load_settings
from vigil.system import open_system, prepare

CASE = ("--case", "CUM-2026-000321", "--purpose", "trace the man seen leaving the off-licence")


@pytest.fixture
def confirmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A data folder with analysed footage whose first track 'ivy' confirmed and second rejected for the case."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-export-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    settings = load_settings()
    system = open_system(settings)
    try:
        prepare(system)
        with session_scope(system.sessions) as db:
            user = make_user(db, "ivy", trained_for=("analytics", "export"), cases=(CASE[1],))
            footage = analysed_footage(db, settings, user=user)
            ids = list(db.execute(select(Track.id).where(Track.footage_id == footage.id).order_by(Track.id)).scalars())
            context = AuditContext(case_ref=CASE[1], purpose=CASE[3])
            mark_track(db=db, user=user, context=context, track_id=ids[0], verdict="confirmed", note="")
            mark_track(db=db, user=user, context=context, track_id=ids[1], verdict="rejected", note="")
            make_user(db, "newbie", trained_for=("analytics",))
    finally:
        system.close()
    return ids


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_create_then_verify_and_list(confirmed: list[int], tmp_path: Path) -> None:
    copy = tmp_path / "for-cps.zip"
    made = json.loads(run("export", "create", *CASE, "-o", str(copy), "--as", "ivy", "--json"))
    assert made["tracks"] == 1 and copy.is_file() and Path(made["path"]).is_file()
    verified = run("export", "verify", str(copy))
    assert "intact" in verified and "HMAC checked" in verified and "NOT" not in verified
    assert "the audit entries match this system's audit log" in verified
    listed = json.loads(run("export", "list", *CASE, "--as", "ivy", "--json"))
    assert [row["export"] for row in listed] == [made["export"]] and listed[0]["sha256"] == made["sha256"]


def test_verify_names_each_problem_and_exits_1(confirmed: list[int], tmp_path: Path) -> None:
    made = json.loads(run("export", "create", *CASE, "--track", str(confirmed[0]), "--as", "ivy", "--json"))
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(made["path"]) as original, zipfile.ZipFile(forged, "w") as out:
        for name in original.namelist():
            if not name.startswith("stills/"):
                out.writestr(name, original.read(name))
        out.writestr("notes.txt", b"added later")
    output = run("export", "verify", str(forged), code=1)
    assert "NOT intact (2 problems)" in output
    assert "is missing from the bundle" in output and "notes.txt is in the bundle but not in the manifest" in output


def test_refusals_are_one_clear_line(confirmed: list[int]) -> None:
    output = run("export", "create", *CASE, "--track", str(confirmed[1]), "--as", "ivy", code=2)
    assert f"track {confirmed[1]} is not confirmed for case CUM-2026-000321" in output
    output = run("export", "create", *CASE, "--as", "newbie", code=2)
    assert "no current training record for evidence export" in output
    assert "cannot be read as a zip" in run("export", "verify", "/nonexistent/bundle.zip", code=1)


def test_verify_finds_a_bundle_whose_audit_entries_the_log_no_longer_holds(confirmed: list[int]) -> None:
    """A bundle made here whose audit entries differ from the audit log: the log was rewritten after the export
    (by someone who first removed the database's append-only trigger, as an attacker with the file could)."""
    made = json.loads(run("export", "create", *CASE, "--as", "ivy", "--json"))
    system = open_system(load_settings())
    try:
        with session_scope(system.sessions) as db:
            db.execute(text("DROP TRIGGER audit_entries_no_update"))
            mark = db.execute(select(AuditEntry).where(AuditEntry.action == "review.mark")).scalars().first()
            assert mark is not None
            mark.hash, seq = "0" * 64, mark.seq
    finally:
        system.close()
    output = run("export", "verify", made["path"], code=1)
    assert f"audit entry {seq} differs from this system's audit log" in output
