from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import cli_environment, run

AUDIT_REVIEW = ("--case", "AUD-2026-001", "--purpose", "Quarterly audit of system use")


@pytest.fixture
def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    cli_environment(tmp_path, monkeypatch)
    return CliRunner()


def test_config_check_names_the_bad_field(vigil: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "configuration is valid" in run(vigil, "config", "check")
    monkeypatch.setenv("VIGIL_RETENTION__FOOTAGE_DAYS", "-3")
    assert "VIGIL_RETENTION__FOOTAGE_DAYS" in run(vigil, "config", "check", code=2)


def test_config_show_masks_secrets(vigil: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_DATABASE_URL", "postgresql+psycopg://vigil:hunter2@127.0.0.1/vigil")
    shown = json.loads(run(vigil, "config", "show"))
    assert "hunter2" not in json.dumps(shown) and "cli-test-secret" not in json.dumps(shown)
    assert shown["database_url"] == "postgresql+psycopg://vigil:********@127.0.0.1/vigil"


def test_admin_workflow_through_the_cli(vigil: CliRunner) -> None:
    first = run(vigil, "db", "upgrade")
    assert "one-time password" in first
    assert "one-time password" not in run(vigil, "db", "upgrade"), "the first admin is created only once"
    added = json.loads(
        run(vigil, "user", "add", "ivy", "--role", "investigator", "--name", "Ivy Inv", "--as", "admin", "--json")
    )
    assert added["username"] == "ivy" and len(added["one_time_password"]) >= 12
    run(
        vigil, "user", "add", "tess", "--role", "supervisor", "--name", "Tess Trainer", "--as", "admin"
    )  # training is recorded by someone other than the account's creator
    today = date.today()
    run(
        vigil,
        "training",
        "add",
        "ivy",
        "--capability",
        "analytics",
        "--course",
        "Video analytics 1",
        "--completed",
        str(today - timedelta(days=1)),
        "--expires",
        str(today + timedelta(days=365)),
        "--as",
        "tess",
    )
    run(vigil, "location", "add", "Market Square", "--lat", "54.664", "--lon", "-2.752", "--as", "admin")
    run(vigil, "camera", "add", "pen-01", "--location", "Market Square", "--as", "admin")
    lacking = json.loads(run(vigil, "camera", "list", "--lacking-pia", "--as", "ivy", "--json"))
    assert [c["code"] for c in lacking] == ["PEN-01"]
    run(
        vigil,
        "location",
        "pia",
        "Market Square",
        "--reference",
        "PIA-7",
        "--purposes",
        "crime prevention",
        "--approved",
        str(today - timedelta(days=10)),
        "--review",
        str(today + timedelta(days=300)),
        "--approved-by",
        "Supt Smith",
        "--as",
        "admin",
    )
    assert json.loads(run(vigil, "camera", "list", "--lacking-pia", "--as", "ivy", "--json")) == []
    users = json.loads(run(vigil, "user", "list", "--as", "admin", "--json"))
    assert {u["username"]: u["training"] for u in users}["ivy"] == ["analytics"]
    assert "intact" in run(vigil, "audit", "verify")
    actions = [
        e["action"]
        for e in json.loads(run(vigil, "audit", "export", "--format", "json", *AUDIT_REVIEW, "--as", "admin"))
    ]
    for expected in ("user.bootstrap", "user.create", "training.add", "location.add", "camera.add", "pia.add"):
        assert expected in actions


def test_refusals_are_clear_and_audited(vigil: CliRunner) -> None:
    run(vigil, "db", "upgrade")
    assert "--as USER" in run(vigil, "user", "list", code=2)
    assert "no user named 'ghost'" in run(vigil, "user", "list", "--as", "ghost", code=2)
    run(vigil, "user", "add", "ivy", "--role", "investigator", "--name", "Ivy", "--as", "admin")
    run(vigil, "user", "add", "tess", "--role", "supervisor", "--name", "Tess Trainer", "--as", "admin")
    assert "may not manage users" in run(
        vigil, "user", "add", "eve", "--role", "admin", "--name", "Eve", "--as", "ivy", code=2
    )
    assert "not a date" in run(
        vigil,
        "training",
        "add",
        "ivy",
        "--capability",
        "analytics",
        "--course",
        "x",
        "--completed",
        "yesterday",
        "--expires",
        "2030-01-01",
        "--as",
        "tess",
        code=2,
    )
    refused = json.loads(run(vigil, "audit", "export", "--format", "json", *AUDIT_REVIEW, "--as", "admin"))
    assert any(e["actor"] == "ivy" and e["outcome"] == "refused" for e in refused)


def test_retention_dry_run_reports_per_class(vigil: CliRunner) -> None:
    run(vigil, "db", "upgrade")
    report = json.loads(run(vigil, "retention", "run", "--dry-run", "--as", "admin", "--json"))
    assert report["dry_run"] is True
    assert {r["data_class"] for r in report["results"]} == {
        "footage",
        "api_tokens",
        "login_sessions",
        "live_fr_alerts",
        "evidence_exports",
        "fr_retro_searches",
        "live_rule_alerts",
    }


def test_footage_add_list_verify_and_refusals(vigil: CliRunner, tmp_path: Path) -> None:
    from tests.footage.builders import make_video, truncate

    video = make_video(tmp_path / "clip.avi")
    run(vigil, "db", "upgrade")
    run(vigil, "user", "add", "ivy", "--role", "investigator", "--name", "Ivy", "--as", "admin")
    run(vigil, "user", "add", "tess", "--role", "supervisor", "--name", "Tess Trainer", "--as", "admin")
    run(vigil, "location", "add", "Market Square", "--as", "admin")
    run(vigil, "camera", "add", "PEN-01", "--location", "Market Square", "--as", "admin")
    assert "no current training" in run(
        vigil, "footage", "add", str(video), "--camera", "PEN-01", "--as", "ivy", code=2
    )
    today = date.today()
    run(
        vigil,
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
    )
    added = json.loads(
        run(
            vigil,
            "footage",
            "add",
            str(video),
            "--camera",
            "PEN-01",
            "--start",
            "2024-05-01T14:00:00Z",
            "--as",
            "ivy",
            "--json",
        )
    )
    assert added["start_time"] == "2024-05-01T14:00:00+00:00" and added["duplicate"] is False
    again = json.loads(run(vigil, "footage", "add", str(video), "--camera", "PEN-01", "--as", "ivy", "--json"))
    assert again["id"] == added["id"] and again["duplicate"] is True
    assert [f["id"] for f in json.loads(run(vigil, "footage", "list", "--as", "ivy", "--json"))] == [added["id"]]
    assert "matches" in run(vigil, "footage", "verify", str(added["id"]), "--as", "ivy")
    broken = truncate(video, tmp_path / "broken.avi", 0.4)
    assert "truncated" in run(vigil, "footage", "add", str(broken), "--camera", "PEN-01", "--as", "ivy", code=2)
    assert "no camera with code" in run(vigil, "footage", "add", str(video), "--camera", "X9", "--as", "ivy", code=2)
    assert len(json.loads(run(vigil, "footage", "list", "--as", "ivy", "--json"))) == 1


def test_footage_add_refuses_a_damaged_avi_a_zip_and_an_absurd_start(vigil: CliRunner, tmp_path: Path) -> None:
    """F12: neither file is read as a bare H.264 stream at an assumed 25 frames/s; nothing is stored."""
    from tests.footage.builders import damaged_header_avi, make_video, zipped_video

    run(vigil, "db", "upgrade")
    run(vigil, "user", "add", "ivy", "--role", "investigator", "--name", "Ivy", "--as", "admin")
    run(vigil, "user", "add", "tess", "--role", "supervisor", "--name", "Tess Trainer", "--as", "admin")
    run(vigil, "location", "add", "Market Square", "--as", "admin")
    run(vigil, "camera", "add", "PEN-01", "--location", "Market Square", "--as", "admin")
    today = date.today()
    expires = str(today + timedelta(days=30))
    run(vigil, "training", "add", "ivy", "--capability", "analytics", "--course", "VA", "--completed", str(today),
        "--expires", expires, "--as", "tess")  # fmt: skip
    add = ("--camera", "PEN-01", "--as", "ivy")
    damaged = damaged_header_avi(tmp_path / "cam1.avi")
    assert "no video container" in run(vigil, "footage", "add", str(damaged), *add, code=2)
    archive = zipped_video(tmp_path / "export.zip")
    assert "is a ZIP archive, not a video" in run(vigil, "footage", "add", str(archive), *add, code=2)
    video = make_video(tmp_path / "clip.avi")
    assert "before 1990" in run(vigil, "footage", "add", str(video), *add, "--start", "0001-01-01T00:00:00Z", code=2)
    assert json.loads(run(vigil, "footage", "list", "--as", "ivy", "--json")) == []
    assert not any(path.is_file() for path in (tmp_path / "data" / "footage").rglob("*"))


def test_camera_calibration_and_zones_through_the_cli(vigil: CliRunner) -> None:
    run(vigil, "db", "upgrade")
    run(vigil, "location", "add", "Market Square", "--as", "admin")
    run(vigil, "camera", "add", "PEN-01", "--location", "Market Square", "--as", "admin")
    scale = "0.02,0,0,0,0.02,0,0,0,1"
    calibrate = ("camera", "calibrate", "PEN-01", "--as", "admin")
    assert "calibrated camera PEN-01" in run(vigil, *calibrate, "--homography", scale, "--principal-point", "320,240")
    assert "9 comma-separated" in run(vigil, *calibrate, "--homography", "1,2,3", "--principal-point", "0,0", code=2)
    assert "--principal-point" in run(vigil, *calibrate, "--homography", scale, "--principal-point", "a,b", code=2)
    assert "invertible" in run(
        vigil, *calibrate, "--homography", "0,0,0,0,0,0,0,0,0", "--principal-point", "0,0", code=2
    )
    zone = ("camera", "zone", "PEN-01", "--as", "admin")
    run(vigil, *zone, "--name", "door", "--polygon", "0,0 10,0 10,10")
    assert "door, till" in run(vigil, *zone, "--name", "till", "--polygon", "0,0 5,0 5,5 0,5")
    assert "door, till" in run(vigil, *zone, "--name", "door", "--polygon", "1,1 9,1 9,9")
    assert "at least 3 points" in run(vigil, *zone, "--name", "bad", "--polygon", "0,0 1,1", code=2)
    assert "--polygon point" in run(vigil, *zone, "--name", "bad", "--polygon", "0,0 1 2,2", code=2)


def test_audit_export_needs_a_case_and_purpose_and_records_them(vigil: CliRunner) -> None:
    run(vigil, "db", "upgrade")
    assert "case reference is required" in run(vigil, "audit", "export", "--as", "admin", code=2)
    exported = json.loads(run(vigil, "audit", "export", "--format", "json", *AUDIT_REVIEW, "--as", "admin"))
    assert exported, "the bootstrap entries at least"
    again = json.loads(
        run(
            vigil,
            "audit",
            "export",
            "--format",
            "json",
            "--filter-case",
            "AUD-2026-001",
            *AUDIT_REVIEW,
            "--as",
            "admin",
        )
    )
    assert [(e["action"], e["case_ref"], e["purpose"]) for e in again if e["action"] == "audit.export"] == [
        ("audit.export", "AUD-2026-001", "Quarterly audit of system use")
    ]
