from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from tests.conftest import shared_data_dir
from tests.faces.builders import FR, KNN_TRAIN, PURPOSE, face_video, hopper, side_by_side
from vigil.cli import app

CASE = ("--case", "CUM-2024-0042", "--purpose", PURPOSE)


@pytest.fixture
def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    for name in ("VIGIL_USER", "VIGIL_DATABASE_URL", "VIGIL_CASE", "VIGIL_PURPOSE"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stdout if "--json" in args else result.output


def supervisor(runner: CliRunner) -> None:
    """A supervisor 'sue' trained for live and retrospective FR and analytics, and one camera."""
    run(runner, "db", "upgrade")
    run(runner, "user", "add", "sue", "--role", "supervisor", "--name", "Sue Sup", "--as", "admin")
    run(runner, "user", "add", "tess", "--role", "supervisor", "--name", "Tess Trainer", "--as", "admin")
    today = date.today()
    for capability in ("live_fr", "retrospective_fr", "analytics"):
        run(
            runner,
            "training",
            "add",
            "sue",
            "--capability",
            capability,
            "--course",
            f"{capability} 1",
            "--completed",
            str(today - timedelta(days=1)),
            "--expires",
            str(today + timedelta(days=365)),
            "--as",
            "tess",
        )
    run(runner, "location", "add", "Market Square", "--lat", "54.664", "--lon", "-2.752", "--as", "admin")
    run(runner, "camera", "add", "pen-01", "--location", "Market Square", "--as", "admin")
    run(runner, "case", "open", CASE[1], "--title", "Robbery at Market Square", "--as", "sue")


def add_subject(runner: CliRunner, reference: str) -> None:
    expires = str(date.today() + timedelta(days=30))
    reason = ("--reason", "Wanted on warrant for robbery", "--authority", "Warrant 2024/17")
    run(runner, "fr", "subject", "add", reference, "--category", "wanted", *reason, "--expires", expires, "--as", "sue")


def test_watchlist_enrol_identify_and_retrospective_search(vigil: CliRunner, tmp_path: Path) -> None:
    supervisor(vigil)
    portrait, pair = tmp_path / "hopper.png", tmp_path / "pair.png"
    cv2.imwrite(str(portrait), hopper())
    cv2.imwrite(str(pair), side_by_side(hopper(), hopper()))
    add_subject(vigil, "WAR-1")
    assert "created" in run(vigil, "fr", "watchlist", "create", "Station 1 May", "--as", "sue")
    assert "2 faces found" in run(
        vigil, "fr", "enrol", "Station 1 May", "--subject", "WAR-1", str(pair), "--as", "sue", code=2
    )
    enrolled = json.loads(
        run(vigil, "fr", "enrol", "Station 1 May", "--subject", "WAR-1", str(portrait), "--as", "sue", "--json")
    )
    assert enrolled == {"watchlist": "Station 1 May", "subject": "WAR-1", "added": 1, "images": 1}

    assert "case reference is required" in run(
        vigil, "fr", "identify", "Station 1 May", str(pair), "--as", "sue", code=2
    )
    results = json.loads(run(vigil, "fr", "identify", "Station 1 May", str(pair), *CASE, "--as", "sue", "--json"))
    assert [len(face["matches"]) for face in results[0]["faces"]] == [1, 1]
    assert all(
        face["matches"][0]["subject"] == "WAR-1" and face["matches"][0]["score"] > 0.9 for face in results[0]["faces"]
    )

    run(vigil, "fr", "watchlist", "freeze", "Station 1 May", "--as", "sue")
    (listed,) = json.loads(run(vigil, "fr", "watchlist", "list", "--as", "sue", "--json"))
    assert listed["subjects"] == ["WAR-1"] and listed["images"] == 1 and listed["frozen_at"] is not None
    add_subject(vigil, "WAR-2")
    subjects = json.loads(run(vigil, "fr", "subject", "list", "--as", "sue", "--json"))
    assert [(x["reference"], x["enrolled"]) for x in subjects] == [("WAR-1", 1), ("WAR-2", 0)]
    assert "frozen" in run(
        vigil, "fr", "enrol", "Station 1 May", "--subject", "WAR-2", str(portrait), "--as", "sue", code=2
    )

    clip = face_video(tmp_path / "clip.mp4", hopper(), visible=(3.0, 5.0))
    assert "holds no footage" in run(vigil, "fr", "retro", "index", *CASE, "--as", "sue", code=2)
    added = json.loads(
        run(vigil, "footage", "add", str(clip), "--camera", "PEN-01", "--case", CASE[1], "--as", "sue", "--json")
    )
    indexed = json.loads(run(vigil, "fr", "retro", "index", *CASE, "--as", "sue", "--json"))
    assert indexed[0]["footage_id"] == added["id"] and indexed[0]["faces_indexed"] >= 3
    found = json.loads(run(vigil, "fr", "retro", "search", str(portrait), *CASE, "--as", "sue", "--json"))
    best = found["candidates"][0]
    assert best["footage"] == added["id"] and 3.0 <= best["t"] < 5.0 and best["camera"] == "PEN-01"
    assert (
        best["link"] == f"/footage/{added['id']}/video?t={best['t']:.2f}" and "not an identification" in found["notice"]
    )
    assert "confirmed" in run(
        vigil, "fr", "retro", "decide", str(best["id"]), "--verdict", "confirmed", *CASE, "--as", "sue"
    )
    assert "intact" in run(vigil, "audit", "verify")


@pytest.mark.data
def test_identify_and_calibrate_on_the_shared_faces(vigil: CliRunner) -> None:
    data = shared_data_dir()
    if not (data / KNN_TRAIN).is_dir():
        pytest.skip(f"shared data absent: {data}")
    supervisor(vigil)
    run(vigil, "fr", "watchlist", "create", "Test list", "--as", "sue")
    for reference, image in (("OBAMA-1", f"{FR}obama.jpg"), ("BIDEN-1", f"{FR}biden.jpg")):
        add_subject(vigil, reference)
        run(vigil, "fr", "enrol", "Test list", "--subject", reference, str(data / image), "--as", "sue")
    probes = [str(data / f"{FR}knn_examples/test/obama1.jpg"), str(data / f"{KNN_TRAIN}/biden/biden2.jpg")]
    results = json.loads(run(vigil, "fr", "identify", "Test list", *probes, *CASE, "--as", "sue", "--json"))
    assert [r["faces"][0]["matches"][0]["subject"] for r in results] == ["OBAMA-1", "BIDEN-1"]

    calibration = json.loads(run(vigil, "fr", "calibrate", str(data / KNN_TRAIN), "--as", "sue", "--json"))
    assert calibration["photos"] == 9 and calibration["identities"] == 5 and Path(calibration["path"]).is_file()
    table = run(vigil, "fr", "calibrate", "--mated", str(data / KNN_TRAIN), "--as", "sue")
    assert "N=10,000" in table and "TPIR" in table


def test_enrol_lists_the_faces_of_a_group_photo_then_enrols_the_one_chosen(vigil: CliRunner, tmp_path: Path) -> None:
    supervisor(vigil)
    pair, tiny = tmp_path / "pair.png", tmp_path / "tiny.png"
    cv2.imwrite(str(pair), side_by_side(hopper(), hopper()))
    cv2.imwrite(str(tiny), cv2.resize(hopper(), None, fx=0.32, fy=0.32, interpolation=cv2.INTER_AREA))
    add_subject(vigil, "WAR-2")
    run(vigil, "fr", "watchlist", "create", "Station 2 May", "--as", "sue")
    enrol = ("fr", "enrol", "Station 2 May", "--subject", "WAR-2")
    listed = run(vigil, *enrol, str(pair), "--as", "sue", code=2)
    assert "choose one with --face N" in listed and "2 faces found; choose one" in listed
    assert "face 1: box" in listed and "face 2: box" in listed and "quality" in listed
    assert "there is no face 3" in run(vigil, *enrol, str(pair), "--face", "3", "--as", "sue", code=2)
    chosen = json.loads(run(vigil, *enrol, str(pair), "--face", "2", "--as", "sue", "--json"))
    assert chosen["added"] == 1

    refused = run(vigil, *enrol, str(tiny), "--as", "sue", code=2)
    assert "too poor to enrol: eye distance 27 px; limit at least 30 px to enrol" in " ".join(refused.split())
    reason = ("--override-reason", "The only photo held of the suspect")
    assert json.loads(run(vigil, *enrol, str(tiny), *reason, "--as", "sue", "--json"))["added"] == 1
    subjects = json.loads(run(vigil, "fr", "subject", "list", "--as", "sue", "--json"))
    assert [s["enrolled"] for s in subjects if s["reference"] == "WAR-2"] == [2]
