"""`vigil synopsis` on a real data folder: footage analysed at two times, rendered to a file the user names."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import make_settings
from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.builders import make_user
from vigil.cli import app
from vigil.db.migrate import upgrade
from vigil.db.models import AuditEntry, Track
from vigil.db.session import make_engine

CASE = ("--case", "CUM-2026-000417", "--purpose", "identify the man in the red top seen near the market")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with camera PEN-01's crossing scene analysed at 14:00 and 14:30 UTC, and user ivy."""
    folder = tmp_path / "data"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(folder))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    monkeypatch.delenv("VIGIL_TIMEZONE", raising=False)
    settings = make_settings(folder)
    engine = make_engine(settings)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as db:
        analysed_footage(db, settings, start=SCENE_START)
        analysed_footage(db, settings, start=SCENE_START + timedelta(minutes=30), scene_frames=70)
        make_user(db, "ivy", trained_for=("analytics",), cases=(CASE[1],))
        db.commit()
    engine.dispose()
    return folder


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_synopsis_writes_the_video_and_its_click_map(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    # 15:00 to 16:00 Europe/London (summer time) is 14:00 to 15:00 UTC: both takes
    text = invoke(
        "synopsis",
        "PEN-01",
        "--from",
        "2024-05-01T15:00",
        "--to",
        "2024-05-01T16:00",
        "-o",
        str(out),
        *CASE,
        "--as",
        "ivy",
    )
    assert text.startswith(f"wrote {out}: 4 tracks in ") and "rendered in" in text
    click_map = json.loads(out.with_suffix(".json").read_text())
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == click_map["frames"] > 0 and len(click_map["tracks"]) == 4
    again = json.loads(
        invoke(
            "synopsis",
            "PEN-01",
            "--from",
            "2024-05-01T14:00Z",
            "--to",
            "2024-05-01T15:00Z",
            "-o",
            str(out),
            *CASE,
            "--as",
            "ivy",
            "--json",
        )
    )
    assert again["reused"] is True and again["tracks"] == 4 and again["frames"] == frames
    engine = make_engine(make_settings(data_dir))
    with Session(engine) as db:
        entries = db.execute(select(AuditEntry).where(AuditEntry.action == "synopsis.render")).scalars().all()
        red = [t.id for t in db.execute(select(Track).where(Track.upper_colours.contains("red"))).scalars()]
    engine.dispose()
    assert [(e.actor, e.case_ref) for e in entries] == [("ivy", "CUM-2026-000417")] * 2
    only_red = invoke(
        "synopsis",
        "PEN-01",
        "--from",
        "2024-05-01T15:00",
        "--to",
        "2024-05-01T16:00",
        "-o",
        str(tmp_path / "red.mp4"),
        "--tracks",
        ",".join(map(str, red)),
        *CASE,
        "--as",
        "ivy",
    )
    assert "2 tracks" in only_red


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("PEN-01", "--from", "yesterday", "--to", "2024-05-01T16:00"), "--from: 'yesterday' is not a date/time"),
        (("PEN-01", "--from", "2024-05-01T15:00", "--to", "2024-13-01"), "--to: '2024-13-01' is not a date/time"),
        (("PEN-01", "--from", "2024-05-01T16:00", "--to", "2024-05-01T15:00"), "end of the range must be after"),
        (("NOPE-9", "--from", "2024-05-01T15:00", "--to", "2024-05-01T16:00"), "no camera 'NOPE-9'"),
        (("PEN-01", "--from", "2024-05-02T15:00", "--to", "2024-05-02T16:00"), "nothing to show"),
        (("PEN-01", "--from", "2024-05-01T15:00", "--to", "2024-05-01T16:00", "--tracks", "1,x"), "not a list"),
        (("PEN-01", "--from", "2024-05-01T15:00", "--to", "2024-05-01T16:00", "--tracks", "999"), "nothing to show"),
    ],
)
def test_bad_requests_fail_with_one_clear_line(
    data_dir: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out.mp4"
    text = invoke("synopsis", *args, "-o", str(out), *CASE, "--as", "ivy", code=2)
    assert text.startswith("error: ") and message in " ".join(text.split())
    assert not out.exists()


def test_a_case_and_purpose_and_a_user_are_required(data_dir: Path, tmp_path: Path) -> None:
    base = (
        "synopsis",
        "PEN-01",
        "--from",
        "2024-05-01T15:00",
        "--to",
        "2024-05-01T16:00",
        "-o",
        str(tmp_path / "o.mp4"),
    )
    assert "a case reference is required" in invoke(*base, "--as", "ivy", code=2)
    assert "say which vigil user you act as" in invoke(*base, *CASE, code=2)
