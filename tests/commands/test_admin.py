"""Administration from the CLI: password reset, role change, training withdrawal, camera edits, and one spelling
of camera codes whatever case a person types."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import shared_data_dir
from tests.support.cli import cli_environment, run

CASE = ("--case", "CUM-2026-9", "--purpose", "testing camera codes typed in any case")


@pytest.fixture
def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    cli_environment(tmp_path, monkeypatch)
    return CliRunner()


def _setup(vigil: CliRunner) -> None:
    today = date.today()
    run(vigil, "db", "upgrade")
    run(vigil, "user", "add", "ivy", "--role", "investigator", "--name", "Ivy", "--as", "admin")
    run(vigil, "user", "add", "tess", "--role", "supervisor", "--name", "Tess", "--as", "admin")
    run(vigil, "location", "add", "Market Square", "--as", "admin")
    run(vigil, "location", "add", "Bus Station", "--as", "admin")
    run(vigil, "camera", "add", "pets-cam", "--location", "Market Square", "--as", "admin")
    dates = ("--completed", str(today - timedelta(days=1)), "--expires", str(today + timedelta(days=300)))
    run(vigil, "training", "add", "ivy", "--capability", "analytics", "--course", "VA", *dates, "--as", "tess")
    run(vigil, "case", "open", CASE[1], "--title", "Camera codes", "--as", "tess")
    run(vigil, "case", "add-member", CASE[1], "ivy", "--as", "tess")


def test_admin_records_no_training_on_an_account_they_created(vigil: CliRunner) -> None:
    _setup(vigil)
    today = date.today()
    dates = ("--completed", str(today - timedelta(days=1)), "--expires", str(today + timedelta(days=300)))
    refused = run(
        vigil, "training", "add", "ivy", "--capability", "export", "--course", "E", *dates, "--as", "admin", code=2
    )
    assert "you created this account" in refused


def test_reset_password_role_and_training_withdrawal(vigil: CliRunner) -> None:
    _setup(vigil)
    reset = json.loads(run(vigil, "user", "reset-password", "ivy", "--as", "admin", "--json"))
    assert reset["username"] == "ivy" and len(reset["one_time_password"]) >= 12
    assert "your own password" in run(vigil, "user", "reset-password", "admin", "--as", "admin", code=2)
    assert "may not manage users" in run(vigil, "user", "reset-password", "ivy", "--as", "tess", code=2)
    assert "ivy is now supervisor" in run(vigil, "user", "role", "ivy", "supervisor", "--as", "admin")
    assert "unknown role" in run(vigil, "user", "role", "ivy", "king", "--as", "admin", code=2)
    users = {u["username"]: u for u in json.loads(run(vigil, "user", "list", "--as", "admin", "--json"))}
    [record] = users["ivy"]["training_records"]
    assert users["ivy"]["training"] == ["analytics"]
    run(vigil, "training", "withdraw", str(record["id"]), "--reason", "entered in error", "--as", "tess")
    users = {u["username"]: u for u in json.loads(run(vigil, "user", "list", "--as", "admin", "--json"))}
    assert users["ivy"]["training"] == [] and users["ivy"]["training_records"][0]["current"] is False
    run(vigil, "user", "disable", "ivy", "--as", "admin")
    assert "enabled ivy" in run(vigil, "user", "enable", "ivy", "--as", "admin")


def test_user_email_is_set_by_an_administrator_listed_and_a_bad_one_refused(vigil: CliRunner) -> None:
    _setup(vigil)
    assert "tess: email tess@force.example" in run(
        vigil, "user", "email", "tess", "tess@force.example", "--as", "admin"
    )
    assert "not an email address" in run(vigil, "user", "email", "tess", "tess at force", "--as", "admin", code=2)
    assert "may not manage users" in run(vigil, "user", "email", "tess", "x@evil.example", "--as", "ivy", code=2)
    users = {u["username"]: u for u in json.loads(run(vigil, "user", "list", "--as", "admin", "--json"))}
    assert users["tess"]["email"] == "tess@force.example" and users["ivy"]["email"] == ""


@pytest.mark.parametrize("typed", ["pets-cam", "PETS-CAM", " Pets-Cam "])
def test_every_command_finds_a_camera_whatever_case_its_code_is_typed_in(vigil: CliRunner, typed: str) -> None:
    _setup(vigil)
    cameras = json.loads(run(vigil, "camera", "list", "--as", "admin", "--json"))
    assert [c["code"] for c in cameras] == ["PETS-CAM"]
    window = ("--from", "2026-01-01T10:00", "--to", "2026-01-01T11:00")
    # Each command gets past the camera lookup (no "no camera"): what it says next proves it found PETS-CAM.
    table = [
        (("synopsis", typed, *window, "-o", "out.mp4", *CASE, "--as", "ivy"), 2, "camera PETS-CAM has no tracks"),
        (("dashboard", typed, *window, *CASE, "--as", "ivy", "--json"), 0, '"PETS-CAM"'),
        (("footage", "list", "--camera", typed, "--as", "ivy", "--json"), 0, "[]"),
        (("similar", "1", "--camera", typed, *CASE, "--as", "ivy"), 2, "no track"),
        (("camera", "zone", typed, "--name", "door", "--polygon", "1,1 9,1 9,9", "--as", "admin"), 0, "PETS-CAM"),
        (("camera", "calibrate", typed, "--homography", "1,0,0,0,1,0,0,0,1", "--principal-point", "160,120",
          "--as", "admin"), 0, "calibrated camera PETS-CAM"),
        (("camera", "edit", typed, "--location", "Bus Station", "--as", "admin"), 0, "PETS-CAM at Bus Station"),
        (("camera", "retire", typed, "--as", "admin"), 0, "retired camera PETS-CAM"),
        (("camera", "retire", typed, "--undo", "--as", "admin"), 0, "re-activated camera PETS-CAM"),
    ]  # fmt: skip
    for args, code, expected in table:
        output = run(vigil, *args, code=code)
        assert "no camera" not in output.lower() and expected in output, (args, output)
    assert "no camera" in run(vigil, "synopsis", "nope-cam", *window, "-o", "o.mp4", *CASE, "--as", "ivy", code=2)


def test_camera_sensitivity_typed_cleared_and_refused(vigil: CliRunner) -> None:
    _setup(vigil)
    out = run(vigil, "camera", "sensitivity", "pets-cam", "--score", "0.35", "--person-height", "40", "--as", "admin")
    assert "camera PETS-CAM: detection score 0.35, small person 40.0 px" in out
    refused = run(vigil, "camera", "sensitivity", "PETS-CAM", "--score", "0.9", "--as", "ivy", code=2)
    assert "error" in refused.lower() and "detection score" not in refused
    kept = run(vigil, "camera", "sensitivity", "PETS-CAM", "--person-height", "42", "--as", "admin")
    assert "detection score 0.35, small person 42.0 px" in kept  # ivy's 0.9 took no effect; 0.35 kept
    assert "between 0.05 and 0.95" in run(
        vigil, "camera", "sensitivity", "PETS-CAM", "--score", "2", "--as", "admin", code=2
    )
    assert "give --score" in run(vigil, "camera", "sensitivity", "PETS-CAM", "--as", "admin", code=2)
    cleared = run(vigil, "camera", "sensitivity", "PETS-CAM", "--clear", "--as", "admin")
    assert "detection score None, small person None px" in cleared


@pytest.mark.data
def test_camera_sensitivity_calibrated_from_marked_pets_frames(vigil: CliRunner, tmp_path: Path) -> None:
    pets = shared_data_dir() / "pets09-s2l1"
    if not pets.exists():
        pytest.skip("shared data not available")
    _setup(vigil)
    rows = [line.split(",") for line in (pets / "gt_mot_full_480x360.txt").read_text().splitlines()]
    marks = tmp_path / "marks.txt"
    marks.write_text("\n".join(",".join([r[0], *r[2:6]]) for r in rows if r[0] in ("1", "11", "21")))
    out = run(
        vigil, "camera", "sensitivity", "PETS-CAM", "--from-marks", str(marks), "--video", str(pets / "vtest.avi"),
        "--as", "admin",
    )  # fmt: skip
    chosen = next(line for line in out.splitlines() if "chosen" in line)
    recall = float(chosen.split("recall ")[1].split()[0])
    assert recall >= 0.8  # the marked people are found at the chosen score
    assert "camera PETS-CAM: detection score" in out
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,3\n")
    assert "marks line 1" in run(
        vigil, "camera", "sensitivity", "PETS-CAM", "--from-marks", str(bad), "--video", str(pets / "vtest.avi"),
        "--as", "admin", code=2,
    )  # fmt: skip
