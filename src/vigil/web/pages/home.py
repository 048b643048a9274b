"""The home page: who you are, your role, which capabilities you may use today, and (for supervisors) the cameras
whose recording has stopped."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from vigil.db.base import utcnow
from vigil.governance.access import capability_status
from vigil.live.recording_notice import recording_notices
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, db: DbSession, user: CurrentUser) -> Response:
    status = capability_status(db, user=user, today=utcnow().date())
    notices = recording_notices(db, user=user)  # supervisors only: cameras whose recording is failing
    return render(request, "home.html", user=user, section="home", capabilities=status, recording_notices=notices)
