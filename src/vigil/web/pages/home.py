"""The home page: who you are, your role, and which capabilities you may use today."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from vigil.db.base import utcnow
from vigil.governance.access import capability_status
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, db: DbSession, user: CurrentUser) -> Response:
    status = capability_status(db, user=user, today=utcnow().date())
    return render(request, "home.html", user=user, section="home", capabilities=status)
