"""The PETS camera set up through the CLI in a child-process environment (kill-and-resume, reanalysis tests)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli import app

CONTEXT = ["--case", "PETS-EVAL", "--purpose", "checking that a killed analysis resumes"]


def pets_cli_environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_DATA_DIR=str(data_dir), VIGIL_SECRET_KEY="kill-test", VIGIL_ANALYSIS__CHECKPOINT_SECONDS="0.5")
    return env


def set_up_pets_camera(env: dict[str, str]) -> None:
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
