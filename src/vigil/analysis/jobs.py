"""Analysis jobs: start (with governance checks), run with checkpoints, resume after a crash.

A job walks the footage's frames through an :class:`Analyser`. Every few seconds it commits, in one
transaction, the tracks that finished since the last checkpoint together with the analyser's state and the
next frame to read. A job killed at any moment (even ``kill -9``) therefore restarts from a state in which
every committed track is final and every other track is still inside the saved analyser state: no track is
lost or written twice. Re-running a finished job is a no-op unless forced; a forced re-analysis is a new run
that keeps the earlier run's tracks (superseded) so that review marks and exports still point at them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vigil.analysis.liveness import process_identity
from vigil.analysis.store import store_tracks
from vigil.db.base import utcnow
from vigil.db.models import AnalysisJob, Camera, Footage, ReviewMark, Track, User
from vigil.domain.cameras import CameraGeometry
from vigil.domain.detections import Frame
from vigil.domain.tracks import FinishedTrack
from vigil.errors import Conflict
from vigil.governance import audit
from vigil.governance.access import authorise, refuse
from vigil.governance.audit import AuditContext
from vigil.governance.cameras.geometry import camera_geometry
from vigil.governance.cases import reachable_case_ids
from vigil.governance.locations import require_analysis_basis
from vigil.governance.roles import Capability


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class AnalysisSetup:
    """What an analyser needs to know about the footage it is given."""

    footage_id: int
    width: int
    height: int
    fps: float
    frame_count: int
    bearing_deg: float | None
    params: dict[str, object]
    geometry: CameraGeometry = field(default_factory=CameraGeometry)
    """The camera's ground-plane calibration (if any), named zones and lines, in source-image pixels."""


class Analyser(Protocol):
    """Consumes frames in order and returns tracks as they finish; its state round-trips through bytes."""

    def process(self, frame: Frame) -> list[FinishedTrack]: ...

    def finish(self) -> list[FinishedTrack]: ...

    def save_state(self) -> bytes: ...


AnalyserFactory = Callable[[AnalysisSetup, bytes | None], Analyser]
FrameSource = Callable[[Path, int], Iterator[Frame]]
ProgressCallback = Callable[[int, int], None]


def current_run(db: Session, *, footage_id: int) -> AnalysisJob | None:
    """The footage's latest analysis job that has not been superseded (None before its first analysis)."""
    return db.execute(
        select(AnalysisJob)
        .where(AnalysisJob.footage_id == footage_id, AnalysisJob.superseded_at.is_(None))
        .order_by(AnalysisJob.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def require_case_member(db: Session, *, user: User, footage: Footage) -> None:
    """Refuse (audited) footage held for a case the user is not a member of."""
    if footage.case_id is not None and footage.case_id not in reachable_case_ids(db, user=user):
        reason = f"footage {footage.id} is held for a case you are not a member of"
        raise refuse(db, actor=user.username, action="analysis.start", reason=reason)


def start_analysis(
    db: Session,
    *,
    user: User,
    footage: Footage,
    params: dict[str, object] | None = None,
    force: bool = False,
    context: AuditContext | None = None,
    now: datetime | None = None,
) -> AnalysisJob:
    """The job for this footage: a new one, the unfinished one to resume, or (unless forced) the finished one.

    Refused (and audited) for users without current analytics training and for cameras without a current PIA. A
    forced re-analysis of analysed footage also needs a case and a purpose (``context``): it starts a new run and
    supersedes the previous one without destroying evidence (see :func:`supersede_runs`).
    """
    now = now or utcnow()
    existing = current_run(db, footage_id=footage.id)
    again = force and existing is not None
    authorise(
        db,
        user=user,
        capability=Capability.ANALYTICS,
        action="analysis.reanalyse" if again else "analysis.start",
        context=context if again else None,
        context_required=again,
        now=now,
    )
    require_case_member(db, user=user, footage=footage)
    basis = require_analysis_basis(db, footage=footage, user=user, action="analysis.start", today=now.date())
    if existing is not None and not force:
        return existing
    superseded = supersede_runs(db, footage=footage, now=now) if existing is not None else None
    job = AnalysisJob(
        footage_id=footage.id,
        status=JobStatus.QUEUED,
        params=json.dumps(params or {}, sort_keys=True),
        total_frames=footage.frame_count or 0,
        created_by_id=user.id,
        created_at=now,
    )
    db.add(job)
    db.flush()
    details: dict[str, object] = {"job": job.id, "forced": force, "basis": basis}
    if superseded is not None:
        details |= {"superseded_job": existing.id if existing else None, **superseded}
    audit.record(
        db,
        actor=user.username,
        action="analysis.reanalyse" if again else "analysis.start",
        capability=Capability.ANALYTICS.value,
        context=context if again else None,
        subject_type="footage",
        subject_id=footage.id,
        details=details,
        now=now,
    )
    return job


def supersede_runs(db: Session, *, footage: Footage, now: datetime) -> dict[str, int]:
    """Retire the footage's current analysis run before a new one. Its tracks are kept with their ids, flagged
    ``superseded``: review marks, exports (their manifests name track ids) and audit entries keep pointing at the
    very track they meant. Deleting even the unmarked ones would let SQLite hand their ids to the new run's tracks.
    Searches, the footage's track list and dashboards show the current run only.

    Refused while the run is still queued or running: its worker would go on writing tracks into it."""
    runs = list(
        db.execute(
            select(AnalysisJob).where(AnalysisJob.footage_id == footage.id, AnalysisJob.superseded_at.is_(None))
        ).scalars()
    )
    busy = [run.id for run in runs if run.status in (JobStatus.QUEUED, JobStatus.RUNNING)]
    if busy:
        raise Conflict(f"analysis job {busy[0]} of footage {footage.id} has not finished; analyse again once it has")
    current = [Track.footage_id == footage.id, Track.superseded.is_(False)]
    kept = db.execute(select(func.count(Track.id)).where(*current)).scalar_one()
    marked = db.execute(
        select(func.count(func.distinct(ReviewMark.track_id)))
        .join(Track, Track.id == ReviewMark.track_id)
        .where(*current)
    ).scalar_one()
    db.execute(update(Track).where(*current).values(superseded=True).execution_options(synchronize_session="fetch"))
    for run in runs:
        run.superseded_at = now
    db.flush()
    return {"tracks_superseded": int(kept), "tracks_with_marks": int(marked)}


@dataclass
class JobRunner:
    """Runs one job to completion in the calling thread (workers and the CLI both use it)."""

    sessions: Callable[[], Session]
    data_dir: Path
    make_analyser: AnalyserFactory
    frames: FrameSource
    checkpoint_seconds: float = 10.0
    on_progress: ProgressCallback | None = None
    zone: tzinfo | None = None
    """The force's time zone, for the tracks' search columns (default: the settings' default zone)."""

    def run(self, job_id: int) -> AnalysisJob:
        with self.sessions() as db:
            job = db.get(AnalysisJob, job_id)
            if job is None:
                raise LookupError(f"no analysis job {job_id}")
            if job.status == JobStatus.DONE:
                return job
            setup, path, start, state = self._begin(db, job)
        try:
            return self._walk(job_id, setup, path, start, state)
        except Exception as exc:
            self._fail(job_id, exc)
            raise

    def _begin(self, db: Session, job: AnalysisJob) -> tuple[AnalysisSetup, Path, int, bytes | None]:
        footage = job.footage
        if job.checkpoint_frame == 0:
            job.params = json.dumps(with_camera_sensitivity(json.loads(job.params), footage.camera))
        setup = AnalysisSetup(
            footage_id=footage.id,
            width=footage.width,
            height=footage.height,
            fps=footage.fps,
            frame_count=footage.frame_count or 0,
            bearing_deg=footage.camera.bearing_deg,
            params=json.loads(job.params),
            geometry=camera_geometry(footage.camera),
        )
        resumed = job.checkpoint_frame > 0
        job.status, job.error, job.owner = JobStatus.RUNNING, None, process_identity()
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        start, state = job.checkpoint_frame, job.checkpoint_state
        audit.record(
            db,
            actor=audit.SYSTEM_ACTOR,
            action="analysis.resume" if resumed else "analysis.run",
            subject_type="footage",
            subject_id=footage.id,
            details={"job": job.id, "from_frame": start},
        )
        db.commit()
        return setup, self.data_dir / footage.stored_path, start, state

    def _walk(self, job_id: int, setup: AnalysisSetup, path: Path, start: int, state: bytes | None) -> AnalysisJob:
        analyser = self.make_analyser(setup, state)
        pending: list[FinishedTrack] = []
        last_checkpoint, next_frame = time.monotonic(), start
        for frame in self.frames(path, start):
            pending.extend(analyser.process(frame))
            next_frame = frame.index + 1
            if self.on_progress is not None:
                self.on_progress(next_frame, setup.frame_count)
            if time.monotonic() - last_checkpoint >= self.checkpoint_seconds:
                self._checkpoint(job_id, pending, next_frame, analyser.save_state())
                pending, last_checkpoint = [], time.monotonic()
        pending.extend(analyser.finish())
        return self._complete(job_id, pending, next_frame)

    def _checkpoint(self, job_id: int, tracks: list[FinishedTrack], next_frame: int, state: bytes) -> None:
        with self.sessions() as db:
            job = db.get(AnalysisJob, job_id)
            assert job is not None
            job.tracks_written += store_tracks(
                db, footage=job.footage, job_id=job_id, tracks=tracks, data_dir=self.data_dir, zone=self.zone
            )
            job.checkpoint_frame, job.checkpoint_state = next_frame, state
            job.progress_frames, job.heartbeat_at = next_frame, utcnow()
            db.commit()

    def _complete(self, job_id: int, tracks: list[FinishedTrack], frames_read: int) -> AnalysisJob:
        with self.sessions() as db:
            job = db.get(AnalysisJob, job_id)
            assert job is not None
            job.tracks_written += store_tracks(
                db, footage=job.footage, job_id=job_id, tracks=tracks, data_dir=self.data_dir, zone=self.zone
            )
            job.status, job.finished_at = JobStatus.DONE, utcnow()
            job.progress_frames = job.checkpoint_frame = frames_read
            job.total_frames = max(job.total_frames, frames_read)
            job.checkpoint_state = None
            audit.record(
                db,
                actor=audit.SYSTEM_ACTOR,
                action="analysis.complete",
                subject_type="footage",
                subject_id=job.footage_id,
                details={"job": job_id, "tracks": job.tracks_written, "frames": frames_read},
            )
            db.commit()
            return job

    def _fail(self, job_id: int, exc: Exception) -> None:
        with self.sessions() as db:
            job = db.get(AnalysisJob, job_id)
            if job is None:
                return
            job.status, job.error = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
            audit.record(
                db,
                actor=audit.SYSTEM_ACTOR,
                action="analysis.fail",
                outcome=audit.Outcome.FAILED,
                subject_type="footage",
                subject_id=job.footage_id,
                details={"job": job_id, "error": job.error},
            )
            db.commit()


def with_camera_sensitivity(params: dict[str, object], camera: Camera) -> dict[str, object]:
    """A fresh job's params with the camera's calibrated sensitivity filled in where the job set none (written
    back to the job, so a resumed run uses exactly the values it started with)."""
    merged = dict(params)
    if camera.detect_score is not None:
        merged.setdefault("score_threshold", camera.detect_score)
    if camera.person_height_px is not None:
        merged.setdefault("person_height_px", camera.person_height_px)
    return merged
