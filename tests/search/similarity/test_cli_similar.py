"""`vigil similar TRACK_ID|IMAGE` and `vigil review mark` against a real data folder: output, exit codes, audit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import shared_data_dir
from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.builders import make_user
from vigil.cli import app
from vigil.db.models import AuditEntry, ReviewMark, Track
from vigil.db.session import session_scope
from vigil.settings import load_settings
from vigil.system import open_system, prepare

CASE = ("--case", "CUM-2026-000654", "--purpose", "trace the woman seen leaving the jeweller's")


@pytest.fixture
def copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[int, str]]]:
    """A data folder with two analysed recordings of the crossing scene: (track id, upper colours) of each."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-similar-secret")
    monkeypatch.delenv("VIGIL_USER", raising=False)
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    settings = load_settings()
    system = open_system(settings)
    try:
        prepare(system)
        with session_scope(system.sessions) as db:
            user = make_user(db, "ivy", trained_for=("analytics",), cases=(CASE[1],))
            make_user(db, "newbie")
            found = []
            for n in range(2):
                footage = analysed_footage(
                    db,
                    settings,
                    user=user,
                    camera_code=f"PEN-0{n + 1}",
                    start=SCENE_START + timedelta(hours=n),
                    scene_frames=60 + 4 * n,
                )
                stmt = select(Track.id, Track.upper_colours).where(Track.footage_id == footage.id).order_by(Track.id)
                found.append([(int(i), str(c)) for i, c in db.execute(stmt)])
    finally:
        system.close()
    return found


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def rows(model: type[AuditEntry] | type[ReviewMark]) -> list[object]:
    system = open_system(load_settings())
    try:
        with session_scope(system.sessions) as db:
            found: list[object] = list(db.execute(select(model)).scalars())
            db.expunge_all()
            return found
    finally:
        system.close()


def _red(tracks: list[tuple[int, str]]) -> int:
    return next(i for i, colours in tracks if "red" in colours.split(","))


def test_similar_to_a_track_ranks_the_same_figure_first(copies: list[list[tuple[int, str]]]) -> None:
    here, there = copies
    data = json.loads(run("similar", str(_red(here)), *CASE, "--as", "ivy", "--top", "5", "--json"))
    assert data["results"][0]["track"] == _red(there)
    assert _red(here) not in [r["track"] for r in data["results"]]
    scores = [r["score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)
    narrowed = json.loads(run("similar", str(_red(here)), *CASE, "--as", "ivy", "--camera", "PEN-01", "--json"))
    assert {r["camera"] for r in narrowed["results"]} <= {"PEN-01"}
    text = run("similar", str(_red(here)), *CASE, "--as", "ivy", "--top", "3")
    assert "candidate(s), most similar first" in text and f"track {_red(there):>7}" in text
    entries = [e for e in rows(AuditEntry) if isinstance(e, AuditEntry) and e.action == "search.similar"]
    assert len(entries) == 3 and all(e.case_ref == CASE[1] for e in entries)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("999999", *CASE, "--as", "ivy"), "no track 999999"),
        (("/nowhere/photo.jpg", *CASE, "--as", "ivy"), "is neither a track id nor a readable photo file"),
        (("1", "--case", "CUM-1", "--purpose", "short", "--as", "ivy"), "state the policing purpose"),
        (("1", *CASE, "--as", "newbie"), "no current training record for analytics (searching footage)"),
    ],
)
def test_similar_errors_are_one_clear_line(copies: object, args: tuple[str, ...], message: str) -> None:
    assert message in " ".join(run("similar", *args, code=2).split())


def test_a_file_that_is_not_a_photo_is_refused(copies: object, tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture")
    assert "not an image vigil can read" in " ".join(run("similar", str(notes), *CASE, "--as", "ivy", code=2).split())


def test_similar_to_a_photo_with_the_real_detector(copies: object, tmp_path: Path) -> None:
    """A person cut from real CCTV (PETS 2009) is found by the configured detector and searched with."""
    video = shared_data_dir() / "pets09-s2l1" / "vtest.avi"
    if not video.exists():
        pytest.skip(f"{video} is not available")
    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    capture.release()
    assert ok
    x, y, w, h = 161, 136, 21, 56  # person 15 in frame 1 of the ground truth
    photo = tmp_path / "person.png"
    cv2.imwrite(str(photo), frame[max(0, y - 20) : y + h + 20, max(0, x - 20) : x + w + 20])
    data = json.loads(run("similar", str(photo), *CASE, "--as", "ivy", "--json"))
    assert data["photo"]["objects"][data["photo"]["used"]]["class"] == "person"
    assert len(data["photo"]["sha256"]) == 64 and data["results"]  # every stored figure is a person


def test_review_mark_twin_of_the_web_form(copies: list[list[tuple[int, str]]]) -> None:
    track = copies[0][0][0]
    out = run("review", "mark", str(track), "confirmed", "--note", "same coat", *CASE, "--as", "ivy")
    assert f"track {track} marked confirmed for case {CASE[1]}" in out
    again = json.loads(run("review", "mark", str(track), "rejected", *CASE, "--as", "ivy", "--json"))
    assert again["verdict"] == "rejected"
    assert "verdict must be one of" in run("review", "mark", str(track), "maybe", *CASE, "--as", "ivy", code=2)
    stored = [(m.track_id, m.verdict, m.note) for m in rows(ReviewMark) if isinstance(m, ReviewMark)]
    assert stored == [(track, "confirmed", "same coat"), (track, "rejected", "")]
