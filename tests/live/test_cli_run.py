"""`vigil live run`: supervises the configured cameras until SIGTERM, then stops cleanly after ingesting the
segment in progress; without cameras or a recorder it refuses with one clear line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.live import spooled_video
from tests.support.rtsp import rtsp_server, wait_for
from vigil.cli import app
from vigil.db.live_models import LiveHealth
from vigil.db.session import session_scope
from vigil.live.store import list_segments
from vigil.system import System


@pytest.mark.data
def test_live_run_records_until_sigterm_and_stops_cleanly(
    pets_clip: Path, live_system: Callable[..., System], tmp_path: Path
) -> None:
    with rtsp_server({"pets": pets_clip}) as server:
        system = live_system({"CAM-CLI": server.url("pets")})  # prepared: recorder user and camera exist
        run = live_run(system, server.url("pets"), subprocess.PIPE)
        try:
            wait_for(lambda: len(_segments(system)) >= 1, timeout=90, what="a segment recorded by `vigil live run`")
            run.send_signal(signal.SIGTERM)
            assert run.wait(60) == 0
        finally:
            if run.poll() is None:
                run.kill()
        assert run.stderr is not None
        assert "supervising 1 live camera" in run.stderr.read().decode()
    with session_scope(system.sessions) as db:
        health = db.get(LiveHealth, "CAM-CLI")
        assert health is not None and health.state == "stopped"
    assert spooled_video(system.settings.live_spool_dir / "CAM-CLI") == []  # the last segment was ingested


@pytest.mark.data
def test_camera_workers_stop_when_their_supervisor_is_killed(
    pets_clip: Path, live_system: Callable[..., System], tmp_path: Path
) -> None:
    """kill -9 of `vigil live run` (or of the server): its camera workers must not record on as orphans beside the
    workers a restarted supervisor starts for the same cameras."""
    with rtsp_server({"pets": pets_clip}) as server:
        system = live_system({"CAM-CLI": server.url("pets")})
        run = live_run(system, server.url("pets"), subprocess.DEVNULL)
        try:
            wait_for(lambda: len(_segments(system)) >= 1, timeout=90, what="a segment recorded by `vigil live run`")
            [worker] = _children(run.pid)
            run.kill()  # SIGKILL: the supervisor cannot tell its workers anything
            run.wait(30)
            wait_for(lambda: not _alive(worker), timeout=30, what="the orphaned camera worker to stop")
        finally:
            if run.poll() is None:
                run.kill()
    with session_scope(system.sessions) as db:
        health = db.get(LiveHealth, "CAM-CLI")
        assert health is not None and health.state == "stopped"  # it stopped as if told to: segment ingested


def _children(pid: int) -> list[int]:
    """The spawned worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    tasks = Path(f"/proc/{pid}/task")
    children = [int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def live_run(system: System, url: str, stderr: int) -> subprocess.Popen[bytes]:
    """`vigil live run` in a process of its own, recording CAM-CLI from ``url`` into the system's data folder."""
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(system.settings.data_dir),
        "VIGIL_SECRET_KEY": "test-secret-key-0123456789",
        "VIGIL_LIVE__CAMERAS": f'[{{"code": "CAM-CLI", "url": "{url}"}}]',
        "VIGIL_LIVE__RECORDER_USER": "recorder",
        "VIGIL_LIVE__SEGMENT_SECONDS": "3",
    }
    return subprocess.Popen([sys.executable, "-m", "vigil.cli", "live", "run"], env=env, stderr=stderr)


def _segments(system: System) -> list[object]:
    with session_scope(system.sessions) as db:
        return list(list_segments(db, "CAM-CLI"))


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({}, "no live cameras are configured"),
        ({"VIGIL_LIVE__CAMERAS": '[{"code": "C1", "url": "rtsp://127.0.0.1:9/x"}]'}, "VIGIL_LIVE__RECORDER_USER"),
    ],
)
def test_live_run_refuses_without_cameras_or_a_recorder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], error: str
) -> None:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["live", "run"])
    assert result.exit_code == 2 and error in result.output
    assert not (tmp_path / "data" / "live-spool").exists()  # nothing was started
