from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from tests.support.analysis_store import footage_with_job
from vigil.analysis.store import export_csv, export_json, export_mot, store_tracks, tracks_of
from vigil.domain.tracks import FinishedTrack, TrackObservations, TrackSummary


def _track(no: int, frames: list[int], x: list[float]) -> FinishedTrack:
    n = len(frames)
    xyxy = np.array([[v, 100, v + 20, 150] for v in x], dtype=np.float32)
    obs = TrackObservations(
        np.array(frames, dtype=np.int64),
        np.array(frames, dtype=np.float64) / 10,
        xyxy,
        np.full(n, 0.9, dtype=np.float32),
    )
    thumb = np.full((50, 20, 3), 200, dtype=np.uint8)
    summary = TrackSummary(
        class_name="person",
        upper_colours=("red",),
        lower_colours=("blue", "black"),
        carried=("backpack",),
        heading="right",
        path=((0.0, 10.0, 150.0), (0.4, 50.0, 150.0)),
        appearance=np.ones(8, dtype=np.float32),
        thumbnail=thumb,
        score=0.9,
    )
    return FinishedTrack(no, obs, summary)


def test_tracks_round_trip_and_export_every_frame_in_mot(db: Session, tmp_path: Path) -> None:
    footage, job = footage_with_job(db)
    written = store_tracks(
        db,
        footage=footage,
        job_id=job.id,
        data_dir=tmp_path,
        tracks=[_track(1, [0, 4], [10.0, 50.0]), _track(2, [2, 3], [200.0, 210.0])],
    )
    assert written == 2
    tracks = tracks_of(db, footage.id)
    assert [t.track_no for t in tracks] == [1, 2]
    assert tracks[0].first_seen == datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    assert (tmp_path / str(tracks[0].thumbnail_path)).exists()
    mot = [line.split(",") for line in export_mot(tracks).splitlines()]
    frames_of_1 = [(int(r[0]), float(r[2])) for r in mot if r[1] == "1"]
    assert frames_of_1 == [(1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0), (5, 50.0)], "frames from 1, interpolated"
    assert all(r[7:] == ["-1", "-1", "-1"] and float(r[4]) == 20.0 for r in mot)
    assert [int(r[0]) for r in mot] == sorted(int(r[0]) for r in mot)
    rows = json.loads(export_json(tracks))
    assert rows[0]["upper_colours"] == ["red"] and rows[0]["lower_colours"] == ["blue", "black"]
    assert len(rows[1]["observations"]) == 2
    csv_lines = export_csv(tracks).splitlines()
    assert csv_lines[0].startswith("track_no,class") and "blue black" in csv_lines[1]
