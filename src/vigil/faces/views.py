"""What the face pages show: the subjects and watchlists register, a case's retrospective searches, and the
stored images behind them (each image request re-authorises; page views are audited once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.face_models import Enrolment, FaceIndexEntry, FaceIndexRun, RetroSearch, Subject, Watchlist
from vigil.db.models import Footage, User
from vigil.errors import NotFound
from vigil.faces.watchlists import fr_capability
from vigil.governance import audit
from vigil.governance.access import authorise, ensure_case
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.settings import Settings


@dataclass(frozen=True)
class Register:
    subjects: list[Subject]
    watchlists: list[Watchlist]
    today: datetime


def register(db: Session, *, user: User, now: datetime | None = None) -> Register:
    """Every subject (with enrolments) and watchlist (with entries), audited ``fr.register.view``."""
    now = now or utcnow()
    capability = fr_capability(db, user=user, action="fr.register.view", context=None, now=now)
    subjects = list(
        db.execute(select(Subject).options(selectinload(Subject.enrolments)).order_by(Subject.reference)).scalars()
    )
    watchlists = list(
        db.execute(select(Watchlist).options(selectinload(Watchlist.entries)).order_by(Watchlist.name)).scalars()
    )
    audit.record(
        db,
        actor=user.username,
        action="fr.register.view",
        capability=capability.value,
        details={"subjects": len(subjects), "watchlists": len(watchlists)},
        now=now,
    )
    return Register(subjects, watchlists, now)


def _inside(settings: Settings, relative: str) -> Path:
    root = settings.data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("that image is no longer held")
    return path


def enrolment_crop(db: Session, *, settings: Settings, user: User, enrolment_id: int) -> Path:
    """The face crop of an enrolled image (for the register page; authorised, not audited one by one)."""
    fr_capability(db, user=user, action="fr.enrolment.image", context=None)
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(f"no enrolment {enrolment_id}")
    return _inside(settings, enrolment.stored_path.rsplit(".", 1)[0] + ".crop.jpg")


@dataclass(frozen=True)
class CaseSearches:
    searches: list[RetroSearch]
    footage: int  # footage held for the case
    indexed: int  # of which indexed for faces
    faces: int  # faces indexed in the case's footage


def case_searches(db: Session, *, user: User, context: AuditContext) -> CaseSearches:
    """The case's earlier retrospective searches and how much of its footage is indexed (not audited: it
    shows no face, only counts and the searches' own records)."""
    authorise(db, user=user, capability=Capability.RETROSPECTIVE_FR, action="fr.retro.list", context=context)
    case = ensure_case(db, reference=context.case_ref, user=user)
    searches = db.execute(
        select(RetroSearch)
        .where(RetroSearch.case_id == case.id)
        .options(selectinload(RetroSearch.candidates))
        .order_by(RetroSearch.id.desc())
    )
    footage = db.execute(select(func.count(Footage.id)).where(Footage.case_id == case.id)).scalar_one()
    indexed = db.execute(select(func.count(FaceIndexRun.id)).where(FaceIndexRun.case_id == case.id)).scalar_one()
    faces = db.execute(select(func.count(FaceIndexEntry.id)).where(FaceIndexEntry.case_id == case.id)).scalar_one()
    return CaseSearches(list(searches.scalars()), footage, indexed, faces)


def retro_image(
    db: Session, *, settings: Settings, user: User, context: AuditContext, search_id: int, entry_id: int | None
) -> Path:
    """A search's probe crop (``entry_id`` None) or one candidate's face crop, for the stated case only."""
    authorise(db, user=user, capability=Capability.RETROSPECTIVE_FR, action="fr.retro.image", context=context)
    case = ensure_case(db, reference=context.case_ref, user=user)
    search = db.get(RetroSearch, search_id)
    if search is None or search.case_id != case.id:
        raise NotFound(f"no retrospective search {search_id} in case {case.reference}")
    if entry_id is None:
        return _inside(settings, search.probe_crop_path)
    if not any(c.index_entry_id == entry_id for c in search.candidates):
        raise NotFound(f"face {entry_id} is not a candidate of search {search_id}")
    entry = db.get(FaceIndexEntry, entry_id)
    if entry is None:
        raise NotFound(f"face {entry_id} is no longer held")
    return _inside(settings, entry.crop_path)
