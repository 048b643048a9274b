"""A force camera's page: edit or retire it, and draw its zones and lines on a still of its view."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import Response

from vigil.analysis.stills import camera_still, newest_footage
from vigil.db.base import utcnow
from vigil.domain.cameras import Line, Zone
from vigil.errors import InvalidInput
from vigil.governance.cameras.geometry import camera_geometry, set_camera_zones
from vigil.governance.cameras.ground import calibrate_from_points
from vigil.governance.locations import location_register
from vigil.governance.sites import edit_camera, managed_camera, set_camera_active
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.forms import optional_float, outcome, text
from vigil.web.pages.locations import location_id_of
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
Drawing = Annotated[str, Form(max_length=200_000)]
Code = Annotated[str, Path(max_length=64)]


@router.get("/cameras/{code}")
def camera_page(request: Request, db: DbSession, user: CurrentUser, code: Code) -> Response:
    camera = managed_camera(db, actor=user, code=code)
    geometry = camera_geometry(camera)
    drawing = {
        "zones": [{"name": zone.name, "polygon": zone.polygon} for zone in geometry.zones],
        "lines": [{"name": ln.name, "a": ln.a, "b": ln.b, "direction": ln.direction} for ln in geometry.lines],
    }
    return render(
        request,
        "camera.html",
        user=user,
        section="locations",
        camera=camera,
        footage=newest_footage(db, camera.id),
        drawing=drawing,
        drawing_json=json.dumps(drawing),
        locations=[entry.location for entry in location_register(db, actor=user, today=utcnow().date())],
    )


@router.get("/cameras/{code}/still.jpg")
def camera_still_image(request: Request, db: DbSession, user: CurrentUser, code: Code) -> Response:
    still = camera_still(db, actor=user, code=code, settings=web_state(request).system.settings)
    return Response(still.jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.post("/cameras/{code}/edit")
def camera_edit(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    code: Code,
    name: Field = "",
    location_id: Field = "",
    bearing_deg: Field = "",
) -> Response:
    def act() -> None:
        edit_camera(
            db,
            actor=user,
            code=code,
            name=text(name, label="Name", max_chars=200),
            location_id=location_id_of(location_id),
            bearing_deg=optional_float(bearing_deg, label="Bearing"),
        )

    return outcome(request, act, done=f"Camera {code.upper()} updated.", back=f"/cameras/{code}")


@router.post("/cameras/{code}/active")
def camera_active(request: Request, db: DbSession, user: CurrentUser, code: Code, active: Field = "") -> Response:
    enable = active == "true"
    done = f"Camera {code.upper()} {'re-activated' if enable else 'retired; its footage and tracks are kept'}."
    return outcome(
        request,
        lambda: set_camera_active(db, actor=user, code=code, active=enable),
        done=done,
        back=f"/cameras/{code}",
    )


def _parse_drawing(raw: str) -> tuple[list[Zone], list[Line]]:
    """The zones and lines the page's drawing tool sends (JSON); shapes are checked again by the service."""
    try:
        data: Any = json.loads(raw or "{}")
        zones = [
            Zone(str(z["name"]), tuple((float(x), float(y)) for x, y in z["polygon"])) for z in data.get("zones", [])
        ]
        lines = [
            Line(str(ln["name"]), (float(ln["a"][0]), float(ln["a"][1])), (float(ln["b"][0]), float(ln["b"][1])),
                 ln.get("direction", "either"))
            for ln in data.get("lines", [])
        ]  # fmt: skip
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        raise InvalidInput("the drawing could not be read; reload the page and draw again") from None
    return zones, lines


@router.post("/cameras/{code}/drawing")
def camera_drawing(request: Request, db: DbSession, user: CurrentUser, code: Code, drawing: Drawing = "") -> Response:
    def act() -> None:
        zones, lines = _parse_drawing(drawing)
        set_camera_zones(db, actor=user, code=code, zones=zones, lines=lines)

    return outcome(request, act, done="Zones and lines saved.", back=f"/cameras/{code}")


Numbers = Annotated[list[str], Form(max_length=60)]


def _points(xs: list[str], ys: list[str], label: str) -> list[tuple[float, float]]:
    if len(xs) != len(ys):
        raise InvalidInput(f"every {label} point needs both coordinates")
    points = []
    for number, (x, y) in enumerate(zip(xs, ys, strict=True), start=1):
        px = optional_float(x, label=f"{label} x of point {number}")
        py = optional_float(y, label=f"{label} y of point {number}")
        if px is None or py is None:
            raise InvalidInput(f"give the {label} x and y of point {number}")
        points.append((px, py))
    return points


@router.post("/cameras/{code}/calibration")
def camera_calibration(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    code: Code,
    image_x: Numbers = [],  # noqa: B006 (FastAPI copies form defaults)
    image_y: Numbers = [],  # noqa: B006
    ground_x: Numbers = [],  # noqa: B006
    ground_y: Numbers = [],  # noqa: B006
) -> Response:
    def act() -> None:
        camera = managed_camera(db, actor=user, code=code)
        footage = newest_footage(db, camera.id)
        if footage is None:
            raise InvalidInput(f"camera {camera.code} has no footage to calibrate on yet")
        calibrate_from_points(
            db,
            actor=user,
            code=code,
            image_points=_points(image_x, image_y, "picture"),
            ground_points=_points(ground_x, ground_y, "ground"),
            image_size=(footage.width, footage.height),
        )

    return outcome(
        request,
        act,
        done="Calibration saved: heights and speeds of footage analysed from now on are in metres.",
        back=f"/cameras/{code}",
    )
