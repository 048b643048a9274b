"""The recording policy of a registered camera source (continuous, motion, off): set with the source or changed on
its own by administrators and supervisors (audited, a bad policy refused with nothing changed), and taken up by the
live supervisor's sources."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import make_settings
from tests.support.live import check_chain, health_of, segments_of, wait_segments
from tests.support.rtsp import rtsp_server, wait_for
from vigil.cli import app
from vigil.db.models import AuditEntry, Footage
from vigil.db.session import session_scope
from vigil.live.sources import CameraSources
from vigil.live.store import list_gaps
from vigil.system import System, open_system

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
    again = run("camera", "source", "set", "PEN-01", "--stdin", "--as", "admin", stdin=URL)  # a new address only
    assert "recording off" in again  # keeps the policy

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


@pytest.mark.data
def test_a_motion_camera_whose_frames_are_not_analysed_keeps_every_segment(
    pets_clip: Path, live_system: Callable[..., System]
) -> None:
    """Until decoded frames reach the motion gate, nothing is known to be still: every segment is kept as footage."""
    with rtsp_server({"pets": pets_clip}) as server:
        system = live_system({"CAM-MO": {"url": server.url("pets"), "recording": "motion"}})
        system.live.start()
        wait_segments(system, "CAM-MO", 2, timeout=60)
        assert health_of(system, "CAM-MO").recording == "motion"  # type: ignore[union-attr]
        system.live.stop()
    check_chain(system, "CAM-MO")


@pytest.mark.data
def test_a_spool_that_cannot_be_written_stops_recording_with_a_clear_error_and_no_crash(
    pets_clip: Path, live_system: Callable[..., System], tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"a file where the spool folder should be")  # every write below it fails (even for root)
    with rtsp_server({"pets": pets_clip}) as server:
        system = live_system({"CAM-RO": server.url("pets")}, spool_dir=str(blocked))
        system.live.start()
        wait_for(
            lambda: (row := health_of(system, "CAM-RO")) is not None and row.state == "error" and row.fps > 0,
            timeout=60,
            what="an error state while the stream is still read",
        )
        row = health_of(system, "CAM-RO")
        assert row is not None and row.reason.startswith("recording stopped: the spool folder cannot be written")
        pid = system.live.workers()["CAM-RO"]
        assert row.restarts == 0 and pid is not None  # no crash loop
        system.live.stop()
    assert segments_of(system, "CAM-RO") == []
    with session_scope(system.sessions) as db:
        assert not db.execute(select(Footage)).first()
        gaps = list_gaps(db, "CAM-RO")
    assert len(gaps) == 1 and "cannot be written" in gaps[0].reason


def test_the_sources_page_sets_the_recording_policy_with_the_source(tmp_path: Path) -> None:
    from tests.support.builders import PASSWORD, make_camera, make_user
    from tests.support.webapp import csrf_of, log_in, seed
    from tests.web.conftest import client_for
    from vigil.db.models import CameraSource

    client = client_for(tmp_path)
    seed(client.app, lambda db: (make_user(db, "sam", "supervisor"), make_camera(db, "PEN-01")))  # type: ignore[arg-type]
    log_in(client, "sam", PASSWORD)
    page = client.get("/cameras/sources")
    assert 'name="recording"' in page.text
    form = {"camera": "PEN-01", "url": "rtsp://10.0.4.21/s1", "recording": "motion", "csrf_token": csrf_of(page.text)}
    done = client.post("/cameras/sources", data=form)
    assert done.status_code == 200 and "<td>motion</td>" in done.text
    bad = client.post("/cameras/sources", data={**form, "recording": "always"})
    assert "a recording policy is one of" in bad.text
    policies = seed(client.app, lambda db: [s.recording for s in db.execute(select(CameraSource)).scalars()])  # type: ignore[arg-type]
    assert policies == ["motion"]
