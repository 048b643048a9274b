"""The camera registry: cameras near an incident or in a drawn area, and footage requests to their owners.

The same services as the registry pages check the registry or requests capability and audit (``registry.near``,
``registry.area``, ``registry.owner.view``, ``registry.request.send``, ``registry.request.revoke``). Request
emails go to the outbox with the requests and are sent once those are committed (no transaction is held while
sending); each request shows its email's state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import JSONResponse

from vigil.db.base import utcnow
from vigil.registry.area import AreaQuery, cameras_in_area
from vigil.registry.cameras import export_geojson
from vigil.registry.nearby import NearQuery, cameras_near
from vigil.registry.requests import case_requests, request_mail, revoke_request, send_requests
from vigil.registry.stats import registry_stats
from vigil.web.api.access import ERRORS, ApiUser
from vigil.web.api.common import NOT_FOUND, ApiContext, Limit, Offset, page_of
from vigil.web.api.registry_schemas import (
    AreaRequest,
    FootageRequestList,
    FootageRequestReply,
    FootageRequestsRequest,
    NearbyCameraReply,
    RegistryStatsReply,
    SentReply,
)
from vigil.web.api.schemas import RowId
from vigil.web.deps import DbSession
from vigil.web.forms import as_utc
from vigil.web.mail import deliver_now
from vigil.web.state import web_state

router = APIRouter(prefix="/registry", tags=["registry"], responses=ERRORS)


def _incident(at: datetime | None) -> datetime:
    return as_utc(at, label="incident time") or utcnow()


@router.get("/cameras/near", response_model=list[NearbyCameraReply])
def cameras_near_point(
    request: Request,
    db: DbSession,
    user: ApiUser,
    context: ApiContext,
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Incident latitude (WGS84).")],
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Incident longitude (WGS84).")],
    radius_m: Annotated[float, Query(gt=0, le=100_000, allow_inf_nan=False, description="Search radius.")] = 200.0,
    at: Annotated[datetime | None, Query(description="When the incident happened (UTC if no offset; now).")] = None,
) -> list[NearbyCameraReply]:
    """Registered and force cameras near an incident, most useful first (owners' contacts for those allowed)."""
    query = NearQuery(latitude=lat, longitude=lon, radius_m=radius_m, incident_at=_incident(at))
    settings = web_state(request).system.settings
    found = cameras_near(db, settings=settings, user=user, context=context, query=query)
    return [NearbyCameraReply.of(camera) for camera in found]


@router.post("/cameras/area", response_model=list[NearbyCameraReply])
def cameras_in_drawn_area(
    request: Request, db: DbSession, user: ApiUser, context: ApiContext, body: AreaRequest
) -> list[NearbyCameraReply]:
    """Registered and force cameras in or near a drawn area, most useful first."""
    query = AreaQuery(
        vertices=tuple((v[0], v[1]) for v in body.vertices),
        radius_m=body.radius_m,
        incident_at=_incident(body.incident_at),
    )
    settings = web_state(request).system.settings
    found = cameras_in_area(db, settings=settings, user=user, context=context, query=query)
    return [NearbyCameraReply.of(camera) for camera in found]


@router.get("/requests", response_model=FootageRequestList)
def requests_list(
    db: DbSession, user: ApiUser, context: ApiContext, offset: Offset = 0, limit: Limit = 50
) -> FootageRequestList:
    """The case's footage requests, oldest first, each with its email's state."""
    items, page = page_of(case_requests(db, user=user, context=context), offset=offset, limit=limit)
    mail = request_mail(db, items)
    return FootageRequestList(items=[FootageRequestReply.of(r, mail.get(r.id)) for r in items], page=page)


@router.post("/requests", status_code=201, response_model=SentReply)
def requests_send(
    request: Request, db: DbSession, user: ApiUser, context: ApiContext, body: FootageRequestsRequest
) -> SentReply:
    """Ask camera owners (from a search's results) for their footage of a time window; one emailed link each."""
    settings = web_state(request).system.settings
    start, end = as_utc(body.window_start, label="window_start"), as_utc(body.window_end, label="window_end")
    assert start is not None and end is not None  # required fields
    sent = send_requests(
        db,
        settings=settings,
        user=user,
        context=context,
        owner_ids=body.owner_ids,
        window_start=start,
        window_end=end,
        message=body.message,
    )
    delivery = deliver_now(request, db, [s.message_id for s in sent])  # commits first, then sends
    listed = [s.request for s in sent]
    mail = request_mail(db, listed)
    return SentReply(
        requests=[FootageRequestReply.of(r, mail.get(r.id)) for r in listed],
        emails_sent=delivery.sent,
        emails_queued=delivery.queued,
    )


@router.post("/requests/{request_id}/revoke", response_model=FootageRequestReply, responses=NOT_FOUND)
def requests_revoke(
    db: DbSession, user: ApiUser, context: ApiContext, request_id: Annotated[RowId, Path(description="Request id.")]
) -> FootageRequestReply:
    """Withdraw one of the case's requests: its link stops working."""
    revoked = revoke_request(db, user=user, context=context, request_id=request_id)
    return FootageRequestReply.of(revoked, request_mail(db, [revoked]).get(revoked.id))


@router.get("/stats", response_model=RegistryStatsReply)
def registry_statistics(db: DbSession, user: ApiUser) -> RegistryStatsReply:
    """Counts without personal data: registrations, cameras and how requests were answered (supervisors)."""
    return RegistryStatsReply.of(registry_stats(db, user=user))


@router.get("/force-cameras.geojson", responses={200: {"content": {"application/geo+json": {}}}})
def force_cameras(db: DbSession, user: ApiUser) -> JSONResponse:
    """The force's located cameras as a GeoJSON FeatureCollection, with their PIA status (audited)."""
    return JSONResponse(export_geojson(db, user=user), media_type="application/geo+json")
