"""Search by description: understand a description, run a query, keep searches per case. Every run is audited.

Running a search needs the analytics capability (role grant and current training) and a stated case and
purpose; it is audited as ``search.run`` with the query (as JSON), the description it came from and the number
of results. Refusals are audited by :func:`~vigil.governance.access.authorise`. A description asking vigil to
identify someone is refused before anything runs (``search.run`` refused). Saved searches belong to a case:
saving and loading one are audited (``search.save``, ``search.load``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, SavedSearch, User
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise, ensure_case, refuse
from vigil.governance.audit import AuditContext
from vigil.governance.cameras.geometry import camera_geometry
from vigil.governance.roles import Capability
from vigil.search.query.cards import ResultCard, result_card
from vigil.search.query.filters import find_tracks
from vigil.search.query.parser import Gazetteer, KnownCamera, Understanding, parse_description
from vigil.search.query.track_query import TrackQuery
from vigil.search.review.marks import current_verdicts
from vigil.settings import Settings

MAX_DESCRIPTION_CHARS = 1000
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class SearchResults:
    query: TrackQuery
    cards: list[ResultCard]
    more: bool  # another page follows


def gazetteer(db: Session) -> Gazetteer:
    """The force's cameras (with their locations) and the zone names drawn on them, for the parser."""
    cameras = list(db.execute(select(Camera).options(selectinload(Camera.location)).order_by(Camera.code)).scalars())
    known = tuple(
        KnownCamera(c.code, c.name, c.location.name, c.location.latitude, c.location.longitude) for c in cameras
    )
    zones = sorted({zone.name for camera in cameras for zone in camera_geometry(camera).zones})
    return Gazetteer(cameras=known, zones=tuple(zones))


def understand(db: Session, *, description: str, zone: tzinfo, now: datetime | None = None) -> Understanding:
    """The parser's reading of a description against the force's cameras (nothing is searched or audited)."""
    text = " ".join(description.split())
    if not text:
        raise InvalidInput("describe what you are looking for, e.g. 'person in a red top heading north'")
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"a description is limited to {MAX_DESCRIPTION_CHARS} characters")
    return parse_description(text, now=now or utcnow(), zone=zone, gazetteer=gazetteer(db))


def refuse_description(db: Session, *, user: User, context: AuditContext, understanding: Understanding) -> None:
    """Raise (audited) if the description asks vigil to identify someone."""
    if understanding.refusal is not None:
        raise refuse(
            db,
            actor=user.username,
            action="search.run",
            reason=understanding.refusal,
            capability=Capability.ANALYTICS.value,
            context=context,
            details={"description": understanding.description},
        )


def run_search(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    query: TrackQuery,
    description: str = "",
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> SearchResults:
    """The tracks the query finds, newest first, with their current verdicts for the case; audited.

    ``zone`` is the force's time zone for the times on the cards (default: the settings' default zone)."""
    now = now or utcnow()
    zone = zone or ZoneInfo(Settings.model_fields["timezone"].default)
    authorise(db, user=user, capability=Capability.ANALYTICS, action="search.run", context=context, now=now)
    case = ensure_case(db, reference=context.case_ref, user=user)
    found = find_tracks(db, query, case_id=case.id)
    ids = [track.id for track in found.tracks]
    verdicts = current_verdicts(db, case_id=case.id, track_ids=ids)
    audit.record(
        db,
        actor=user.username,
        action="search.run",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="case",
        subject_id=case.reference,
        details={"query": query_json(query), "description": description[:MAX_DESCRIPTION_CHARS], "results": len(ids)},
        now=now,
    )
    cards = [result_card(track, verdict=verdicts.get(track.id), zone=zone) for track in found.tracks]
    return SearchResults(query, cards, found.more)


def query_json(query: TrackQuery) -> dict[str, object]:
    """The query's non-default filters as JSON-able data (what the audit log and saved searches keep)."""
    data: dict[str, object] = query.model_dump(mode="json", exclude_defaults=True)
    return data


def load_query(data: str | dict[str, object]) -> TrackQuery:
    try:
        return TrackQuery.model_validate(json.loads(data) if isinstance(data, str) else data)
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"not a valid search: {exc}") from None


def _allow(db: Session, user: User, action: str, context: AuditContext) -> int:
    authorise(db, user=user, capability=Capability.ANALYTICS, action=action, context=context)
    return ensure_case(db, reference=context.case_ref, user=user).id


def save_search(
    *, db: Session, user: User, context: AuditContext, name: str, query: TrackQuery, description: str = ""
) -> SavedSearch:
    """Keep a search for the case under a name unique within the case; audited as ``search.save``."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"give the saved search a name of 1 to {MAX_NAME_CHARS} characters")
    case_id = _allow(db, user, "search.save", context)
    exists = db.execute(select(SavedSearch.id).where(SavedSearch.case_id == case_id, SavedSearch.name == name))
    if exists.first() is not None:
        raise Conflict(f"case {context.case_ref} already has a saved search named {name!r}")
    saved = SavedSearch(
        case_id=case_id,
        name=name,
        description=description[:MAX_DESCRIPTION_CHARS],
        query=json.dumps(query_json(query), sort_keys=True),
        created_by_id=user.id,
        created_at=utcnow(),
    )
    db.add(saved)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict(f"case {context.case_ref} already has a saved search named {name!r}") from None
    _audit(db, user, context, "search.save", saved)
    return saved


def list_saved_searches(*, db: Session, user: User, context: AuditContext) -> list[SavedSearch]:
    """The case's saved searches, newest first (names and queries only: not audited)."""
    case_id = _allow(db, user, "search.list", context)
    stmt = select(SavedSearch).where(SavedSearch.case_id == case_id).order_by(SavedSearch.created_at.desc())
    return list(db.execute(stmt.order_by(SavedSearch.id.desc())).scalars())


def load_saved_search(
    *, db: Session, user: User, context: AuditContext, saved_id: int
) -> tuple[SavedSearch, TrackQuery]:
    """One of the case's saved searches and its query; audited as ``search.load``."""
    case_id = _allow(db, user, "search.load", context)
    saved = db.get(SavedSearch, saved_id)
    if saved is None or saved.case_id != case_id:
        raise NotFound(f"case {context.case_ref} has no saved search {saved_id}")
    query = load_query(saved.query)
    _audit(db, user, context, "search.load", saved)
    return saved, query


def _audit(db: Session, user: User, context: AuditContext, action: str, saved: SavedSearch) -> None:
    audit.record(
        db,
        actor=user.username,
        action=action,
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="saved_search",
        subject_id=saved.id,
        details={"name": saved.name, "query": json.loads(saved.query)},
    )
