"""Human review of candidate tracks: an investigator marks each candidate confirmed, rejected or unsure.

Every result vigil gives is only a candidate; a trained human decides. A mark belongs to a case: the latest
mark of a (case, track) pair is its current verdict and earlier marks are kept as history, so a changed mind is
visible. Marking needs the analytics capability with a stated case and purpose and is audited as
``review.mark`` with the verdict and the note's length (the note itself stays in the case's marks, where the
case's retention governs it, and out of the hash-chained audit log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Case, Footage, ReviewMark, Track, User
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise, ensure_case, require_held_for
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability

MAX_NOTE_CHARS = 2000


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNSURE = "unsure"


def parse_verdict(value: str) -> Verdict:
    """A verdict from user input, or a clear error naming the allowed ones."""
    try:
        return Verdict((value or "").strip().lower())
    except ValueError:
        allowed = ", ".join(v.value for v in Verdict)
        raise InvalidInput(f"verdict must be one of {allowed}, not {value!r}") from None


def _clean_note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"a note is limited to {MAX_NOTE_CHARS} characters")
    return text


def current_verdicts(db: Session, *, case_id: int, track_ids: Sequence[int]) -> dict[int, str]:
    """The current (latest) verdict of each of these tracks for the case; unmarked tracks are absent."""
    if not track_ids:
        return {}
    stmt = (
        select(ReviewMark.track_id, ReviewMark.verdict)
        .where(ReviewMark.case_id == case_id, ReviewMark.track_id.in_(list(track_ids)))
        .order_by(ReviewMark.marked_at, ReviewMark.id)
    )
    return {int(track_id): str(verdict) for track_id, verdict in db.execute(stmt)}


def case_id_of(db: Session, case_ref: str) -> int | None:
    """The id of the case with this reference, or None if nothing has been done for it yet."""
    return db.execute(select(Case.id).where(Case.reference == case_ref)).scalar_one_or_none()


def mark_track(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    track_id: int,
    verdict: str,
    note: str | None,
    now: datetime | None = None,
) -> ReviewMark:
    """Record the user's verdict on a candidate track for the context's case, audited as ``review.mark``."""
    checked = parse_verdict(verdict)
    text = _clean_note(note)
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.ANALYTICS, action="review.mark", context=context, now=now)
    track = db.get(Track, track_id)
    if track is None:
        raise NotFound(f"no track {track_id}")
    case = ensure_case(db, reference=context.case_ref, user=user)
    held_for = track.footage.case_id
    require_held_for(
        db,
        user=user,
        context=context,
        held_for=held_for,
        subject=f"track {track_id}",
        action="review.mark",
    )
    mark = ReviewMark(
        case_id=case.id,
        track_id=track.id,
        verdict=checked.value,
        note=text,
        marked_by_id=user.id,
        marked_at=now,
    )
    db.add(mark)
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="review.mark",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="track",
        subject_id=track.id,
        details={"verdict": checked.value, "note_chars": len(text), "mark": mark.id},
        now=now,
    )
    return mark


def marks_of_case(db: Session, *, case_id: int, track_id: int | None = None) -> list[ReviewMark]:
    """The marks made for a case (optionally of one track), newest first, with who made them."""
    stmt = select(ReviewMark).where(ReviewMark.case_id == case_id)
    if track_id is not None:
        stmt = stmt.where(ReviewMark.track_id == track_id)
    stmt = stmt.options(selectinload(ReviewMark.track)).order_by(ReviewMark.marked_at.desc(), ReviewMark.id.desc())
    return list(db.execute(stmt).scalars())


def confirmed_tracks(db: Session, *, case_id: int) -> list[Track]:
    """The tracks whose current verdict for the case is confirmed, in the order they were first seen."""
    stmt = select(ReviewMark.track_id).where(ReviewMark.case_id == case_id).distinct()
    marked = [int(track_id) for track_id in db.execute(stmt).scalars()]
    verdicts = current_verdicts(db, case_id=case_id, track_ids=marked)
    ids = [track_id for track_id, verdict in verdicts.items() if verdict == Verdict.CONFIRMED.value]
    if not ids:
        return []
    tracks = select(Track).where(Track.id.in_(ids)).order_by(Track.first_seen, Track.id)
    return list(db.execute(tracks).scalars())


def marker_names(db: Session, marks: Sequence[ReviewMark]) -> dict[int, str]:
    """The username of each user who made one of these marks (for showing the history)."""
    ids = {mark.marked_by_id for mark in marks}
    if not ids:
        return {}
    return {int(uid): str(name) for uid, name in db.execute(select(User.id, User.username).where(User.id.in_(ids)))}


@dataclass(frozen=True)
class TrackReview:
    """What the clip player shows: the track (footage, camera, observations loaded) and its marks for the case."""

    track: Track
    marks: list[ReviewMark]  # newest first
    marked_by: dict[int, str]  # user id -> username

    @property
    def verdict(self) -> str | None:
        return self.marks[0].verdict if self.marks else None


def review_track(
    db: Session, *, user: User, context: AuditContext, track_id: int, now: datetime | None = None
) -> TrackReview:
    """A track for reviewing in the clip player, with its marks for the case, audited as ``track.review``."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.ANALYTICS, action="track.review", context=context, now=now)
    stmt = (
        select(Track)
        .where(Track.id == track_id)
        .options(
            selectinload(Track.footage).selectinload(Footage.camera).selectinload(Camera.location),
            selectinload(Track.camera),
            selectinload(Track.observations),
        )
    )
    track = db.execute(stmt).scalar_one_or_none()
    if track is None:
        raise NotFound(f"no track {track_id}")
    case = ensure_case(db, reference=context.case_ref, user=user)
    held_for = track.footage.case_id
    require_held_for(
        db,
        user=user,
        context=context,
        held_for=held_for,
        subject=f"track {track_id}",
        action="track.review",
    )
    marks = marks_of_case(db, case_id=case.id, track_id=track.id)
    audit.record(
        db,
        actor=user.username,
        action="track.review",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="track",
        subject_id=track.id,
        details={"footage": track.footage_id, "verdict": marks[0].verdict if marks else None},
        now=now,
    )
    return TrackReview(track, marks, marker_names(db, marks))
