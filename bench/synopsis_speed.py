"""Video synopsis render time for one hour of PETS-like activity.

PETS 2009 S2.L1 ``vtest.avi`` (795 frames, 480x360, 10 fps; University of Reading) is analysed once by the real job
runner (bundled CenterNet). One hour of activity is then simulated: 45 footage rows of the same stored file
recorded one after another (79.5 s apart, so 45 x 79.5 s = 59.6 min), each with a copy of the analysed tracks and
observations. ``render_synopsis`` renders the hour on a fresh data folder (no reuse) and the figures are:

* the synopsis length for the hour (target: at most 2 minutes) and the collisions the plan could not avoid;
* render wall time, and render time per hour of footage;
* the phases (plan, background, cut-outs, compose + encode), timed by calling the render modules directly;
* the decode-only baseline: PyAV decoding (and BGR conversion) of the frames the render had to read. The copies
  share one file, so the render reads it once; an hour of 45 distinct files would read 45 times as many frames,
  which the "decode x45" row estimates.

Usage: ``.venv/bin/python bench/synopsis_speed.py [--copies 45] [--analysis-db /tmp/pets-analysed.db]``
(figures go to BENCHMARKS.md by hand).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import peak_rss_mb, pets, table

from vigil.analysis.jobs import JobRunner, JobStatus
from vigil.analysis.pipeline import build_analyser, frames
from vigil.db.base import utcnow
from vigil.db.migrate import upgrade
from vigil.db.models import AnalysisJob, Camera, Footage, Location, Observation, Track, TrainingRecord, User
from vigil.db.session import make_engine
from vigil.governance.audit import AuditContext
from vigil.search.synopsis import render
from vigil.search.synopsis.plan import SynopsisOptions, plan_synopsis, target_length
from vigil.search.synopsis.service import render_synopsis, tubes_of
from vigil.settings import Settings

START = datetime(2009, 3, 1, 9, 0, tzinfo=UTC)
CONTEXT = AuditContext(case_ref="BENCH-2026-001", purpose="benchmark of the video synopsis render time")
CLIP_S = 79.5


def people(db: Session) -> tuple[User, Camera]:
    user = User(username="bench", display_name="Bench", role="investigator", password_hash="-", created_at=utcnow())
    site = Location(name="PETS campus", address="University of Reading", latitude=51.44, longitude=-0.94)
    db.add_all([user, site])
    db.flush()
    today = utcnow().date()
    db.add(
        TrainingRecord(
            user_id=user.id,
            capability="analytics",
            course="bench",
            completed_on=today - timedelta(days=1),
            expires_on=today + timedelta(days=300),
            recorded_by_id=user.id,
            recorded_at=utcnow(),
        )
    )
    camera = Camera(code="PETS-001", name="PETS S2.L1 view 001", location_id=site.id)
    db.add(camera)
    db.flush()
    return user, camera


def footage_row(db: Session, camera: Camera, user: User, stored: str, digest: str, start: datetime) -> Footage:
    footage = Footage(
        camera_id=camera.id,
        original_name="vtest.avi",
        stored_path=stored,
        sha256=digest,
        size_bytes=0,
        container="avi",
        codec="h264",
        width=480,
        height=360,
        fps=10.0,
        duration_s=79.5,
        frame_count=795,
        start_time=start,
        start_time_source="operator",
        ingested_by_id=user.id,
        source="bench",
    )
    db.add(footage)
    db.flush()
    return footage


def analyse(db: Session, settings: Settings, footage: Footage, user: User) -> float:
    """Run the real job runner on the footage; returns its wall time."""
    job = AnalysisJob(footage_id=footage.id, status=JobStatus.QUEUED, params="{}", created_by_id=user.id)
    db.add(job)
    db.commit()
    connection = db.connection()

    def sessions() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    runner = JobRunner(
        sessions=sessions,
        data_dir=settings.data_dir,
        make_analyser=functools.partial(build_analyser, settings),
        frames=frames,
        checkpoint_seconds=600.0,
    )
    began = time.perf_counter()
    done = runner.run(job.id)
    if done.status != JobStatus.DONE:
        raise SystemExit(f"analysis failed: {done.error}")
    db.expire_all()
    return time.perf_counter() - began


def copy_tracks(db: Session, source: Footage, target: Footage, user: User) -> None:
    job = AnalysisJob(footage_id=target.id, status=JobStatus.DONE, params="{}", created_by_id=user.id)
    db.add(job)
    db.flush()
    shift = target.start_time - source.start_time
    for track in db.execute(select(Track).where(Track.footage_id == source.id)).scalars():
        copy = Track(
            footage_id=target.id,
            camera_id=target.camera_id,
            job_id=job.id,
            track_no=track.track_no,
            class_name=track.class_name,
            first_seen=track.first_seen + shift,
            last_seen=track.last_seen + shift,
            first_frame=track.first_frame,
            last_frame=track.last_frame,
            upper_colours=track.upper_colours,
            lower_colours=track.lower_colours,
            heading=track.heading,
            path=track.path,
            score=track.score,
        )
        copy.observations = [
            Observation(frame_index=o.frame_index, t=o.t, x0=o.x0, y0=o.y0, x1=o.x1, y1=o.y1, score=o.score)
            for o in track.observations
        ]
        db.add(copy)
    db.flush()


def decode_baseline(path: Path, last: int) -> tuple[int, float]:
    began = time.perf_counter()
    count = sum(1 for _ in render._decoded(path, last))
    return count, time.perf_counter() - began


def phases(db: Session, settings: Settings, camera: Camera, end: datetime) -> list[list[object]]:
    """The render's phases, timed by calling its modules directly (the files are not written again)."""
    tracks = db.execute(select(Track).where(Track.camera_id == camera.id)).scalars().all()
    tubes = tubes_of(db, tracks, START, end)
    options = SynopsisOptions()
    footage = {f.id: f for f in db.execute(select(Footage)).scalars()}
    sources = {
        i: render.Source(i, settings.data_dir / f.stored_path, f.fps, (f.width, f.height), f.start_time)
        for i, f in footage.items()
    }
    rows: list[list[object]] = []
    began = time.perf_counter()
    plan = plan_synopsis(
        tubes,
        frame_size=(480, 360),
        max_length_s=target_length((end - START).total_seconds(), tubes, options),
        options=options,
    )
    shown = render.schedule(plan, sources, fps=10.0, size=(480, 360), zone=settings.zone)
    rows.append(["plan + schedule", f"{time.perf_counter() - began:.2f}"])
    began = time.perf_counter()
    path = next(iter(sources.values())).path
    background = render.background_of(path)
    rows.append(["background (1 file)", f"{time.perf_counter() - began:.2f}"])
    began = time.perf_counter()
    sprites = render.collect_sprites(shown, {str(path): background})
    rows.append([f"cut-outs ({len(sprites)} distinct)", f"{time.perf_counter() - began:.2f}"])
    began = time.perf_counter()
    labels = render.LabelPainter(360)
    with tempfile.TemporaryDirectory() as folder:
        count = render.encode(
            (render.compose(background, items, sprites, labels) for items in shown),
            Path(folder) / "s.mp4",
            fps=10.0,
            size=(480, 360),
        )
    per_frame = sum(len(items) for items in shown) / max(1, count)
    rows.append(
        [f"compose + encode ({count} frames, {per_frame:.1f} objects/frame)", f"{time.perf_counter() - began:.2f}"]
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=45, help="Copies of the 79.5 s clip (45 = one hour).")
    parser.add_argument(
        "--analysis-db", type=Path, help="Keep the analysed clip's database here and reuse it on later runs."
    )
    args = parser.parse_args()
    video = pets() / "vtest.avi"
    if not video.exists():
        raise SystemExit(f"{video} is not available")
    data = Path(tempfile.mkdtemp(prefix="vigil-bench-synopsis-"))
    try:
        run(data, video, args.copies, args.analysis_db)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _sqlite_copy(source: Path, target: Path) -> None:
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def run(data: Path, video: Path, copies: int, analysis_db: Path | None) -> None:
    settings = Settings(data_dir=data, secret_key="bench-secret-key-0123456789")
    engine = make_engine(settings)
    upgrade(engine)
    stored = Path("footage") / "vtest.avi"
    (data / stored).parent.mkdir(parents=True)
    shutil.copyfile(video, data / stored)  # a temporary data folder, removed afterwards
    digest = hashlib.sha256(video.read_bytes()).hexdigest()
    with Session(engine, expire_on_commit=False) as db:
        if analysis_db is not None and analysis_db.exists():
            _sqlite_copy(analysis_db, data / "vigil.db")
            user = db.execute(select(User)).scalar_one()
            camera = db.execute(select(Camera)).scalar_one()
            first = db.execute(select(Footage)).scalar_one()
            analysis_s = float("nan")
        else:
            user, camera = people(db)
            first = footage_row(db, camera, user, str(stored), digest, START)
            analysis_s = analyse(db, settings, first, user)
            db.commit()
            if analysis_db is not None:
                _sqlite_copy(data / "vigil.db", analysis_db)
        for k in range(1, copies):  # the same file recorded again later: distinct rows need distinct hashes
            fake = hashlib.sha256(f"{digest}-{k}".encode()).hexdigest()
            copy_tracks(
                db, first, footage_row(db, camera, user, str(stored), fake, START + k * timedelta(seconds=CLIP_S)), user
            )
        db.commit()
        tracks = len(db.execute(select(Track.id)).all())
        end = START + timedelta(seconds=copies * CLIP_S)  # the range the copies cover
        began = time.perf_counter()
        result = render_synopsis(
            db=db, user=user, context=CONTEXT, camera_code=camera.code, start=START, end=end, settings=settings
        )
        wall = time.perf_counter() - began
        click_map = json.loads(result.sidecar.read_text())
        needed = max(o.frame_index for o in db.execute(select(Observation)).scalars())
        frames_read, decode_s = decode_baseline(data / stored, needed)
        collided = sum(1 for t in click_map["tracks"] if t["collisions"])
        breakdown = phases(db, settings, camera, end)
    footage_s = copies * CLIP_S
    analysed = "analysis reused (--analysis-db)" if math.isnan(analysis_s) else f"analysed once in {analysis_s:.1f} s"
    print(
        f"PETS09-S2L1 vtest.avi {analysed}: {tracks // copies} tracks; "
        f"{copies} copies = {footage_s / 60:.1f} min of footage, {tracks} tracks"
    )
    print(
        table(
            ["figure", "value"],
            [
                [
                    "synopsis length",
                    f"{result.length_s:.1f} s ({result.frames} frames; target 2 min/h, at least the longest track)",
                ],
                ["tracks shown / with unavoidable collisions", f"{result.tracks} / {collided}"],
                ["render wall time", f"{wall:.1f} s"],
                [
                    "render time per hour of footage",
                    f"{wall * 3600 / footage_s:.1f} s/h ({wall / footage_s:.4f} of real time)",
                ],
                ["frames decoded (one shared file)", f"{frames_read}"],
                ["decode-only baseline for those frames", f"{decode_s:.2f} s"],
                [f"decode x{copies} (if the copies were distinct files)", f"{decode_s * copies:.1f} s"],
                ["peak RSS", f"{peak_rss_mb():.0f} MB"],
                ["load average (1 min) at the end", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"],
            ],
        )
    )
    print(table(["phase (direct calls)", "seconds"], breakdown))
    engine.dispose()


if __name__ == "__main__":
    main()
