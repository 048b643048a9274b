"""Where live tracks are stored: in the recorded segment they were first seen in, searchable within seconds.

A live track belongs to the footage of the segment in which it was first seen; its frame numbers and times are
relative to that segment's start (``first_seen`` is the wall-clock time), so its review page plays the
recording at that moment. A segment becomes footage only when it is closed, so the worker *reserves* the
footage row of the segment it is recording as soon as a track must be written there: a row marked
``source = "live recording in progress"`` with no file (``sha256`` = ``recording-<random>``), owning one live
analysis run. When the segment is closed and ingested (:func:`adopt_reserved`), its tracks and run move onto
the real footage and the reserved row is deleted. A reservation whose recording was lost (a killed worker's
partial segment) is adopted by the next segment recorded after it, with the tracks' times shifted onto it
(they then start before that footage does: the recording of their first moments is lost, and the gap says so).

Two kinds of rows are written:

* *final* tracks (``track_no`` > 0, numbered by the analyser, stable across restarts) only together with the
  analyser's checkpoint, so a killed worker resumes from a state in which each is written exactly once;
* *provisional* rows (``track_no`` < 0): the tracks still in view and those finished since the checkpoint,
  all replaced at every refresh (every ``tracks_every_seconds``), so a track is searchable seconds after it
  is first confirmed. A provisional row an investigator has marked is kept (``superseded``, out of searches,
  its verdict intact); the final row then stands for the track in searches.

Services flush; the worker's unit of work commits.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from vigil.analysis.jobs import JobStatus
from vigil.analysis.store import save_thumbnail, store_tracks, thumbnail_relpath
from vigil.db.base import utcnow
from vigil.db.live_models import LiveSegment
from vigil.db.models import AnalysisJob, Camera, Footage, Observation, ReviewMark, Track, User
from vigil.domain.tracks import FinishedTrack, TrackObservations, TrackSummary
from vigil.footage.ingest import RECORDING_IN_PROGRESS

RESERVED_SOURCE = RECORDING_IN_PROGRESS
LIVE_RUN = "live"


@dataclass(frozen=True)
class OpenSegment:
    """The segment being recorded: its start (as the recorder will date it) and the stream's facts."""

    started_at: datetime
    width: int
    height: int
    fps: float
    codec: str


@dataclass(frozen=True)
class LiveTrackStore:
    """Writes one camera's live tracks; ``scale`` maps analysed pixels to the stream's pixels."""

    camera_code: str
    user: str
    params: dict[str, object]
    data_dir: Path
    zone: tzinfo
    scale: float = 1.0

    def write(
        self,
        db: Session,
        *,
        origin: datetime,
        final: list[FinishedTrack],
        provisional: list[FinishedTrack],
        segment: OpenSegment | None,
    ) -> bool:
        """Replace the camera's provisional rows and write ``final`` tracks; False (nothing final written) if
        a final track has no segment to belong to yet (recording has not started or has failed)."""
        camera = db.execute(select(Camera).where(Camera.code == self.camera_code)).scalar_one()
        below = provisional_floor(db, camera_id=camera.id)
        homes = [self._home(db, camera, origin + timedelta(seconds=float(t.observations.t[0])), segment) for t in final]
        placed = all(home is not None for home in homes)
        if not placed:
            final, homes, provisional = [], [], provisional + final
        rows: list[tuple[AnalysisJob, FinishedTrack]] = []
        for track, home in zip(final, homes, strict=True):
            assert home is not None
            rows.append((home, self._moved(home, track, origin, track.track_no)))
        for number, track in enumerate(provisional, start=1):
            home = self._home(db, camera, origin + timedelta(seconds=float(track.observations.t[0])), segment)
            if home is not None:
                rows.append((home, self._moved(home, track, origin, below - number)))
        # Thumbnails are written before the first write of the transaction, so SQLite's lock is held only for rows.
        pictures = [
            save_thumbnail(moved, footage_id=home.footage_id, job_id=home.id, data_dir=self.data_dir)
            for home, moved in rows
        ]
        remove_provisional(db, camera_id=camera.id)
        for (home, moved), picture in zip(rows, pictures, strict=True):
            store_tracks(
                db,
                footage=home.footage,
                job_id=home.id,
                tracks=[moved],
                data_dir=self.data_dir,
                zone=self.zone,
                thumbnails={moved.track_no: picture},
            )
        return placed

    def _moved(self, home: AnalysisJob, track: FinishedTrack, origin: datetime, number: int) -> FinishedTrack:
        """``track`` as a track of its home footage, numbered ``number``."""
        shift = (origin - home.footage.start_time).total_seconds()
        return in_footage(track, shift=shift, fps=home.footage.fps, scale=self.scale, track_no=number)

    def _home(self, db: Session, camera: Camera, at: datetime, segment: OpenSegment | None) -> AnalysisJob | None:
        """The live run of the segment the moment ``at`` was recorded in (reserving the open one if need be)."""
        recorded = db.execute(
            select(LiveSegment)
            .where(LiveSegment.camera_code == self.camera_code, LiveSegment.started_at <= at, LiveSegment.ended_at > at)
            .order_by(LiveSegment.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if recorded is not None:
            footage = db.get(Footage, recorded.footage_id)
            assert footage is not None
            return live_run(db, footage=footage, user=self._user(db), params=self.params)
        if segment is None:
            return None
        reserved = db.execute(
            select(Footage).where(
                Footage.camera_id == camera.id,
                Footage.source == RESERVED_SOURCE,
                Footage.start_time == segment.started_at,
            )
        ).scalar_one_or_none()
        if reserved is None:
            reserved = reserve_segment(db, camera=camera, user=self._user(db), segment=segment)
        return live_run(db, footage=reserved, user=self._user(db), params=self.params)

    def _user(self, db: Session) -> User:
        user = db.execute(select(User).where(User.username == self.user)).scalar_one_or_none()
        if user is None:
            raise LookupError(f"the live recorder user {self.user!r} does not exist")
        return user


def reserve_segment(db: Session, *, camera: Camera, user: User, segment: OpenSegment) -> Footage:
    """The footage row of a segment still being recorded (no file yet): live tracks can point at it."""
    now, token = utcnow(), uuid.uuid4().hex
    footage = Footage(
        camera_id=camera.id,
        original_name=f"{camera.code}-{segment.started_at:%Y%m%dT%H%M%S.%f}Z.mp4 (recording)",
        stored_path=f"recording/{camera.code}/{token}.mp4",  # no file: retention or a verify finds nothing there
        sha256=f"recording-{token}",
        size_bytes=0,
        container="recording",
        codec=segment.codec[:64],
        width=segment.width,
        height=segment.height,
        fps=segment.fps,
        duration_s=0.0,
        frame_count=None,
        start_time=segment.started_at,
        start_time_source="stream clock",
        ingested_at=now,
        ingested_by_id=user.id,
        source=RESERVED_SOURCE,
    )
    db.add(footage)
    db.flush()
    return footage


def live_run(db: Session, *, footage: Footage, user: User, params: dict[str, object]) -> AnalysisJob:
    """The footage's live analysis run (made on first use; ``done`` at once, so no file worker picks it up)."""
    job = db.execute(
        select(AnalysisJob)
        .where(AnalysisJob.footage_id == footage.id, AnalysisJob.superseded_at.is_(None))
        .order_by(AnalysisJob.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if job is not None:
        return job
    now = utcnow()
    job = AnalysisJob(
        footage_id=footage.id,
        status=JobStatus.DONE,
        params=json.dumps({**params, "run": LIVE_RUN}, sort_keys=True),
        created_by_id=user.id,
        created_at=now,
        started_at=now,
        finished_at=now,
    )
    db.add(job)
    db.flush()
    return job


def provisional_floor(db: Session, *, camera_id: int) -> int:
    """The number the camera's next provisional rows count down from: below every row :func:`remove_provisional`
    keeps (marked, or superseded before), so none collide. Read before the transaction's first write."""
    kept = (Track.camera_id == camera_id, Track.track_no < 0)
    marked = or_(Track.superseded.is_(True), Track.id.in_(select(ReviewMark.track_id)))
    floor = db.execute(select(func.min(Track.track_no)).where(*kept, marked)).scalar_one()
    return min(int(floor or 0), 0)


def remove_provisional(db: Session, *, camera_id: int) -> None:
    """Delete the camera's provisional rows, except those an investigator has marked: they are kept, flagged
    ``superseded`` (out of searches, still reachable with their verdicts), as a re-analysis keeps marked tracks."""
    current = (Track.camera_id == camera_id, Track.track_no < 0, Track.superseded.is_(False))
    marked = select(ReviewMark.track_id)
    db.execute(
        update(Track)
        .where(*current, Track.id.in_(marked))
        .values(superseded=True)
        .execution_options(synchronize_session="fetch")
    )
    doomed = select(Track.id).where(*current)
    db.execute(delete(Observation).where(Observation.track_id.in_(doomed)))
    db.execute(delete(Track).where(*current).execution_options(synchronize_session="fetch"))


def adopt_reserved(db: Session, *, footage: Footage, ended_at: datetime, data_dir: Path) -> int:
    """A segment was ingested as ``footage``: move the camera's reserved rows that began before it ended (its
    own, and any whose recording was lost) onto it, thumbnails included (retention deletes them with the
    footage's folder). Returns how many tracks moved."""
    reserved = db.execute(
        select(Footage).where(
            Footage.camera_id == footage.camera_id,
            Footage.source == RESERVED_SOURCE,
            Footage.start_time < ended_at,
        )
    ).scalars()
    moved = 0
    for row in list(reserved):
        reserved_id, shift = row.id, (row.start_time - footage.start_time).total_seconds()
        tracks = list(db.execute(select(Track).where(Track.footage_id == reserved_id)).scalars())
        if abs(shift) * max(footage.fps, 1.0) >= 0.5 or row.fps != footage.fps:  # re-time the tracks onto it
            for track in tracks:
                _shift_track(track, shift=shift, fps=footage.fps)
        for track in tracks:
            _move_thumbnail(track, footage_id=footage.id, data_dir=data_dir)
        db.flush()
        db.execute(update(Track).where(Track.footage_id == reserved_id).values(footage_id=footage.id))
        db.execute(update(AnalysisJob).where(AnalysisJob.footage_id == reserved_id).values(footage_id=footage.id))
        db.flush()
        db.expire_all()
        db.execute(delete(Footage).where(Footage.id == reserved_id))
        shutil.rmtree(data_dir / "derived" / str(reserved_id), ignore_errors=True)  # old provisional thumbnails
        moved += len(tracks)
    db.flush()
    return moved


def _move_thumbnail(track: Track, *, footage_id: int, data_dir: Path) -> None:
    if not track.thumbnail_path:
        return
    new = thumbnail_relpath(footage_id, track.job_id, track.track_no)
    (data_dir / new).parent.mkdir(parents=True, exist_ok=True)
    try:
        (data_dir / track.thumbnail_path).replace(data_dir / new)
        track.thumbnail_path = str(new)
    except FileNotFoundError:
        track.thumbnail_path = None


def _shift_track(track: Track, *, shift: float, fps: float) -> None:
    """Times ``shift`` seconds later from the new footage's start; frames numbered at its rate."""
    track.path = json.dumps([[round(t + shift, 3), x, y] for t, x, y in json.loads(track.path)])
    for obs in track.observations:
        obs.t += shift
        obs.frame_index = round(obs.t * fps)
    if track.observations:
        track.first_frame = track.observations[0].frame_index
        track.last_frame = track.observations[-1].frame_index


def in_footage(track: FinishedTrack, *, shift: float, fps: float, scale: float, track_no: int) -> FinishedTrack:
    """A track analysed on a live stream (times from the analyser's origin, analysed pixels) as a track of a
    segment's footage (times from the segment's start, frame numbers at its rate, the stream's pixels)."""
    obs, summary = track.observations, track.summary
    t = obs.t + shift
    observations = TrackObservations(
        frame_index=np.round(t * fps).astype(np.int64),
        t=t,
        xyxy=(obs.xyxy * scale).astype(np.float32),
        score=obs.score,
    )
    moved: TrackSummary = replace(
        summary,
        height_px=summary.height_px * scale,
        speed_px_s=summary.speed_px_s * scale,
        path=tuple((pt + shift, x * scale, y * scale) for pt, x, y in summary.path),
        thumbnail_frame=-1,
    )
    return FinishedTrack(track_no=track_no, observations=observations, summary=moved)
