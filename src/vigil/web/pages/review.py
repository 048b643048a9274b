"""Reviewing candidates: the clip player of one track, marking it, and search by example.

``GET /tracks/{id}/review?t=SECONDS`` is the clip player: the footage's video (the byte-range route of
:mod:`vigil.web.pages.tracks`) from the moment, with the track's box and path drawn over it by
``static/review.js`` from the observations in a data attribute, the track's attributes, the mark form and the
marks of the case. ``POST /tracks/{id}/marks`` records a verdict and returns to ``next`` (a local path).
``GET /similar?track_id=ID`` lists the tracks that look most like a track; ``GET /similar`` is the photo form and
``POST /similar`` searches with an uploaded photo (not stored). Both take the description search's filter fields
(camera, start, end, class, ...). The services check, audit and do the work; routes parse and render.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from starlette.datastructures import QueryParams
from starlette.responses import Response

from vigil.db.models import Track
from vigil.errors import InvalidInput, VigilError
from vigil.governance.audit import AuditContext
from vigil.search.query.cards import result_card
from vigil.search.query.form import query_from_fields
from vigil.search.review.marks import Verdict, mark_track, review_track
from vigil.search.similarity.by_example import MAX_PHOTO_BYTES, SimilarResult, similar_to_image, similar_to_track
from vigil.web.auth import CurrentUser, safe_next
from vigil.web.context import WorkingContext
from vigil.web.deps import AppServices, DbSession
from vigil.web.forms import optional_float, outcome, refusal_shown_on
from vigil.web.playable import footage_player
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

TrackId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Moment = Annotated[float | None, Query(ge=0, le=10**7, allow_inf_nan=False)]
Top = Annotated[int, Query(ge=1, le=200)]


def player_data(track: Track) -> dict[str, Any]:
    """What review.js draws: the observed boxes ``[t, x0, y0, x1, y1]`` and the path ``[x, y]`` in source pixels."""
    path = []
    for point in json.loads(track.path or "[]"):
        if isinstance(point, list) and len(point) in (2, 3):
            path.append([round(float(point[-2]), 1), round(float(point[-1]), 1)])
    boxes = [
        [round(o.t, 3), round(o.x0, 1), round(o.y0, 1), round(o.x1, 1), round(o.y1, 1)] for o in track.observations
    ]
    return {"width": track.footage.width, "height": track.footage.height, "boxes": boxes, "path": path}


@router.get("/tracks/{track_id}/review")
def review_page(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, track_id: TrackId, t: Moment = None
) -> Response:
    review = review_track(db, user=user, context=context, track_id=track_id)
    track, zone = review.track, web_state(request).system.settings.zone
    first = track.observations[0].t if track.observations else 0.0
    start = t if t is not None else first
    case_query = urlencode({"case": context.case_ref})
    return render(
        request,
        "review.html",
        user=user,
        section="search",
        review=review,
        card=result_card(track, verdict=review.verdict, zone=zone),
        player=json.dumps(player_data(track), separators=(",", ":")),
        playback=footage_player(request, db, footage=track.footage, case_ref=context.case_ref),
        start_s=round(start, 2),
        verdicts=[v.value for v in Verdict],
        case_query=case_query,
        case_ref=context.case_ref,
        here=f"/tracks/{track.id}/review?{urlencode({'t': f'{start:.2f}', 'case': context.case_ref})}",
    )


@router.post("/tracks/{track_id}/marks")
def mark_post(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    track_id: TrackId,
    verdict: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",  # the form field's name in the URL contract
) -> Response:
    fallback = f"/tracks/{track_id}/review?{urlencode({'case': context.case_ref})}"
    back = safe_next(next) if next else fallback
    return outcome(
        request,
        lambda: mark_track(db=db, user=user, context=context, track_id=track_id, verdict=verdict, note=note),
        done=f"Track {track_id} marked {verdict.strip().lower()} for case {context.case_ref}.",
        back=back,
    )


def _similar_page(
    request: Request,
    user: CurrentUser,
    context: AuditContext,
    result: SimilarResult | None,
    *,
    status: int = 200,
    **shown: Any,
) -> Response:
    zone = web_state(request).system.settings.zone
    cards = [result_card(r.track, verdict=r.verdict, zone=zone) for r in result.results] if result else []
    scores = {r.track.id: r.score for r in result.results} if result else {}
    return render(
        request,
        "similar.html",
        user=user,
        status_code=status,
        section="similar",
        result=result,
        cards=cards,
        scores=scores,
        source_card=result_card(result.source, verdict=None, zone=zone) if result and result.source else None,
        case_query=urlencode({"case": context.case_ref}),
        case_ref=context.case_ref,
        max_mb=MAX_PHOTO_BYTES // (1024 * 1024),
        **{"error": None, "fields": {}, "here": "", **shown},
    )


def _fields(params: QueryParams) -> dict[str, str]:
    return {key: str(params.get(key) or "") for key in ("camera", "start", "end", "top")}


def _similar_refused(
    request: Request, user: CurrentUser, context: AuditContext, fields: dict[str, str]
) -> Callable[[VigilError], Response]:
    """The similar-tracks form shown again with the refusal's message (and its status) inline."""

    def page(exc: VigilError) -> Response:
        return _similar_page(request, user, context, None, error=exc.message, fields=fields, status=exc.status_code)

    return page


@router.get("/similar")
def similar_page(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    context: WorkingContext,
    track_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    top: Top = 50,
) -> Response:
    if track_id is None:
        return _similar_page(request, user, context, None)
    fields = _fields(request.query_params)
    with refusal_shown_on(request, _similar_refused(request, user, context, fields)):
        query = query_from_fields(request.query_params, web_state(request).system.settings.zone)
        result = similar_to_track(
            db=db, user=user, context=context, index=services.similarity.get(), track_id=track_id, k=top, query=query
        )
    kept = {k: v for k, v in fields.items() if v}
    here = f"/similar?{urlencode({**kept, 'track_id': track_id, 'case': context.case_ref})}"
    return _similar_page(request, user, context, result, fields=fields, here=here)


def _whole(value: str, *, label: str, low: int, high: int) -> int | None:
    number = optional_float(value, label=label)
    if number is None:
        return None
    if number != int(number) or not low <= number <= high:
        raise InvalidInput(f"{label} must be a whole number from {low} to {high}")
    return int(number)


@router.post("/similar")
def similar_photo(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    context: WorkingContext,
    photo: Annotated[UploadFile, File(description="A photo of the person or vehicle.")],
    pick: Annotated[str, Form(max_length=10, description="Which person or vehicle (1 = largest).")] = "",
    top: Annotated[str, Form(max_length=10, description="How many results (1-200).")] = "50",
    camera: Annotated[str, Form(max_length=2000, description="Only these camera codes.")] = "",
    start: Annotated[str, Form(max_length=40, description="Seen from (local time).")] = "",
    end: Annotated[str, Form(max_length=40, description="Seen until (local time).")] = "",
) -> Response:
    fields = {"camera": camera, "start": start, "end": end, "top": top}
    with refusal_shown_on(request, _similar_refused(request, user, context, fields)):
        which = _whole(pick, label="Which one", low=1, high=100)
        result = similar_to_image(
            db=db,
            user=user,
            context=context,
            index=services.similarity.get(),
            detector=services.photo_detector.get(),
            photo=photo.file.read(MAX_PHOTO_BYTES + 1),
            pick=None if which is None else which - 1,
            k=_whole(top, label="Results", low=1, high=200) or 50,
            query=query_from_fields(QueryParams(fields), web_state(request).system.settings.zone),
            max_pixels=web_state(request).system.settings.vision.max_image_pixels,
        )
    here = f"/similar?{urlencode({'case': context.case_ref})}"
    return _similar_page(request, user, context, result, fields=fields, here=here)
