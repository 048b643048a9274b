"""Camera locations, their Privacy Impact Assessments, and the cameras at each location."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import Response

from vigil.db.base import utcnow
from vigil.domain.cameras import camera_code
from vigil.errors import InvalidInput
from vigil.governance.cameras.register import add_camera, camera_register
from vigil.governance.locations import add_location, add_pia, location_register
from vigil.governance.roles import Permission, role_has_permission
from vigil.governance.sites import edit_location, set_location_active
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.forms import optional_float, outcome, required_date, text
from vigil.web.rendering import render

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
LocationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class _SiteFields(TypedDict):
    name: str
    address: str
    latitude: float | None
    longitude: float | None


def _site(name: str, address: str, latitude: str, longitude: str) -> _SiteFields:
    """A location form's fields, checked (the add and edit forms share them)."""
    return _SiteFields(
        name=text(name, label="Name", max_chars=200),
        address=text(address, label="Address", max_chars=400),
        latitude=optional_float(latitude, label="Latitude"),
        longitude=optional_float(longitude, label="Longitude"),
    )


def location_id_of(value: str) -> int:
    if not value.strip().isdigit() or len(value.strip()) > 9:
        raise InvalidInput("choose a location")
    return int(value)


@router.get("/locations")
def locations_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    today = utcnow().date()
    register = location_register(db, actor=user, today=today)
    manager = role_has_permission(user.role, Permission.MANAGE_LOCATIONS)
    lacking = camera_register(db, actor=user, today=today, only_lacking_pia=True) if manager else []
    return render(
        request, "locations.html", user=user, section="locations", register=register, lacking=lacking, today=today
    )


@router.post("/locations")
def location_add(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    name: Field = "",
    address: Field = "",
    latitude: Field = "",
    longitude: Field = "",
) -> Response:
    def act() -> None:
        add_location(db, actor=user, **_site(name, address, latitude, longitude))

    return outcome(request, act, done=f"Location {name.strip()} added.", back="/locations")


@router.post("/pias")
def pia_add(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    location_id: Field = "",
    reference: Field = "",
    approved_purposes: Field = "",
    approved_on: Field = "",
    review_date: Field = "",
    approved_by: Field = "",
) -> Response:
    def act() -> None:
        add_pia(
            db,
            actor=user,
            location_id=location_id_of(location_id),
            reference=text(reference, label="PIA reference", max_chars=64),
            approved_purposes=text(approved_purposes, label="Approved purposes"),
            approved_on=required_date(approved_on, label="Approval date"),
            review_date=required_date(review_date, label="Review date"),
            approved_by=text(approved_by, label="Approved by", max_chars=200),
        )

    return outcome(request, act, done=f"PIA {reference.strip()} recorded.", back="/locations")


@router.post("/cameras")
def camera_add(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    location_id: Field = "",
    code: Field = "",
    name: Field = "",
    bearing_deg: Field = "",
) -> Response:
    def act() -> None:
        add_camera(
            db,
            actor=user,
            location_id=location_id_of(location_id),
            code=text(code, label="Code", max_chars=64),
            name=text(name, label="Name", max_chars=200),
            bearing_deg=optional_float(bearing_deg, label="Bearing"),
        )

    return outcome(request, act, done=f"Camera {camera_code(code)} added.", back="/locations")


@router.post("/locations/{location_id}/edit")
def location_edit(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    location_id: LocationId,
    name: Field = "",
    address: Field = "",
    latitude: Field = "",
    longitude: Field = "",
) -> Response:
    def act() -> None:
        edit_location(db, actor=user, location_id=location_id, **_site(name, address, latitude, longitude))

    return outcome(request, act, done=f"Location {name.strip()} updated.", back="/locations")


@router.post("/locations/{location_id}/active")
def location_active(
    request: Request, db: DbSession, user: CurrentUser, location_id: LocationId, active: Field = ""
) -> Response:
    enable = active == "true"
    done = f"Location {'re-activated' if enable else 'retired; its PIAs and cameras history are kept'}."
    return outcome(
        request,
        lambda: set_location_active(db, actor=user, location_id=location_id, active=enable),
        done=done,
        back="/locations",
    )
