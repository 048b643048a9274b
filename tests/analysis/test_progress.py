"""An analysis notes its progress without waiting for the database (vigil.analysis.worker.ProgressWriter)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import make_camera, make_user
from vigil.analysis.worker import ProgressWriter
from vigil.db.migrate import upgrade
from vigil.db.models import AnalysisJob, Footage
from vigil.db.session import session_scope
from vigil.governance import audit
from vigil.system import open_system

FRAMES = 300


def running_job(db: Session) -> int:
    user = make_user(db, "ana", trained_for=("analytics",))
    camera = make_camera(db, "PEN-09")
    footage = Footage(
        camera_id=camera.id,
        original_name="a.avi",
        stored_path="footage/a.avi",
        sha256="a" * 64,
        size_bytes=1,
        container="avi",
        codec="mpeg4",
        width=480,
        height=360,
        fps=10.0,
        duration_s=FRAMES / 10,
        frame_count=FRAMES,
        start_time=datetime(2024, 5, 1, 14, 0, tzinfo=UTC),
        start_time_source="operator",
        ingested_by_id=user.id,
        source="test",
    )
    db.add(footage)
    db.flush()
    job = AnalysisJob(footage_id=footage.id, status="running", created_by_id=user.id, total_frames=FRAMES)
    db.add(job)
    db.flush()
    return job.id


def test_the_analysis_goes_on_while_someone_else_holds_the_write_lock(tmp_path: Path) -> None:
    system = open_system(make_settings(tmp_path / "data"))
    try:
        upgrade(system.engine)
        with session_scope(system.sessions) as db:
            job_id = running_job(db)
        holder = system.sessions()
        audit.record(holder, actor="system", action="test.hold")  # e.g. a web request mid-append: lock held
        writer = ProgressWriter(system.sessions, job_id, interval_s=0.01)
        analysed = threading.Event()

        def analyse() -> None:
            for frame in range(1, FRAMES + 1):
                writer(frame, FRAMES)
            analysed.set()

        thread = threading.Thread(target=analyse, daemon=True)
        thread.start()
        thread.join(timeout=15)  # before: a progress write inside the frame loop waited up to 30 s for the lock
        assert analysed.is_set()
        holder.commit()
        holder.close()
        writer.close()  # writes the last count once the lock is free
        with system.sessions() as db:
            job = db.get(AnalysisJob, job_id)
            assert job is not None and job.progress_frames == FRAMES and job.heartbeat_at is not None
    finally:
        system.close()
