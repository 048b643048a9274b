"""`vigil dashboard`: summary, CSV and PNG files, local times, audit, and clear errors."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import make_settings
from tests.support.analysed import make_footage, make_track
from tests.support.builders import make_camera, make_user
from tests.support.scenes import crossing_scene, write_video
from vigil.cli import app
from vigil.db.models import AuditEntry
from vigil.db.session import session_scope
from vigil.system import open_system, prepare

CONTEXT = ("--case", "CUM-2026-000777", "--purpose", "plan patrols around the evening footfall peak")
START = datetime(2026, 10, 24, 16, 0, tzinfo=UTC)  # Saturday 17:00 BST; the clocks go back on Sunday 25 October


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with ana (trained), ned (untrained), camera PEN-01, its footage and four tracks."""
    folder = tmp_path / "data"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(folder))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    system = open_system(make_settings(folder))
    try:
        prepare(system)
        with session_scope(system.sessions) as db:
            _seed(db, tmp_path, folder)
    finally:
        system.close()
    return folder


def _seed(db: Session, tmp_path: Path, folder: Path) -> None:
    ana = make_user(db, "ana", trained_for=("analytics",), cases=(CONTEXT[1],))
    make_user(db, "ned")
    camera = make_camera(db, "PEN-01")
    video = write_video(crossing_scene(10), tmp_path / "scene.mp4")
    footage = make_footage(db, camera=camera, user=ana, video=video, data_dir=folder, start=START)
    for minutes, kind in ((5, "person"), (10, "person"), (30, "car"), (25 * 60, "person")):  # the last: 17:05 GMT
        make_track(db, footage, class_name=kind, offset_s=minutes * 60.0)


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stdout if "--json" in args else result.output


def test_the_dashboard_writes_csv_and_pictures_and_is_audited(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    printed = run(
        "dashboard", "PEN-01", "--from", "2026-10-24T00:00", "--to", "2026-10-26T00:00", *CONTEXT,
        "--csv-dir", str(out / "csv"), "--png-dir", str(out / "png"), "--as", "ana", "--json",
    )  # fmt: skip
    summary = json.loads(printed)
    assert summary["from"] == "2026-10-23T23:00:00+00:00" and summary["to"] == "2026-10-26T00:00:00+00:00"
    assert (summary["tracks"], summary["by_class"], summary["bucket"]) == (4, {"person": 3, "car": 1}, "hour")
    assert summary["busiest_hour"] == {"day": "Sat", "hour": 17, "tracks": 3}
    csv_files = [f"{name}.csv" for name in ("counts", "paths", "dwell", "busiest")]
    png_files = ["counts.png", "busiest.png", "paths-PEN-01.png", "dwell-PEN-01.png"]
    assert sorted(Path(p).name for p in summary["files"]) == sorted([*csv_files, *png_files])
    with (out / "csv" / "busiest.csv").open() as handle:
        busiest = {(r["day"], r["hour"]): int(r["tracks"]) for r in csv.DictReader(handle) if r["tracks"] != "0"}
    assert busiest == {("Sat", "17"): 3, ("Sun", "17"): 1}
    for picture in (out / "png").iterdir():
        image = cv2.imdecode(np.frombuffer(picture.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.std() > 20, picture.name
    system = open_system(make_settings(data_dir))
    try:
        with session_scope(system.sessions) as db:
            actions = [e.action for e in db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    finally:
        system.close()
    assert actions[-2:] == ["dashboard.view", "dashboard.export"]


def test_the_plain_summary_names_the_busiest_hour(data_dir: Path) -> None:
    printed = run(
        "dashboard", "PEN-01", "--from", "2026-10-24T16:00Z", "--to", "2026-10-24T18:00Z", *CONTEXT, "--as", "ana"
    )
    assert "3 tracks (2 person, 1 car)" in printed and "busiest hour: Sat 17:00 (3 tracks)" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("NOPE-1", "--from", "2026-10-24T00:00", "--to", "2026-10-25T00:00", *CONTEXT, "--as", "ana"), "no camera"),
        (("PEN-01", "--from", "soon", "--to", "2026-10-25T00:00", *CONTEXT, "--as", "ana"), "--from: 'soon'"),
        (("PEN-01", "--from", "2026-10-25T00:00", "--to", "2026-10-24T00:00", *CONTEXT, "--as", "ana"), "after"),
        (("PEN-01", "--from", "2026-10-24T00:00", "--to", "2026-10-25T00:00", "--as", "ana"), "case reference"),
        (("PEN-01", "--from", "2026-10-24T00:00", "--to", "2026-10-25T00:00", *CONTEXT, "--as", "ned"), "training"),
    ],
)
def test_errors_are_one_clear_line(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    assert message in run("dashboard", *args, code=2)
