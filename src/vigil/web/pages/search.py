"""Search by description: describe, check what vigil understood (an editable form), run, review the results.

``GET /search?q=TEXT`` shows the "Understood" panel: the parsed filters as the search form, the words not
understood and the notices (vigil does not infer gender, age or ethnicity). ``GET /search/results?...`` runs the
form's query (audited by the service) and shows the result cards, links to a synopsis of the results and the
form to save the search for the case. ``POST /search/saved`` saves; ``GET /search/saved/{id}`` reruns a saved
search. Everything needs the analytics capability and a stated case and purpose (:data:`WorkingContext`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from vigil.domain.vocabulary import CARRIED_CLASSES
from vigil.errors import VigilError
from vigil.governance.audit import AuditContext
from vigil.search.query.cards import ResultCard
from vigil.search.query.form import LISTS, fields_of, query_from_fields, query_string
from vigil.search.query.service import (
    list_saved_searches,
    load_query,
    load_saved_search,
    refuse_description,
    run_search,
    save_search,
    understand,
)
from vigil.search.query.track_query import COLOURS, HEADINGS, SEARCHABLE_CLASSES, TrackQuery
from vigil.web.auth import CurrentUser, flash
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.forms import refusal_goes_to, refusal_shown_on
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=1000)]
FormText = Annotated[str, Form(max_length=10_000)]
SavedId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CHOICES = {
    "classes": SEARCHABLE_CLASSES,
    "colours": COLOURS,
    "carried": CARRIED_CLASSES,
    "headings": HEADINGS,
}


def synopsis_links(cards: list[ResultCard], case_ref: str) -> list[tuple[str, str]]:
    """One synopsis link per camera in the results: (camera code, URL) spanning that camera's result tracks."""
    by_camera: dict[str, list[ResultCard]] = defaultdict(list)
    for card in cards:
        by_camera[card.camera_code].append(card)
    links = []
    for code, group in sorted(by_camera.items()):
        span = {
            "camera": code,
            "from": min(c.first_seen for c in group).isoformat(),
            "to": max(c.last_seen for c in group).isoformat(),
            "tracks": ",".join(str(c.track_id) for c in group),
            "case": case_ref,
        }
        links.append((code, f"/synopsis?{urlencode(span)}"))
    return links


SUMMARY_LABELS = {
    "camera": "cameras", "class": "class", "upper": "top", "lower": "legs", "vehicle": "vehicle",
    "carried": "carrying", "heading": "heading", "start": "from", "end": "to", "time_from": "time of day from",
    "time_to": "time of day to", "zone": "in zone",
}  # fmt: skip


def active_filters(fields: dict[str, Any] | None) -> list[str]:
    """The filters in force, as short "name: value" phrases for the collapsed filter panel's summary."""
    shown: list[str] = []
    for key, value in (fields or {}).items():
        words = ", ".join(value) if isinstance(value, list) else str(value or "")
        if not words or key in ("limit", "offset", "speed_unit", "size_unit", "line_direction"):
            continue
        if key in ("start", "end"):
            words = words.replace("T", " ", 1)
        shown.append(f"{SUMMARY_LABELS.get(key, key.replace('_', ' '))}: {words}")
    return shown


def _page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: AuditContext,
    **shown: Any,
) -> Response:
    page: dict[str, Any] = {"understanding": None, "fields": None, "results": None, "error": None, "q": "", **shown}
    return render(
        request,
        "search.html",
        user=user,
        section="search",
        choices=CHOICES,
        saved=list_saved_searches(db=db, user=user, context=context),
        case_ref=context.case_ref,
        case_query=urlencode({"case": context.case_ref}),
        zone_name=web_state(request).system.settings.timezone,
        active=active_filters(page["fields"]),
        **page,
    )


@router.get("/search")
def search_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, q: Text = "") -> Response:
    zone = web_state(request).system.settings.zone
    if not q.strip():  # no description yet: the filters can also be set directly
        return _page(request, db, user, context, fields=fields_of(TrackQuery(), zone))
    with refusal_shown_on(request, lambda exc: _page(request, db, user, context, q=q, error=exc.message)):
        understanding = understand(db, description=q, zone=zone)
        if understanding.refusal is not None:
            refuse_description(db, user=user, context=context, understanding=understanding)
    fields = fields_of(understanding.query, zone)
    return _page(request, db, user, context, q=q, understanding=understanding, fields=fields)


@router.get("/search/results")
def search_results(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, q: Text = ""
) -> Response:
    zone = web_state(request).system.settings.zone

    def refused(exc: VigilError) -> Response:  # the form as given, with the reason
        given = {key: request.query_params.getlist(key) for key in request.query_params}
        shown = fields_of(TrackQuery(), zone) | {k: v if k in LISTS else v[0] for k, v in given.items()}
        return _page(request, db, user, context, q=q, error=exc.message, fields=shown)

    with refusal_shown_on(request, refused):
        query = query_from_fields(request.query_params, zone)
        results = run_search(db=db, user=user, context=context, query=query, description=q, zone=zone)
    later = query.model_copy(update={"offset": query.offset + query.limit})
    return _page(
        request,
        db,
        user,
        context,
        q=q,
        fields=fields_of(query, zone),
        results=results,
        synopsis=synopsis_links(results.cards, context.case_ref),
        query_json=query.model_dump_json(exclude_defaults=True, exclude={"offset"}),
        here=f"/search/results?{query_string(query, zone, q=q, case=context.case_ref)}",
        next_page=f"/search/results?{query_string(later, zone, q=q, case=context.case_ref)}" if results.more else "",
    )


@router.post("/search/saved")
def search_save(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    name: FormText = "",
    query: FormText = "",
    description: FormText = "",
) -> Response:
    zone = web_state(request).system.settings.zone
    with refusal_goes_to(request, f"/search?{urlencode({'case': context.case_ref})}"):
        parsed = load_query(query)
    results = f"/search/results?{query_string(parsed, zone, q=description, case=context.case_ref)}"
    with refusal_goes_to(request, results):  # saved or not: the same results
        save_search(db=db, user=user, context=context, name=name, query=parsed, description=description)
    flash(request, f"Saved the search as “{' '.join(name.split())}” for case {context.case_ref}.", "ok")
    return RedirectResponse(results, status_code=303)


@router.get("/search/saved/{saved_id}")
def search_saved(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, saved_id: SavedId
) -> Response:
    zone = web_state(request).system.settings.zone
    saved, query = load_saved_search(db=db, user=user, context=context, saved_id=saved_id)
    target = query_string(query, zone, q=saved.description, case=context.case_ref)
    return RedirectResponse(f"/search/results?{target}", status_code=303)
