"""Facial recognition: the subjects and watchlists register, enrolment, and retrospective searches of a case.

The same services as the face pages check the capability (live or retrospective FR, trained) and audit every step
(``fr.register.view``, ``fr.subject.create``, ``fr.enrol``, ``fr.watchlist.*``, ``fr.retro.search``,
``fr.retro.view``, ``fr.retro.verdict``). Photos are sent as the raw request body, refused over
``settings.faces.max_image_mb``. A retrospective search compares faces only within the stated case's footage; a
candidate is not an identification: a trained person records a verdict.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vigil.db.models import User
from vigil.faces.images import Photo, decode_photo
from vigil.faces.retrospective import NOT_AN_IDENTIFICATION, decide, search_probe, view_search
from vigil.faces.views import case_searches, register
from vigil.faces.watchlists import (
    FaceChoice,
    SubjectForm,
    add_subjects,
    create_subject,
    create_watchlist,
    enrol_photos,
    freeze_watchlist,
    get_watchlist,
)
from vigil.governance.audit import AuditContext
from vigil.web.api.access import ERRORS, ApiUser, Responses
from vigil.web.api.common import (
    MIB,
    NOT_FOUND,
    TOO_LARGE,
    ApiContext,
    Limit,
    Offset,
    binary_body,
    page_of,
    read_body,
)
from vigil.web.api.faces_schemas import (
    CandidateReply,
    CandidateVerdictRequest,
    CaseSearchesReply,
    EnrolmentReply,
    RegisterReply,
    RetroSearchReply,
    SubjectReply,
    SubjectRequest,
    WatchlistEntriesRequest,
    WatchlistNameRequest,
    WatchlistReply,
    WatchlistRequest,
)
from vigil.web.api.schemas import RowId
from vigil.web.deps import DbSession
from vigil.web.state import web_state

router = APIRouter(prefix="/faces", tags=["faces"], responses=ERRORS)

CONFLICT: Responses = {409: {"description": "Already exists"}}
Reference = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9/_.-]+$", description="Subject reference.")]
PHOTO = binary_body("A photo (JPEG or PNG) as the raw body, at most settings.faces.max_image_mb.")


async def _photo(request: Request, label: str) -> Photo:
    settings = web_state(request).system.settings
    limit = settings.faces.max_image_mb
    data = await read_body(request, max_bytes=int(limit * MIB), what=label)
    return decode_photo(data, label=label, max_mb=limit, max_pixels=settings.vision.max_image_pixels)


@router.get("/watchlists", response_model=RegisterReply)
def register_view(db: DbSession, user: ApiUser) -> RegisterReply:
    """Every subject (with enrolments) and watchlist (with its subjects); audited."""
    view = register(db, user=user)
    return RegisterReply(
        subjects=[SubjectReply.of(s) for s in view.subjects], watchlists=[WatchlistReply.of(w) for w in view.watchlists]
    )


@router.post("/subjects", status_code=201, response_model=SubjectReply, responses=CONFLICT)
def subject_create(db: DbSession, user: ApiUser, body: SubjectRequest) -> SubjectReply:
    """Enter a subject: who they are to the force, why, on whose authority and until when."""
    form = SubjectForm(body.reference, body.category, body.reason, body.authority, body.expires_on)
    return SubjectReply.of(create_subject(db, user=user, form=form))


@router.post(
    "/subjects/{reference}/photos",
    status_code=201,
    response_model=EnrolmentReply,
    responses={**NOT_FOUND, **TOO_LARGE},
    openapi_extra=PHOTO,
)
async def subject_enrol(
    request: Request,
    db: DbSession,
    user: ApiUser,
    reference: Reference,
    face: Annotated[int | None, Query(ge=1, le=100, description="Which face of the photo (numbered).")] = None,
    override_reason: Annotated[
        str, Query(max_length=1000, description="Why a quality refusal is overridden (supervisors).")
    ] = "",
) -> EnrolmentReply:
    """Enrol a photo of a subject: its one face, or the face chosen by number (several faces: 422 lists them)."""
    photo = await _photo(request, "photo")
    choice = FaceChoice(face, override_reason.strip() or None)
    return await run_in_threadpool(_enrol, request, db, user, reference, photo, choice)


def _enrol(
    request: Request, db: Session, user: User, reference: str, photo: Photo, choice: FaceChoice
) -> EnrolmentReply:
    enrolled = enrol_photos(
        db,
        settings=web_state(request).system.settings,
        user=user,
        recognizer=web_state(request).system.services.recognizer.get(),
        subject_ref=reference,
        photos=[("photo", photo)],
        choice=choice,
    )
    return EnrolmentReply.of(enrolled[0])


@router.post("/watchlists", status_code=201, response_model=WatchlistReply, responses=CONFLICT)
def watchlist_create(db: DbSession, user: ApiUser, body: WatchlistRequest) -> WatchlistReply:
    """A new, empty watchlist."""
    return WatchlistReply.of(create_watchlist(db, user=user, name=body.name, kind=body.kind))


@router.post("/watchlists/entries", response_model=WatchlistReply, responses=NOT_FOUND)
def watchlist_add(db: DbSession, user: ApiUser, body: WatchlistEntriesRequest) -> WatchlistReply:
    """Put subjects' current enrolments on a watchlist that is not frozen."""
    add_subjects(db, user=user, watchlist_name=body.watchlist, subject_refs=body.subjects)
    return WatchlistReply.of(get_watchlist(db, body.watchlist))


@router.post("/watchlists/freeze", response_model=WatchlistReply, responses=NOT_FOUND)
def watchlist_freeze(db: DbSession, user: ApiUser, body: WatchlistNameRequest) -> WatchlistReply:
    """Freeze a watchlist: no more changes (a deployment freezes its own when it starts)."""
    return WatchlistReply.of(freeze_watchlist(db, user=user, watchlist_name=body.watchlist))


@router.get("/retro", response_model=CaseSearchesReply)
def retro_list(
    db: DbSession, user: ApiUser, context: ApiContext, offset: Offset = 0, limit: Limit = 50
) -> CaseSearchesReply:
    """The case's retrospective searches, newest first, and how much of its footage is indexed for faces."""
    view = case_searches(db, user=user, context=context)
    items, page = page_of(view.searches, offset=offset, limit=limit)
    searches = [RetroSearchReply.of(s, notice=NOT_AN_IDENTIFICATION, with_candidates=False) for s in items]
    return CaseSearchesReply(searches=searches, page=page, footage=view.footage, indexed=view.indexed, faces=view.faces)


@router.post("/retro", status_code=201, response_model=RetroSearchReply, responses=TOO_LARGE, openapi_extra=PHOTO)
async def retro_search(request: Request, db: DbSession, user: ApiUser, context: ApiContext) -> RetroSearchReply:
    """Search a probe photo (one face) against the case's footage only, indexing it first if needed."""
    photo = await _photo(request, "probe photo")
    return await run_in_threadpool(_search, request, db, user, context, photo)


def _search(request: Request, db: Session, user: User, context: AuditContext, photo: Photo) -> RetroSearchReply:
    settings = web_state(request).system.settings
    found = search_probe(
        db,
        settings=settings,
        user=user,
        recognizer=web_state(request).system.services.recognizer.get(),
        photo=photo,
        label="probe",
        context=context,
    )
    return RetroSearchReply.of(found, notice=NOT_AN_IDENTIFICATION, with_candidates=True)


@router.get("/retro/{search_id}", response_model=RetroSearchReply, responses=NOT_FOUND)
def retro_view(
    db: DbSession, user: ApiUser, context: ApiContext, search_id: Annotated[RowId, Path(description="Search id.")]
) -> RetroSearchReply:
    """One of the case's searches with its ranked candidates (audited)."""
    search = view_search(db, user=user, search_id=search_id, context=context)
    return RetroSearchReply.of(search, notice=NOT_AN_IDENTIFICATION, with_candidates=True)


@router.post("/retro/candidates/{candidate_id}", response_model=CandidateReply, responses=NOT_FOUND)
def retro_verdict(
    db: DbSession,
    user: ApiUser,
    context: ApiContext,
    candidate_id: Annotated[RowId, Path(description="Candidate id.")],
    body: CandidateVerdictRequest,
) -> CandidateReply:
    """Confirm or reject a candidate of one of the case's searches."""
    candidate = decide(db, user=user, candidate_id=candidate_id, verdict=body.verdict, note=body.note, context=context)
    return CandidateReply.of(candidate)
