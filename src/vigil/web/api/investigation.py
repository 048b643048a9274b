"""Search by description, search by example (a track or a photo) and review marks, as on the web pages.

Every operation needs the analytics capability (role grant and current training) and a stated case and purpose
(``case`` and ``purpose`` query parameters); a track held for another case is refused unless one is a member of
it. The services check and audit (``search.run``, ``search.save``, ``search.load``, ``search.similar``,
``track.review``, ``review.mark``), exactly as for the pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vigil.db.models import User
from vigil.governance.audit import AuditContext
from vigil.search.query.cards import result_card
from vigil.search.query.service import (
    list_saved_searches,
    load_saved_search,
    refuse_description,
    run_search,
    save_search,
    understand,
)
from vigil.search.review.marks import mark_track, review_track
from vigil.search.similarity.by_example import MAX_PHOTO_BYTES, SimilarResult, similar_to_image, similar_to_track
from vigil.web.api.access import ERRORS, ApiUser, Responses
from vigil.web.api.common import NOT_FOUND, TOO_LARGE, ApiContext, Offset, binary_body, page_of, read_body
from vigil.web.api.schemas import RowId
from vigil.web.api.search_schemas import (
    CardReply,
    MarkReply,
    MarkRequest,
    ReviewReply,
    SavedSearchList,
    SavedSearchReply,
    SavedSearchRequest,
    SearchReply,
    SearchRequest,
    SimilarReply,
    SimilarRequest,
    UnderstandingReply,
    similar_reply,
)
from vigil.web.deps import DbSession
from vigil.web.state import web_state

router = APIRouter(responses=ERRORS)

CONFLICT: Responses = {409: {"description": "The case has a saved search of that name"}}
TrackId = Annotated[RowId, Path(description="Track id.")]
SavedId = Annotated[RowId, Path(description="Saved search id.")]


@router.get("/search/understand", response_model=UnderstandingReply, tags=["search"])
def search_understand(
    request: Request,
    db: DbSession,
    user: ApiUser,
    context: ApiContext,
    q: Annotated[str, Query(max_length=1000, description="What you are looking for, in words.")],
) -> UnderstandingReply:
    """What vigil understood of a description (nothing is searched); a request to identify someone is refused."""
    understanding = understand(db, description=q, zone=web_state(request).system.settings.zone)
    refuse_description(db, user=user, context=context, understanding=understanding)
    return UnderstandingReply.of(understanding)


@router.post("/search", response_model=SearchReply, tags=["search"])
def search_run(request: Request, db: DbSession, user: ApiUser, context: ApiContext, body: SearchRequest) -> SearchReply:
    """Run a query (newest first, paged by its limit and offset), with each track's verdict for the case."""
    zone = web_state(request).system.settings.zone
    results = run_search(db=db, user=user, context=context, query=body.query, description=body.description, zone=zone)
    return SearchReply(cards=[CardReply.of(card) for card in results.cards], more=results.more)


@router.get("/search/saved", response_model=SavedSearchList, tags=["search"])
def saved_list(
    db: DbSession,
    user: ApiUser,
    context: ApiContext,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="Most saved searches to return.")] = 50,
) -> SavedSearchList:
    """The case's saved searches, newest first."""
    saved = list_saved_searches(db=db, user=user, context=context)
    items, page = page_of(saved, offset=offset, limit=limit)
    return SavedSearchList(items=[SavedSearchReply.of(s) for s in items], page=page)


@router.post(
    "/search/saved",
    status_code=201,
    response_model=SavedSearchReply,
    tags=["search"],
    responses=CONFLICT,
)
def saved_create(db: DbSession, user: ApiUser, context: ApiContext, body: SavedSearchRequest) -> SavedSearchReply:
    """Keep a query for the case under a name (409 if the case already has one of that name)."""
    saved = save_search(
        db=db, user=user, context=context, name=body.name, query=body.query, description=body.description
    )
    return SavedSearchReply.of(saved)


@router.get("/search/saved/{saved_id}", response_model=SavedSearchReply, tags=["search"], responses=NOT_FOUND)
def saved_get(db: DbSession, user: ApiUser, context: ApiContext, saved_id: SavedId) -> SavedSearchReply:
    """One of the case's saved searches (run it with POST /search and its query)."""
    saved, _ = load_saved_search(db=db, user=user, context=context, saved_id=saved_id)
    return SavedSearchReply.of(saved)


def _similar(request: Request, result: SimilarResult) -> SimilarReply:
    zone = web_state(request).system.settings.zone
    cards = [result_card(r.track, verdict=r.verdict, zone=zone) for r in result.results]
    source = result_card(result.source, verdict=None, zone=zone) if result.source is not None else None
    return similar_reply(result, cards, source)


@router.post("/tracks/{track_id}/similar", response_model=SimilarReply, tags=["similarity"], responses=NOT_FOUND)
def similar_track(
    request: Request,
    db: DbSession,
    user: ApiUser,
    context: ApiContext,
    track_id: TrackId,
    body: Annotated[SimilarRequest | None, Body()] = None,
) -> SimilarReply:
    """The tracks that look most like a track (of its class unless the filters name classes)."""
    body = body or SimilarRequest()
    index = web_state(request).system.services.similarity.get()
    result = similar_to_track(
        db=db, user=user, context=context, index=index, track_id=track_id, k=body.top, query=body.filters
    )
    return _similar(request, result)


@router.post(
    "/similar/photo",
    response_model=SimilarReply,
    tags=["similarity"],
    responses=TOO_LARGE,
    openapi_extra=binary_body(f"A photo (JPEG or PNG, at most {MAX_PHOTO_BYTES // 2**20} MB) as the raw body."),
)
async def similar_photo(
    request: Request,
    db: DbSession,
    user: ApiUser,
    context: ApiContext,
    top: Annotated[int, Query(ge=1, le=200, description="How many of the most similar tracks to return.")] = 50,
    pick: Annotated[int | None, Query(ge=1, le=100, description="Which person or vehicle (1 = largest).")] = None,
) -> SimilarReply:
    """The tracks that look most like the person or vehicle in a photo; the photo is not kept (its hash is audited)."""
    photo = await read_body(request, max_bytes=MAX_PHOTO_BYTES, what="photo")
    return await run_in_threadpool(_similar_photo, request, db, user, context, photo, top, pick)


def _similar_photo(
    request: Request, db: Session, user: User, context: AuditContext, photo: bytes, top: int, pick: int | None
) -> SimilarReply:
    result = similar_to_image(
        db=db,
        user=user,
        context=context,
        index=web_state(request).system.services.similarity.get(),
        detector=web_state(request).system.services.photo_detector.get(),
        photo=photo,
        pick=None if pick is None else pick - 1,
        k=top,
        max_pixels=web_state(request).system.settings.vision.max_image_pixels,
    )
    return _similar(request, result)


@router.get("/tracks/{track_id}/review", response_model=ReviewReply, tags=["review"], responses=NOT_FOUND)
def track_review(request: Request, db: DbSession, user: ApiUser, context: ApiContext, track_id: TrackId) -> ReviewReply:
    """A track for review with its marks for the case, newest first (audited as a track view)."""
    review = review_track(db, user=user, context=context, track_id=track_id)
    card = result_card(review.track, verdict=review.verdict, zone=web_state(request).system.settings.zone)
    marks = [MarkReply.of(mark, review.marked_by.get(mark.marked_by_id, "")) for mark in review.marks]
    return ReviewReply(card=CardReply.of(card), marks=marks)


@router.post(
    "/tracks/{track_id}/marks", status_code=201, response_model=MarkReply, tags=["review"], responses=NOT_FOUND
)
def track_mark(db: DbSession, user: ApiUser, context: ApiContext, track_id: TrackId, body: MarkRequest) -> MarkReply:
    """Record a verdict on a track for the case (the latest mark is the track's current verdict)."""
    mark = mark_track(db=db, user=user, context=context, track_id=track_id, verdict=body.verdict, note=body.note)
    return MarkReply.of(mark, user.username)
