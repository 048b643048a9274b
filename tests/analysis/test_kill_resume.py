"""`vigil analyse` killed with SIGKILL mid-run resumes to exactly the tracks of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import shared_data_dir
from vigil.cli import app

VIDEO = shared_data_dir() / "pets09-s2l1" / "vtest.avi"
CONTEXT = ["--case", "PETS-EVAL", "--purpose", "checking that a killed analysis resumes"]


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_DATA_DIR=str(data_dir), VIGIL_SECRET_KEY="kill-test", VIGIL_ANALYSIS__CHECKPOINT_SECONDS="0.5")
    return env


def _setup(env: dict[str, str]) -> None:
    runner, today = CliRunner(), date.today()
    for args in (
        ["db", "upgrade"],
        ["user", "add", "ivy", "--role", "investigator", "--name", "Ivy", "--as", "admin"],
        ["user", "add", "tess", "--role", "supervisor", "--name", "Tess Trainer", "--as", "admin"],
        [
            "training",
            "add",
            "ivy",
            "--capability",
            "analytics",
            "--course",
            "VA",
            "--completed",
            str(today),
            "--expires",
            str(today + timedelta(days=30)),
            "--as",
            "tess",
        ],
        ["location", "add", "Campus", "--as", "admin"],
        [
            "location",
            "pia",
            "Campus",
            "--reference",
            "PIA-1",
            "--purposes",
            "crime prevention",
            "--approved",
            str(today - timedelta(days=1)),
            "--review",
            str(today + timedelta(days=300)),
            "--approved-by",
            "Supt",
            "--as",
            "admin",
        ],
        ["camera", "add", "PETS-01", "--location", "Campus", "--as", "admin"],
        ["user", "add", "sue", "--role", "supervisor", "--name", "Sue", "--as", "admin"],
        ["case", "open", CONTEXT[1], "--title", "Kill and resume check", "--as", "sue"],
        ["case", "add-member", CONTEXT[1], "ivy", "--as", "sue"],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output


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
    whole, killed = _environment(tmp_path / "whole"), _environment(tmp_path / "killed")
    _setup(whole)
    _setup(killed)
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

    env = _environment(tmp_path / "data")
    env["VIGIL_ANALYSIS__CHECKPOINT_SECONDS"] = "10"
    _setup(env)
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
