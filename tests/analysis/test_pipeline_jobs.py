"""The pipeline under the real job runner: a crash mid-analysis and a rerun store the same tracks, once."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from tests.support.scenes import FPS, HEIGHT, WIDTH, BlobDetector, crossing_scene, write_video
from vigil.analysis.jobs import JobRunner, JobStatus
from vigil.analysis.pipeline import build_analyser, frames
from vigil.analysis.store import export_mot, tracks_of
from vigil.db.models import AnalysisJob, Footage, User
from vigil.domain.detections import Frame
from vigil.settings import Settings


def _job(db: Session, data_dir: Path, video: Path, name: str) -> AnalysisJob:
    user = db.query(User).first() or make_user(db, "analyst", trained_for=("analytics",))
    camera = make_camera(db, f"CAM-{name}")
    stored = Path("footage") / f"{name}.mp4"
    (data_dir / stored).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(video, data_dir / stored)
    footage = Footage(
        camera_id=camera.id,
        original_name=f"{name}.mp4",
        stored_path=str(stored),
        sha256=name[0] * 64,
        size_bytes=1,
        container="mp4",
        codec="h264",
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        duration_s=10.0,
        frame_count=100,
        start_time=datetime(2024, 5, 1, 14, 0, tzinfo=UTC),
        start_time_source="operator",
        ingested_by_id=user.id,
        source="test",
    )
    db.add(footage)
    db.flush()
    job = AnalysisJob(footage_id=footage.id, status=JobStatus.QUEUED, params="{}", created_by_id=user.id)
    db.add(job)
    db.commit()
    return job


class Crash(RuntimeError):
    pass


def _crashing(after: int) -> functools.partial[Iterator[Frame]]:
    def source(path: Path, start: int, *, fail_after: int) -> Iterator[Frame]:
        for count, frame in enumerate(frames(path, start)):
            if count == fail_after:
                raise Crash(f"power cut after {fail_after} frames")
            yield frame

    return functools.partial(source, fail_after=after)


def _runner(db: Session, settings: Settings, source: object) -> JobRunner:
    connection = db.connection()

    def sessions() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    return JobRunner(
        sessions=sessions,
        data_dir=settings.data_dir,
        make_analyser=functools.partial(build_analyser, settings, detector=BlobDetector()),
        frames=source,  # type: ignore[arg-type]
        checkpoint_seconds=0.0,  # a checkpoint after every frame: the crash can land anywhere
    )


@pytest.mark.parametrize("crash_after", [37, 61])
def test_a_crashed_job_resumes_to_the_tracks_of_an_uninterrupted_run(
    db: Session, settings: Settings, tmp_path: Path, crash_after: int
) -> None:
    video = write_video(crossing_scene(60, idle_before=10, idle_after=30), tmp_path / "scene.mp4")
    clean = _job(db, settings.data_dir, video, "a-clean")
    _runner(db, settings, frames).run(clean.id)

    crashed = _job(db, settings.data_dir, video, "b-crashed")
    with pytest.raises(Crash):
        _runner(db, settings, _crashing(crash_after)).run(crashed.id)
    db.expire_all()
    failed = db.get(AnalysisJob, crashed.id)
    assert failed is not None and failed.status == JobStatus.FAILED and failed.checkpoint_frame == crash_after
    done = _runner(db, settings, frames).run(crashed.id)
    assert done.status == JobStatus.DONE

    db.expire_all()
    expected = tracks_of(db, clean.footage_id)
    stored = tracks_of(db, crashed.footage_id)
    assert len(expected) == 2
    assert [t.track_no for t in stored] == [1, 2], "no duplicates, numbered as in one run"
    assert export_mot(stored) == export_mot(expected)
    for a, b in zip(stored, expected, strict=True):
        assert (a.class_name, a.upper_colours, a.heading, a.path, a.speed_px_s, a.dwell_s) == (
            b.class_name,
            b.upper_colours,
            b.heading,
            b.path,
            b.speed_px_s,
            b.dwell_s,
        )
    job = db.get(AnalysisJob, crashed.id)
    assert job is not None and job.tracks_written == 2


def test_the_camera_zones_reach_the_stored_tracks(db: Session, settings: Settings, tmp_path: Path) -> None:
    video = write_video(crossing_scene(60), tmp_path / "scene.mp4")
    job = _job(db, settings.data_dir, video, "zoned")
    everywhere = [[-1, -1], [WIDTH + 1, -1], [WIDTH + 1, HEIGHT + 1], [-1, HEIGHT + 1]]
    job.footage.camera.zones = json.dumps([{"name": "everywhere", "polygon": everywhere}])
    db.commit()
    _runner(db, settings, frames).run(job.id)
    db.expire_all()
    stored = tracks_of(db, job.footage_id)
    assert stored
    for track in stored:
        assert json.loads(track.zone_dwell)["everywhere"] == pytest.approx(track.dwell_s, abs=0.01)


def test_the_camera_sensitivity_reaches_a_fresh_job_and_stays_with_it(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    video = write_video(crossing_scene(30), tmp_path / "scene.mp4")
    job = _job(db, settings.data_dir, video, "tuned")
    job.footage.camera.detect_score, job.footage.camera.person_height_px = 0.62, 30.0
    job.params = json.dumps({"score_threshold": 0.5})  # the job's own choice wins over the camera's
    db.commit()
    _runner(db, settings, frames).run(job.id)
    db.expire_all()
    job.footage.camera.detect_score = 0.2  # changed later: the finished job keeps what it ran with
    db.commit()
    assert json.loads(db.get(AnalysisJob, job.id).params) == {"score_threshold": 0.5, "person_height_px": 30.0}
