"""The live sources of force cameras (administrators and supervisors): set, replace, remove; shown masked only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from vigil.db.base import utcnow
from vigil.governance.camera_sources import clear_source, list_sources, set_source, source_policy
from vigil.governance.cameras.register import camera_register
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.forms import outcome
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=600)]


@router.get("/cameras/sources")
def sources_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    sources = list_sources(db, user=user)
    cameras = [status.camera for status in camera_register(db, actor=user, today=utcnow().date())]
    settings = web_state(request).system.settings
    return render(
        request,
        "camera_sources.html",
        user=user,
        section="locations",
        sources=sources,
        cameras=cameras,
        allow_files=settings.faces.allow_file_sources,
        zone=settings.zone,
    )


@router.post("/cameras/sources")
def source_set(
    request: Request, db: DbSession, user: CurrentUser, camera: Field = "", url: Field = "", recording: Field = ""
) -> Response:
    policy = source_policy(web_state(request).system.settings)
    code = camera.strip().upper()
    return outcome(
        request,
        lambda: set_source(db, user=user, camera_code=camera, url=url, policy=policy, recording=recording or None),
        done=f"Camera {code}: live source set.",
        back="/cameras/sources",
    )


@router.post("/cameras/sources/clear")
def source_clear(request: Request, db: DbSession, user: CurrentUser, camera: Field = "") -> Response:
    return outcome(
        request,
        lambda: clear_source(db, user=user, camera_code=camera),
        done=f"Camera {camera.strip().upper()}: live source removed.",
        back="/cameras/sources",
    )
