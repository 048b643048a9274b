"""A stored footage with its analysis job, for track-store and worker tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.db.models import AnalysisJob, Footage


def footage_with_job(db: Session) -> tuple[Footage, AnalysisJob]:
    user = make_user(db, "ana", trained_for=("analytics",))
    camera = make_camera(db, "PEN-09")
    footage = Footage(
        camera_id=camera.id,
        original_name="a.avi",
        stored_path="footage/x.avi",
        sha256="f" * 64,
        size_bytes=1,
        container="avi",
        codec="mpeg4",
        width=480,
        height=360,
        fps=10.0,
        duration_s=79.5,
        frame_count=795,
        start_time=datetime(2024, 5, 1, 14, 0, tzinfo=UTC),
        start_time_source="operator",
        ingested_by_id=user.id,
        source="test",
    )
    db.add(footage)
    db.flush()
    job = AnalysisJob(footage_id=footage.id, status="running", created_by_id=user.id)
    db.add(job)
    db.flush()
    return footage, job
