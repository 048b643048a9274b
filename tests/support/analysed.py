"""Builders of analysed footage for search, review, synopsis and export tests.

:func:`analysed_footage` writes a generated scene (two figures crossing, see :mod:`tests.support.scenes`) as a real
video in the data folder and runs the real analysis job runner over it with the real attribute code and the
:class:`~tests.support.scenes.BlobDetector`, so the footage has real tracks, observations and thumbnails that match
its pixels. :func:`make_track` adds a synthetic track (with a few observations) when a test needs exact attribute
values rather than real pixels.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from tests.support.scenes import FPS, HEIGHT, WIDTH, BlobDetector, crossing_scene, write_video
from vigil.analysis.jobs import JobRunner, JobStatus
from vigil.analysis.pipeline import build_analyser, frames
from vigil.db.models import AnalysisJob, Camera, Footage, Observation, Track, User
from vigil.settings import Settings

SCENE_START = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)


def make_footage(
    db: Session,
    *,
    camera: Camera,
    user: User,
    video: Path,
    data_dir: Path,
    start: datetime = SCENE_START,
    frame_count: int = 100,
) -> Footage:
    """A footage row whose stored file is a copy of ``video`` under ``data_dir/footage``."""
    content = video.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    stored = Path("footage") / f"{digest}{video.suffix}"
    (data_dir / stored).parent.mkdir(parents=True, exist_ok=True)
    (data_dir / stored).write_bytes(content)
    footage = Footage(
        camera_id=camera.id,
        original_name=video.name,
        stored_path=str(stored),
        sha256=digest,
        size_bytes=len(content),
        container="mp4",
        codec="h264",
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        duration_s=frame_count / FPS,
        frame_count=frame_count,
        start_time=start,
        start_time_source="operator",
        ingested_by_id=user.id,
        source="test",
    )
    db.add(footage)
    db.flush()
    return footage


def analysed_footage(
    db: Session,
    settings: Settings,
    *,
    camera_code: str = "PEN-01",
    start: datetime = SCENE_START,
    user: User | None = None,
    scene_frames: int = 60,
) -> Footage:
    """Footage of the crossing scene, analysed to completion by the real job runner (two person tracks).

    Figure 0 wears a red top and blue trousers and walks right; figure 1 a yellow top and green trousers and walks
    left. The session is committed (the runner works in its own savepoint-joined sessions).
    """
    user = user or db.query(User).filter_by(username="analyst").one_or_none()
    user = user or make_user(db, "analyst", trained_for=("analytics",))
    camera = db.query(Camera).filter_by(code=camera_code).one_or_none() or make_camera(db, camera_code)
    scene = crossing_scene(scene_frames, idle_before=10, idle_after=30)
    video_dir = settings.data_dir / "scenes"
    video_dir.mkdir(parents=True, exist_ok=True)
    video = write_video(scene, video_dir / f"{camera_code}-{start:%Y%m%dT%H%M%S}.mp4")
    footage = make_footage(
        db, camera=camera, user=user, video=video, data_dir=settings.data_dir, start=start, frame_count=len(scene)
    )
    job = AnalysisJob(footage_id=footage.id, status=JobStatus.QUEUED, params="{}", created_by_id=user.id)
    db.add(job)
    db.commit()
    connection = db.connection()

    def sessions() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    runner = JobRunner(
        sessions=sessions,
        data_dir=settings.data_dir,
        make_analyser=functools.partial(build_analyser, settings, detector=BlobDetector()),
        frames=frames,
        checkpoint_seconds=60.0,
    )
    done = runner.run(job.id)
    if done.status != JobStatus.DONE:
        raise AssertionError(f"analysis of the generated scene failed: {done.error}")
    db.expire_all()
    return footage


def make_track(
    db: Session,
    footage: Footage,
    *,
    track_no: int | None = None,
    class_name: str = "person",
    offset_s: float = 0.0,
    duration_s: float = 4.0,
    upper: str = "",
    lower: str = "",
    body: str = "",
    carried: str = "",
    heading: str = "",
    speed_px_s: float = 20.0,
    height_px: float = 40.0,
    box: tuple[float, float, float, float] = (100.0, 100.0, 114.0, 140.0),
    zone_dwell: dict[str, float] | None = None,
) -> Track:
    """A synthetic stored track of ``footage`` with exact attributes and three observations along ``box``.

    The colour/carried strings are comma-separated names as the analysis stores them. The search columns
    (masks, start minute) are left to whatever the model's defaults and the search code derive.
    """
    if track_no is None:
        track_no = 1 + max((t.track_no for t in db.query(Track).filter_by(footage_id=footage.id)), default=0)
    first = footage.start_time + timedelta(seconds=offset_s)
    x0, y0, x1, y1 = box
    frame0 = round(offset_s * footage.fps)
    frames_n = max(1, round(duration_s * footage.fps))
    track = Track(
        footage_id=footage.id,
        camera_id=footage.camera_id,
        job_id=_job_of(db, footage).id,
        track_no=track_no,
        class_name=class_name,
        first_seen=first,
        last_seen=first + timedelta(seconds=duration_s),
        first_frame=frame0,
        last_frame=frame0 + frames_n,
        upper_colours=upper,
        lower_colours=lower,
        body_colours=body,
        carried=carried,
        height_px=height_px,
        speed_px_s=speed_px_s,
        heading=heading,
        dwell_s=duration_s,
        zone_dwell=json.dumps(zone_dwell or {}),
        path=json.dumps([[(x0 + x1) / 2, y1], [(x0 + x1) / 2 + 10, y1]]),
        score=0.9,
    )
    track.observations = [
        Observation(
            frame_index=frame0 + k * frames_n // 2,
            t=offset_s + k * duration_s / 2,
            x0=x0 + 5 * k,
            y0=y0,
            x1=x1 + 5 * k,
            y1=y1,
            score=0.9,
        )
        for k in range(3)
    ]
    db.add(track)
    db.flush()
    return track


def _job_of(db: Session, footage: Footage) -> AnalysisJob:
    job = db.query(AnalysisJob).filter_by(footage_id=footage.id).order_by(AnalysisJob.id.desc()).first()
    if job is None:
        job = AnalysisJob(
            footage_id=footage.id, status=JobStatus.DONE, params="{}", created_by_id=footage.ingested_by_id
        )
        db.add(job)
        db.flush()
    return job
