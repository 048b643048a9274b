"""Camera locations, their Privacy Impact Assessments, and cameras."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from vigil.db.base import utcnow
from vigil.db.models import PrivacyImpactAssessment
from vigil.governance.camera_sources import set_source, source_policy
from vigil.governance.cameras.register import CameraStatus, add_camera, camera_register
from vigil.governance.locations import LocationStatus, add_location, add_pia, current_pia, location_register
from vigil.web.api.access import ERRORS, ApiUser, Responses
from vigil.web.api.schemas import CameraReply, CameraRequest, LocationReply, LocationRequest, Pia, PiaRequest
from vigil.web.deps import DbSession
from vigil.web.state import web_state

router = APIRouter(responses=ERRORS)

CONFLICT: Responses = {409: {"description": "Already exists"}, 404: {"description": "No such location"}}


def pia_reply(pia: PrivacyImpactAssessment | None) -> Pia | None:
    if pia is None:
        return None
    return Pia(
        reference=pia.reference,
        approved_purposes=pia.approved_purposes,
        approved_on=pia.approved_on,
        review_date=pia.review_date,
        approved_by=pia.approved_by,
    )


def location_reply(status: LocationStatus) -> LocationReply:
    loc = status.location
    return LocationReply(
        id=loc.id,
        name=loc.name,
        address=loc.address,
        latitude=loc.latitude,
        longitude=loc.longitude,
        current_pia=pia_reply(status.pia),
        cameras=[camera.code for camera in loc.cameras],
    )


def camera_reply(status: CameraStatus) -> CameraReply:
    cam = status.camera
    return CameraReply(
        code=cam.code,
        name=cam.name,
        location_id=cam.location_id,
        location=cam.location.name,
        bearing_deg=cam.bearing_deg,
        pia_current=status.pia is not None,
        pia_reference=status.pia.reference if status.pia else None,
    )


@router.get("/locations", response_model=list[LocationReply], tags=["locations"])
def locations_list(db: DbSession, user: ApiUser) -> list[LocationReply]:
    """Every camera location with its current PIA (if any) and its cameras."""
    return [location_reply(s) for s in location_register(db, actor=user, today=utcnow().date())]


@router.post("/locations", status_code=201, response_model=LocationReply, tags=["locations"], responses=CONFLICT)
def location_create(db: DbSession, user: ApiUser, body: LocationRequest) -> LocationReply:
    """Add a camera location (supervisors and administrators)."""
    location = add_location(
        db, actor=user, name=body.name, address=body.address, latitude=body.latitude, longitude=body.longitude
    )
    return location_reply(LocationStatus(location, None))


@router.post(
    "/locations/{location_id}/pias", status_code=201, response_model=Pia, tags=["locations"], responses=CONFLICT
)
def pia_create(
    db: DbSession,
    user: ApiUser,
    body: PiaRequest,
    location_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="Location id.")],
) -> Pia:
    """Record a Privacy Impact Assessment for a location (supervisors and administrators)."""
    pia = add_pia(
        db,
        actor=user,
        location_id=location_id,
        reference=body.reference,
        approved_purposes=body.approved_purposes,
        approved_on=body.approved_on,
        review_date=body.review_date,
        approved_by=body.approved_by,
    )
    reply = pia_reply(pia)
    assert reply is not None
    return reply


@router.get("/cameras", response_model=list[CameraReply], tags=["cameras"])
def cameras_list(
    db: DbSession,
    user: ApiUser,
    lacking_pia: Annotated[bool, Query(description="Only cameras whose location has no current PIA.")] = False,
) -> list[CameraReply]:
    """Every camera with its PIA status."""
    statuses = camera_register(db, actor=user, today=utcnow().date(), only_lacking_pia=lacking_pia)
    return [camera_reply(s) for s in statuses]


@router.post("/cameras", status_code=201, response_model=CameraReply, tags=["cameras"], responses=CONFLICT)
def camera_create(request: Request, db: DbSession, user: ApiUser, body: CameraRequest) -> CameraReply:
    """Register a camera at a location (supervisors and administrators), with its live source if given."""
    camera = add_camera(
        db, actor=user, code=body.code, name=body.name, location_id=body.location_id, bearing_deg=body.bearing_deg
    )
    if body.stream_url:  # sealed in the camera source register, never stored in clear
        policy = source_policy(web_state(request).system.settings)
        set_source(db, user=user, camera_code=camera.code, url=body.stream_url, policy=policy)
    return camera_reply(CameraStatus(camera, current_pia(camera.location, utcnow().date())))
