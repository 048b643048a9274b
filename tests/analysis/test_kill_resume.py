"""`vigil analyse` killed with SIGKILL mid-run resumes to exactly the tracks of an uninterrupted run."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import shared_data_dir
from tests.support.analysis_cli import CONTEXT, pets_cli_environment, set_up_pets_camera
from vigil.cli import app

VIDEO = shared_data_dir() / "pets09-s2l1" / "vtest.avi"


def _analyse(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "vigil.cli",
        "analyse",
        str(VIDEO),
        "--camera",
        "PETS-01",
        "--as",
        "ivy",
        "--start",
        "2009-03-01T10:00:00Z",
        "--json",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _checkpoint(db_file: Path) -> int:
    if not db_file.exists():
        return 0
    with sqlite3.connect(db_file, timeout=30) as connection:
        row = connection.execute("SELECT max(checkpoint_frame), max(tracks_written) FROM analysis_jobs").fetchone()
    return int(row[0] or 0) if row and (row[1] or 0) > 0 else 0


def _export(env: dict[str, str]) -> str:
    result = CliRunner().invoke(app, ["tracks", "export", "1", "--format", "mot", *CONTEXT, "--as", "ivy"], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.data
@pytest.mark.skipif(not VIDEO.exists(), reason="../shared/data is absent")
def test_sigkill_mid_analysis_resumes_to_identical_tracks(tmp_path: Path) -> None:
    whole, killed = pets_cli_environment(tmp_path / "whole"), pets_cli_environment(tmp_path / "killed")
    set_up_pets_camera(whole)
    set_up_pets_camera(killed)
    assert _analyse(whole).wait(timeout=600) == 0
    expected = _export(whole)
    assert expected.count("\n") > 1000

    process = _analyse(killed)
    deadline = time.monotonic() + 300
    while _checkpoint(tmp_path / "killed" / "vigil.db") == 0:  # wait for a checkpoint that holds tracks
        assert process.poll() is None, "the analysis finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    interrupted_at = _checkpoint(tmp_path / "killed" / "vigil.db")
    assert 0 < interrupted_at < 795

    resumed = _analyse(killed)
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr.decode()
    assert _export(killed) == expected


def test_analyse_takes_a_detection_interval_and_refuses_a_bad_one(tmp_path: Path) -> None:
    import json

    from tests.support.scenes import crossing_scene, write_video

    env = pets_cli_environment(tmp_path / "data")
    env["VIGIL_ANALYSIS__CHECKPOINT_SECONDS"] = "10"
    set_up_pets_camera(env)
    video = write_video(crossing_scene(30), tmp_path / "scene.mp4")
    runner = CliRunner()
    args = ["analyse", str(video), "--camera", "PETS-01", "--as", "ivy", "--start", "2024-05-01T14:00:00Z"]
    refused = runner.invoke(app, [*args, "--detect-interval", "5"], env=env)
    assert refused.exit_code == 2 and "detect-interval" in refused.output
    done = runner.invoke(app, [*args, "--detect-interval", "1.0", "--json"], env=env)
    assert done.exit_code == 0, done.output
    with sqlite3.connect(tmp_path / "data" / "vigil.db") as connection:
        status, params = connection.execute("SELECT status, params FROM analysis_jobs").fetchone()
    assert status == "done" and json.loads(params) == {"detect_interval_s": 1.0}
