"""Watching live cameras on the camera wall, and bookmarking moments for a case.

Watching live is an investigative use: it needs the analytics capability and current training. A view session
starts with the viewer's purpose (and case, if any), asked once and audited; opening one camera large is audited
with that purpose. A bookmark marks a camera's moment for a case; the segment(s) covering it are kept beyond
footage retention while the case is held (:func:`bookmarked_footage`, a hold of the footage retention rule), and
the bookmark opens the review of that segment at that moment. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.live_models import LiveBookmark, LiveHealth, LiveSegment, LiveView
from vigil.db.models import Case, User
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import MIN_PURPOSE_CHARS, authorise, make_context, refuse, require_held_for
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.live.wall import picture_path

MAX_NOTE_CHARS = 1000
BOOKMARK_PAST = timedelta(days=1)  # a bookmark marks a moment just seen, not one from weeks ago
BOOKMARK_FUTURE = timedelta(seconds=30)  # clock skew between the browser and the server


@dataclass(frozen=True)
class ViewSession:
    """A user's current camera-wall view session: the purpose (and case) stated when it started."""

    view: LiveView
    context: AuditContext
    """The purpose, and the case reference ('' when the view is for no particular case)."""


def check_watcher(db: Session, *, user: User, now: datetime) -> None:
    """Refuse (audited) a user who may not watch live: the analytics capability with current training."""
    authorise(
        db,
        user=user,
        capability=Capability.ANALYTICS,
        action="live.wall",
        context=None,
        context_required=False,
        now=now,
    )


def start_view(
    db: Session, *, user: User, purpose: str, case_ref: str, hours: float, cameras: Sequence[str], now: datetime
) -> ViewSession:
    """Start watching live with a stated purpose (and case, if any); audited."""
    authorise(
        db,
        user=user,
        capability=Capability.ANALYTICS,
        action="live.view.start",
        context=None,
        context_required=False,
        now=now,
    )
    purpose = " ".join(purpose.split())
    case_id = None
    if case_ref.strip():
        context = make_context(case_ref, purpose)
        authorise(db, user=user, capability=Capability.ANALYTICS, action="live.view.start", context=context, now=now)
        case_id = db.execute(select(Case.id).where(Case.reference == context.case_ref)).scalar_one()
    elif not MIN_PURPOSE_CHARS <= len(purpose) <= 1000:
        raise InvalidInput(f"state the purpose of watching live in {MIN_PURPOSE_CHARS} to 1000 characters")
    else:
        context = AuditContext(case_ref="", purpose=purpose)
    view = LiveView(
        user_id=user.id, purpose=purpose, case_id=case_id, started_at=now, expires_at=now + timedelta(hours=hours)
    )
    db.add(view)
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="live.view.start",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="live_view",
        subject_id=str(view.id),
        details={"cameras": list(cameras)},
        now=now,
    )
    return ViewSession(view, context)


def current_view(db: Session, *, user: User, view_id: object, now: datetime) -> ViewSession | None:
    """The user's view session ``view_id`` (from the browser's signed session) if it is theirs and still runs."""
    if not isinstance(view_id, int):
        return None
    view = db.get(LiveView, view_id)
    if view is None or view.user_id != user.id or view.expires_at <= now:
        return None
    case_ref = db.get(Case, view.case_id).reference if view.case_id is not None else ""  # type: ignore[union-attr]
    return ViewSession(view, AuditContext(case_ref=case_ref, purpose=view.purpose))


def _watch(db: Session, *, user: User, session: ViewSession, action: str, now: datetime) -> None:
    """Check again that the viewer may watch live (training can be withdrawn during a view session)."""
    context = session.context if session.context.case_ref else None
    authorise(
        db, user=user, capability=Capability.ANALYTICS, action=action, context=context, context_required=False, now=now
    )


def _known_camera(db: Session, *, user: User, camera_code: str, known: set[str], action: str) -> str:
    if camera_code not in known:
        raise refuse(
            db, actor=user.username, action=action, reason="no such live camera", details={"camera": camera_code[:80]}
        )
    return camera_code


def open_camera(
    db: Session, *, user: User, session: ViewSession, camera_code: str, known: set[str], now: datetime
) -> None:
    """One camera opened large on the wall: audited with the view session's purpose and case."""
    _watch(db, user=user, session=session, action="live.view", now=now)
    code = _known_camera(db, user=user, camera_code=camera_code, known=known, action="live.view")
    audit.record(
        db,
        actor=user.username,
        action="live.view",
        capability=Capability.ANALYTICS.value,
        context=session.context,
        subject_type="camera",
        subject_id=code,
        details={"view": session.view.id},
        now=now,
    )


def wall_picture(
    db: Session, *, user: User, session: ViewSession, camera_code: str, known: set[str], spool_dir: Path, now: datetime
) -> Path | None:
    """A camera's latest wall picture for a running view session (checked; the session's start is audited)."""
    _watch(db, user=user, session=session, action="live.picture", now=now)
    code = _known_camera(db, user=user, camera_code=camera_code, known=known, action="live.picture")
    return picture_path(spool_dir, code, known)


def wall_health(db: Session, codes: Sequence[str]) -> list[LiveHealth]:
    """The health of the wall's cameras, in the wall's order (read for a running view session)."""
    rows = {
        row.camera_code: row
        for row in db.execute(select(LiveHealth).where(LiveHealth.camera_code.in_(codes))).scalars()
    }
    now = utcnow()
    return [rows.get(code) or LiveHealth(camera_code=code, state="unknown", since=now, reason="") for code in codes]


def add_bookmark(
    db: Session,
    *,
    user: User,
    session: ViewSession,
    camera_code: str,
    at: datetime,
    note: str,
    case_ref: str,
    known: set[str],
    now: datetime,
) -> LiveBookmark:
    """Bookmark a camera's moment for a case (the viewer must be able to reach the case); audited."""
    context = make_context(case_ref or session.context.case_ref, session.context.purpose)
    authorise(db, user=user, capability=Capability.ANALYTICS, action="live.bookmark", context=context, now=now)
    code = _known_camera(db, user=user, camera_code=camera_code, known=known, action="live.bookmark")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"a bookmark's note is at most {MAX_NOTE_CHARS} characters")
    if not now - BOOKMARK_PAST <= at <= now + BOOKMARK_FUTURE:
        raise InvalidInput("a bookmark marks a moment of the last day, not one in the future")
    case_id = db.execute(select(Case.id).where(Case.reference == context.case_ref)).scalar_one()
    bookmark = LiveBookmark(
        camera_code=code, at=min(at, now), note=note, case_id=case_id, created_by_id=user.id, created_at=now
    )
    db.add(bookmark)
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="live.bookmark",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="live_bookmark",
        subject_id=str(bookmark.id),
        details={"camera": code, "at": bookmark.at.isoformat(), "note": note},
        now=now,
    )
    return bookmark


def list_bookmarks(db: Session, *, user: User, context: AuditContext) -> list[LiveBookmark]:
    """The bookmarks of the stated case (its members, supervisors); audited as a view of the case's data."""
    authorise(db, user=user, capability=Capability.ANALYTICS, action="live.bookmark.list", context=context)
    stmt = select(LiveBookmark).join(Case, Case.id == LiveBookmark.case_id).where(Case.reference == context.case_ref)
    rows = list(db.execute(stmt.order_by(LiveBookmark.at.desc())).scalars())
    audit.record(
        db,
        actor=user.username,
        action="live.bookmark.list",
        capability=Capability.ANALYTICS.value,
        context=context,
        details={"bookmarks": len(rows)},
    )
    return rows


@dataclass(frozen=True)
class BookmarkedMoment:
    bookmark: LiveBookmark
    footage_id: int | None
    """The recorded segment covering the moment; None while it is still being recorded (or was not recorded)."""
    offset_s: float


def open_bookmark(db: Session, *, user: User, bookmark_id: int, context: AuditContext) -> BookmarkedMoment:
    """A bookmark of the stated case and where its moment is in the recording; another case's is refused."""
    authorise(db, user=user, capability=Capability.ANALYTICS, action="live.bookmark.open", context=context)
    bookmark = db.get(LiveBookmark, bookmark_id)
    if bookmark is None:
        raise NotFound("there is no such bookmark")
    require_held_for(
        db, user=user, context=context, held_for=bookmark.case_id, subject="this bookmark", action="live.bookmark.open"
    )
    stmt = select(LiveSegment).where(
        LiveSegment.camera_code == bookmark.camera_code,
        LiveSegment.started_at <= bookmark.at,
        LiveSegment.ended_at >= bookmark.at,
    )
    segment = db.execute(stmt.order_by(LiveSegment.started_at.desc()).limit(1)).scalar_one_or_none()
    audit.record(
        db,
        actor=user.username,
        action="live.bookmark.open",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="live_bookmark",
        subject_id=str(bookmark.id),
        details={"camera": bookmark.camera_code, "footage": segment.footage_id if segment else None},
    )
    if segment is None:
        return BookmarkedMoment(bookmark, None, 0.0)
    return BookmarkedMoment(bookmark, segment.footage_id, (bookmark.at - segment.started_at).total_seconds())


def bookmarked_footage(now: datetime) -> Select[int]:
    """Footage ids held by a bookmark of a case that is open or still retained (a hold of the footage rule)."""
    held_cases = select(Case.id).where(or_(Case.closed_at.is_(None), Case.retain_until >= now.date()))
    covering = and_(
        LiveSegment.camera_code == LiveBookmark.camera_code,
        LiveSegment.started_at <= LiveBookmark.at,
        LiveSegment.ended_at >= LiveBookmark.at,
    )
    return select(LiveSegment.footage_id).join(LiveBookmark, covering).where(LiveBookmark.case_id.in_(held_cases))
