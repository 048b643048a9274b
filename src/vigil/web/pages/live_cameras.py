"""The live cameras page: each supervised camera's health (a view of cameras, so it is audited)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from vigil.live.store import camera_health
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)


@router.get("/live")
def live_cameras_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    system = web_state(request).system
    codes = [source.camera_code for source in system.live.resolver.sources()]
    cameras = camera_health(db, user=user, codes=codes, context="web")
    return render(request, "live_cameras.html", user=user, section="live", cameras=cameras)
