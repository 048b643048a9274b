"""The officer side of the camera registry: the map, cameras near an incident, footage requests and statistics.

Everything here needs a login; the map and the search also need a stated case and purpose (they show where
residents' cameras are), and the services check the ``registry`` / ``requests`` capabilities and audit.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from vigil.analysis.timing import correct_start_time
from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.errors import InvalidInput, NotFound
from vigil.governance.audit import AuditContext
from vigil.governance.outbox import QUEUED
from vigil.registry.area import AreaQuery, cameras_in_area
from vigil.registry.cameras import export_geojson, map_markers
from vigil.registry.nearby import NearbyCamera, NearQuery, cameras_near, may_see_contacts
from vigil.registry.requests import analysis_status, case_requests, request_mail, revoke_request, send_requests
from vigil.registry.stats import registry_stats
from vigil.settings import Settings
from vigil.web.auth import CurrentUser
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.forms import optional_float, outcome, refusal_goes_to, text
from vigil.web.mail import deliver_now, flash_delivery
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
DEFAULT_RADIUS_M = 300.0


def vendor_dirs() -> dict[str, FilePath]:
    """Front-end packages served from their PyPI XStatic distributions (imported on use, not at start-up)."""
    import xstatic.pkg.leaflet as leaflet  # type: ignore[import-untyped]
    import xstatic.pkg.leaflet_markercluster as markercluster  # type: ignore[import-untyped]

    return {"leaflet": FilePath(leaflet.BASE_DIR), "leaflet-markercluster": FilePath(markercluster.BASE_DIR)}


@router.get("/static/vendor/{package}/{path:path}")
def vendor_file(package: str, path: str) -> Response:
    root = vendor_dirs().get(package)
    if root is None:
        raise NotFound("no such front-end package")
    target = (root / path).resolve()
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        raise NotFound("no such file")
    return FileResponse(target)


BASEMAP_LAYERS = ("land", "places")
BASEMAP_MAX_AGE_S = 7 * 24 * 3600


@router.get("/static/basemap/{layer}.geojson")
def basemap_layer(request: Request, layer: str) -> Response:
    """The offline base map's layers (vector GeoJSON shipped with vigil, see static/basemap/PROVENANCE.md),
    gzip-compressed for clients that take it and cached by the browser (ETag, a week)."""
    if layer not in BASEMAP_LAYERS:
        raise NotFound("no such base map layer")
    path = FilePath(__file__).resolve().parent.parent / "static" / "basemap" / f"{layer}.geojson"
    stat = path.stat()
    etag = f'"{layer}-{stat.st_size:x}-{int(stat.st_mtime):x}"'
    headers = {"Cache-Control": f"public, max-age={BASEMAP_MAX_AGE_S}", "ETag": etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    data = path.read_bytes()
    if "gzip" in request.headers.get("accept-encoding", ""):
        data, headers["Content-Encoding"] = gzip.compress(data, compresslevel=6), "gzip"
    return Response(data, media_type="application/geo+json", headers=headers)


def local_time(value: str, settings: Settings, *, label: str) -> datetime:
    """A ``datetime-local`` form value, read in the force's time zone."""
    value = text(value, label=label, max_chars=40)
    if not value:
        raise InvalidInput(f"{label} is required")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{label} must be a date and time (YYYY-MM-DDTHH:MM)") from None
    return parsed.replace(tzinfo=settings.zone) if parsed.tzinfo is None else parsed


def _query(lat: str, lon: str, radius: str, at: str, settings: Settings) -> NearQuery:
    latitude = optional_float(lat, label="Latitude")
    longitude = optional_float(lon, label="Longitude")
    if latitude is None or longitude is None:
        raise InvalidInput("give the incident's latitude and longitude (click the map)")
    return NearQuery(
        latitude=latitude,
        longitude=longitude,
        radius_m=optional_float(radius, label="Radius") or DEFAULT_RADIUS_M,
        incident_at=local_time(at, settings, label="Incident time"),
    )


def _vertices(area: str) -> tuple[tuple[float, float], ...]:
    """The drawn area's corners from the hidden form field: JSON ``[[lat, lon], ...]``."""
    try:
        parsed = json.loads(area)
    except ValueError:
        raise InvalidInput("the drawn area could not be read: draw it again") from None
    if not isinstance(parsed, list) or not all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(c, int | float) for c in v) for v in parsed
    ):
        raise InvalidInput("the drawn area could not be read: draw it again")
    return tuple((float(v[0]), float(v[1])) for v in parsed)


def _area_query(area: str, radius: str, at: str, settings: Settings) -> AreaQuery:
    metres = optional_float(radius, label="Radius")
    return AreaQuery(
        vertices=_vertices(area),
        radius_m=DEFAULT_RADIUS_M if metres is None else metres,
        incident_at=local_time(at, settings, label="Incident time"),
    )


def _cameras_found(
    db: Session,
    settings: Settings,
    user: User,
    context: AuditContext,
    *,
    lat: str,
    lon: str,
    radius: str,
    at: str,
    area: str,
) -> tuple[list[NearbyCamera] | None, str]:
    """The cameras in the drawn area or near the point (None when nothing was asked) and the error to show inline."""
    try:
        if area:
            found = _area_query(area, radius, at, settings)
            return cameras_in_area(db, settings=settings, user=user, context=context, query=found), ""
        if lat or lon:
            query = _query(lat, lon, radius, at, settings)
            return cameras_near(db, settings=settings, user=user, context=context, query=query), ""
    except InvalidInput as exc:
        return None, exc.message
    return None, ""


@router.get("/registry")
def registry_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    lat: Annotated[str, Query(max_length=40)] = "",
    lon: Annotated[str, Query(max_length=40)] = "",
    radius: Annotated[str, Query(max_length=40)] = "",
    at: Annotated[str, Query(max_length=40)] = "",
    area: Annotated[str, Query(max_length=4000)] = "",
) -> Response:
    settings = web_state(request).system.settings
    results, error = _cameras_found(db, settings, user, context, lat=lat, lon=lon, radius=radius, at=at, area=area)
    return render(
        request,
        "registry_map.html",
        user=user,
        section="registry",
        registry=settings.registry,
        form={"lat": lat, "lon": lon, "area": area, "radius": radius or f"{DEFAULT_RADIUS_M:g}", "at": at},
        results=results,
        error=error,
        contacts=may_see_contacts(db, user, utcnow()),
        case_query=urlencode({"case": context.case_ref}),
        zone=settings.zone,
    )


@router.get("/registry/markers.json")
def registry_markers(db: DbSession, user: CurrentUser, context: WorkingContext) -> Response:
    return JSONResponse(map_markers(db, user=user, context=context))


def _owner_ids(values: list[Any]) -> list[int]:
    owners = [str(value) for value in values]
    if not all(owner.isdigit() and len(owner) < 10 for owner in owners):
        raise InvalidInput("choose owners from the search results")
    return [int(owner) for owner in owners]


@router.post("/registry/requests")
async def request_send(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    window_start: Field = "",
    window_end: Field = "",
    message: Field = "",
) -> Response:
    settings = web_state(request).system.settings
    owners = (await request.form()).getlist("owner")
    back = "/registry/requests?" + urlencode({"case": context.case_ref})
    with refusal_goes_to(request, request.headers.get("referer") or back):
        sent = send_requests(
            db,
            settings=settings,
            user=user,
            context=context,
            owner_ids=_owner_ids(owners),
            window_start=local_time(window_start, settings, label="Start of the time window"),
            window_end=local_time(window_end, settings, label="End of the time window"),
            message=text(message, label="Message", max_chars=2000),
        )
    delivery = deliver_now(request, db, [s.message_id for s in sent])  # after the requests have committed
    sent_note = f"Footage requests sent: {delivery.sent} email(s) delivered to the mail server."
    flash_delivery(request, delivery, sent=sent_note, saved="Footage requests saved.")
    return RedirectResponse(back, status_code=303)


@router.post("/registry/requests/retry-mail")
def request_mail_retry(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext) -> Response:
    """Try the case's queued request emails again now (the outbox also retries them on its own)."""
    back = "/registry/requests?" + urlencode({"case": context.case_ref})
    listed = case_requests(db, user=user, context=context)
    queued = [m.id for m in request_mail(db, listed).values() if m.status == QUEUED]
    delivery = deliver_now(request, db, queued)
    flash_delivery(request, delivery, sent=f"{delivery.sent} queued email(s) sent.", saved="")
    return RedirectResponse(back, status_code=303)


@router.get("/registry/requests")
def requests_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext) -> Response:
    settings = web_state(request).system.settings
    listed = case_requests(db, user=user, context=context)
    return render(
        request,
        "registry_requests.html",
        user=user,
        section="registry",
        requests=listed,
        jobs=analysis_status(db, listed),
        mail=request_mail(db, listed),
        zone=settings.zone,
        case_query=urlencode({"case": context.case_ref}),
    )


@router.post("/registry/requests/{request_id}/revoke")
def request_revoke(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, request_id: int
) -> Response:
    back = "/registry/requests?" + urlencode({"case": context.case_ref})
    return outcome(
        request,
        lambda: revoke_request(db, user=user, context=context, request_id=request_id),
        done=f"Request {request_id} withdrawn: its link no longer works.",
        back=back,
    )


@router.post("/footage/{footage_id}/recording-time")
def recording_time_correct(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    footage_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    start_time: Field = "",
    reason: Field = "",
) -> Response:
    """An investigator of the case corrects a footage's recording start (audited; its tracks follow)."""
    settings = web_state(request).system.settings

    def act() -> None:
        start = local_time(start_time, settings, label="Recording start")
        correct_start_time(
            db, settings=settings, user=user, context=context, footage_id=footage_id, start_time=start, reason=reason
        )

    back = request.headers.get("referer") or "/registry/requests?" + urlencode({"case": context.case_ref})
    return outcome(request, act, done=f"Recording time of footage {footage_id} corrected.", back=back)


@router.get("/registry/stats")
def stats_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    stats = registry_stats(db, user=user)
    return render(request, "registry_stats.html", user=user, section="registry", stats=stats)


@router.get("/registry/cameras.geojson")
def cameras_export(db: DbSession, user: CurrentUser) -> Response:
    collection = export_geojson(db, user=user)
    return Response(
        json.dumps(collection, indent=1),
        media_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="cameras.geojson"'},
    )
