"""Reviewing footage and its analysis: the footage register with job progress, job status, tracks and video.

Listing footage and following a job need the analytics capability (trained); looking at what analysis found
(tracks, thumbnails) or at the video itself is a footage view and also needs a stated case and purpose. A page
view is audited once (``tracks.view``, ``footage.view``); the media requests a page then makes (thumbnails,
video byte ranges) are authorised the same way but not audited one by one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer, selectinload

from vigil.analysis.store import export_csv, export_json, export_mot, tracks_of
from vigil.db.base import utcnow
from vigil.db.models import AnalysisJob, Camera, Footage, Location, Track, User
from vigil.errors import InvalidInput, NotFound
from vigil.footage.custody import footage_path
from vigil.footage.ingest import RECORDING_IN_PROGRESS, get_footage
from vigil.governance import audit
from vigil.governance.access import authorise, require_held_for
from vigil.governance.audit import AuditContext
from vigil.governance.cases import reachable_case_ids
from vigil.governance.locations import analysis_basis
from vigil.governance.roles import Capability
from vigil.settings import Settings

REGISTER_LIMIT = 200


@dataclass(frozen=True)
class FootageStatus:
    """A footage record, its latest analysis job (None before the first) and whether it may be analysed today."""

    footage: Footage
    job: AnalysisJob | None
    analysable: bool  # a current location PIA, or the owner's consent under the footage's case
    why_not: str = ""  # why it may not be analysed (shown on the page, not only in the log)


@dataclass(frozen=True)
class FootageRegister:
    entries: list[FootageStatus]
    total: int  # all footage held; ``entries`` has the most recently ingested ``REGISTER_LIMIT``


@dataclass(frozen=True)
class TrackView:
    footage: Footage
    job: AnalysisJob | None
    tracks: list[Track]
    """The page's tracks, in order of first sighting."""
    classes: dict[str, int]  # tracks per class over the whole footage, most common first
    total: int = 0
    """Tracks of the chosen class (or all) in the footage, over every page."""
    page: int = 1
    per_page: int | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page)) if self.per_page else 1

    @property
    def first_no(self) -> int:
        """The position (1-based) of the page's first track among ``total``."""
        return (self.page - 1) * self.per_page + 1 if self.per_page else 1


def _allow(db: Session, user: User, action: str, context: AuditContext | None, now: datetime | None = None) -> None:
    authorise(
        db,
        user=user,
        capability=Capability.ANALYTICS,
        action=action,
        context=context,
        context_required=context is not None,
        now=now,
    )


def _held(db: Session, user: User, footage_id: int, context: AuditContext, action: str) -> Footage:
    """The footage, refused (audited) when it is held for a case other than the stated one."""
    footage = get_footage(db, footage_id)
    subject = f"footage {footage_id}"
    require_held_for(db, user=user, context=context, held_for=footage.case_id, subject=subject, action=action)
    return footage


def analysable(footage: Footage, today: date) -> bool:
    """Whether the footage has a basis for analysis: a current location PIA, or its owner's consent under its case."""
    return analysis_basis(footage, today).lawful


def latest_jobs(db: Session, footage_ids: list[int]) -> dict[int, AnalysisJob]:
    """The newest analysis job of each footage id that has one."""
    stmt = select(AnalysisJob).where(AnalysisJob.footage_id.in_(footage_ids)).order_by(AnalysisJob.id)
    return {job.footage_id: job for job in db.execute(stmt).scalars()} if footage_ids else {}


def footage_register(db: Session, *, user: User, limit: int = REGISTER_LIMIT) -> FootageRegister:
    """The most recently ingested footage with its latest job (analytics users; refusals audited)."""
    _allow(db, user, "footage.list", None)
    today = utcnow().date()
    reachable = or_(Footage.case_id.is_(None), Footage.case_id.in_(reachable_case_ids(db, user=user)))
    visible = and_(reachable, Footage.source != RECORDING_IN_PROGRESS)  # a segment still recording is not footage
    stmt = (
        select(Footage)
        .where(visible)
        .options(
            selectinload(Footage.camera).selectinload(Camera.location).selectinload(Location.pias),
            selectinload(Footage.case),
        )
        .order_by(Footage.ingested_at.desc(), Footage.id.desc())
        .limit(limit)
    )
    footage = list(db.execute(stmt).scalars())
    jobs = latest_jobs(db, [f.id for f in footage])
    total = db.execute(select(func.count(Footage.id)).where(visible)).scalar_one()
    bases = {f.id: analysis_basis(f, today) for f in footage}
    entries = [FootageStatus(f, jobs.get(f.id), bases[f.id].lawful, bases[f.id].reason) for f in footage]
    return FootageRegister(entries, total)


def job_status(db: Session, *, user: User, job_id: int) -> AnalysisJob:
    """An analysis job, for following its progress (analytics users; not audited: it shows no footage)."""
    _allow(db, user, "analysis.status", None)
    job = db.get(AnalysisJob, job_id)
    if job is None:
        raise NotFound(f"no analysis job {job_id}")
    return job


def view_tracks(
    db: Session,
    *,
    user: User,
    footage_id: int,
    context: AuditContext,
    class_name: str | None = None,
    page: int = 1,
    per_page: int | None = None,
    now: datetime | None = None,
) -> TrackView:
    """The tracks analysis found in a footage (optionally of one class), audited as ``tracks.view``.

    With ``per_page``, one page of them (``page`` from 1; a page past the last is empty), without the tracks'
    paths: a page lists cards, and a footage of a busy camera holds thousands of tracks.
    """
    if page < 1 or (per_page is not None and per_page < 1):
        raise InvalidInput("page and per_page must be at least 1")
    now = now or utcnow()
    _allow(db, user, "tracks.view", context, now)
    footage = _held(db, user, footage_id, context, "tracks.view")
    current = [Track.footage_id == footage.id, Track.superseded.is_(False)]  # the footage's current run
    per_class = select(Track.class_name, func.count(Track.id)).where(*current)
    counts = Counter({str(row[0]): int(row[1]) for row in db.execute(per_class.group_by(Track.class_name))})
    stmt = select(Track).where(*current).order_by(Track.first_seen, Track.track_no)
    if class_name:
        stmt = stmt.where(Track.class_name == class_name)
    if per_page is not None:
        stmt = stmt.options(defer(Track.path), defer(Track.zone_dwell)).offset((page - 1) * per_page).limit(per_page)
    tracks = list(db.execute(stmt).scalars())
    total = counts[class_name] if class_name else sum(counts.values())
    audit.record(
        db,
        actor=user.username,
        action="tracks.view",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="footage",
        subject_id=footage.id,
        details={"tracks": len(tracks), "class": class_name, "page": page},
        now=now,
    )
    job = latest_jobs(db, [footage.id]).get(footage.id)
    return TrackView(footage, job, tracks, dict(counts.most_common()), total=total, page=page, per_page=per_page)


def export_tracks(db: Session, *, user: User, footage_id: int, context: AuditContext, fmt: str) -> str:
    """A footage's tracks as MOTChallenge, JSON or CSV text, audited as ``tracks.export``."""
    render = {"mot": export_mot, "json": export_json, "csv": export_csv}.get(fmt)
    if render is None:
        raise InvalidInput("export format must be mot, json or csv")
    now = utcnow()
    _allow(db, user, "tracks.export", context, now)
    footage = _held(db, user, footage_id, context, "tracks.export")
    tracks = tracks_of(db, footage.id)
    audit.record(
        db,
        actor=user.username,
        action="tracks.export",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="footage",
        subject_id=footage.id,
        details={"format": fmt, "tracks": len(tracks)},
        now=now,
    )
    return render(tracks)


def view_footage(db: Session, *, user: User, footage_id: int, context: AuditContext) -> Footage:
    """A footage record for watching its video, audited as ``footage.view``."""
    now = utcnow()
    _allow(db, user, "footage.view", context, now)
    footage = _held(db, user, footage_id, context, "footage.view")
    audit.record(
        db,
        actor=user.username,
        action="footage.view",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="footage",
        subject_id=footage.id,
        now=now,
    )
    return footage


def footage_media(db: Session, *, settings: Settings, user: User, footage_id: int, context: AuditContext) -> Path:
    """The stored original for streaming to a page already audited by :func:`view_footage` (checked, not audited)."""
    _allow(db, user, "footage.view", context)
    path = footage_path(settings, _held(db, user, footage_id, context, "footage.view"))
    if not path.is_file():
        raise NotFound(f"the stored file of footage {footage_id} is missing; run `vigil footage verify {footage_id}`")
    return path


def track_thumbnail(
    db: Session,
    *,
    settings: Settings,
    user: User,
    footage_id: int,
    track_no: int,
    context: AuditContext,
    track_id: int | None = None,
) -> Path:
    """A track's thumbnail image for a page already audited by :func:`view_tracks` (checked, not audited).

    ``track_id`` names the track exactly (a kept track of a replaced run shares its number with a current one);
    without it, the footage's current run is meant."""
    _allow(db, user, "tracks.view", context)
    _held(db, user, footage_id, context, "tracks.view")
    stmt = select(Track.thumbnail_path).where(Track.footage_id == footage_id, Track.track_no == track_no)
    stmt = stmt.where(Track.id == track_id) if track_id is not None else stmt.where(Track.superseded.is_(False))
    relative = db.execute(stmt).scalar_one_or_none()
    root = settings.data_dir.resolve()
    path = (root / relative).resolve() if relative else None
    if path is None or not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"track {track_no} of footage {footage_id} has no thumbnail")
    return path
