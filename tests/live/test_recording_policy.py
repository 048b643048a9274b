"""The recording policy of a registered camera source (continuous, motion, off): set with the source or changed on
its own by administrators and supervisors (audited, a bad policy refused with nothing changed), and taken up by the
live supervisor's sources."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import make_settings
from vigil.cli import app
from vigil.db.models import AuditEntry
from vigil.db.session import session_scope
from vigil.live.sources import CameraSources
from vigil.system import open_system

URL = "rtsp://viewer:hunter2@10.0.4.21:554/stream1"


def test_the_recording_policy_is_set_changed_audited_and_reaches_the_supervisors_sources(tmp_path: Path) -> None:
    env = {"VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_SECRET_KEY": "cli-test-secret"}
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env, input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run("location", "add", "Market Square", "--as", "admin")
    run("camera", "add", "pen-01", "--location", "Market Square", "--as", "admin")
    said = run("camera", "source", "set", "pen-01", "--stdin", "--recording", "motion", "--as", "admin", stdin=URL)
    assert "recording motion" in said and "hunter2" not in said
    refused = run("camera", "source", "recording", "PEN-01", "sometimes", "--as", "admin", code=2)
    assert "continuous, motion, off" in refused
    listed = json.loads(run("camera", "source", "list", "--as", "admin", "--json"))
    assert [(s["camera"], s["recording"]) for s in listed] == [("PEN-01", "motion")]  # the refusal changed nothing
    assert "recording off" in run("camera", "source", "recording", "PEN-01", "off", "--as", "admin")

    settings = make_settings(tmp_path / "data")  # the source key is the one the CLI made in the data folder
    system = open_system(settings)
    try:
        assert [(s.camera_code, s.recording) for s in CameraSources(settings, system.sessions).sources()] == [
            ("PEN-01", "off")
        ]
        with session_scope(system.sessions) as db:
            stmt = select(AuditEntry).where(AuditEntry.action.like("camera.source.%")).order_by(AuditEntry.id)
            entries = [(e.action, json.loads(e.details)) for e in db.execute(stmt).scalars()]
    finally:
        system.close()
    assert entries[0][0] == "camera.source.set" and entries[0][1]["recording"] == "motion"
    assert ("camera.source.recording", {"from": "motion", "to": "off"}) in entries
