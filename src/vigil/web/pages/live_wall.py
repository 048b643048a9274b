"""The camera wall: live pictures of every camera, one camera large, bookmarks of moments for a case.

The viewer states a purpose (and case, if any) once per view session; the session's id rides in the signed
session cookie, never in a URL. Pictures are the JPEGs the camera workers write (refreshed by static/live_wall.js).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from vigil.db.base import utcnow
from vigil.db.live_models import LiveHealth
from vigil.db.models import User
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.live.recording_notice import recording_notices
from vigil.live.sources import camera_codes
from vigil.live.viewing import (
    ViewSession,
    add_bookmark,
    check_watcher,
    current_view,
    list_bookmarks,
    open_bookmark,
    open_camera,
    start_view,
    wall_health,
    wall_picture,
)
from vigil.web.auth import CurrentUser, flash
from vigil.web.context import WorkingContext, remember_context
from vigil.web.deps import DbSession
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

VIEW_KEY = "live_view"
CameraCode = Annotated[str, Path(max_length=64)]
NO_STORE = {"Cache-Control": "no-store"}


def _cameras(request: Request, db: Session) -> list[str]:
    return camera_codes(web_state(request).system.settings, db)


def _view(request: Request, db: Session, user: User) -> ViewSession:
    session = current_view(db, user=user, view_id=request.session.get(VIEW_KEY), now=utcnow())
    if session is None:
        raise NotPermitted("state your purpose on the camera wall first: the view session has not started or ended")
    return session


@router.get("/live/wall")
def wall_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    check_watcher(db, user=user, now=utcnow())
    session = current_view(db, user=user, view_id=request.session.get(VIEW_KEY), now=utcnow())
    codes = _cameras(request, db)
    cameras = wall_health(db, codes) if session is not None else []
    notices = recording_notices(db, user=user)
    return render(
        request,
        "live_wall.html",
        user=user,
        section="live_wall",
        session=session,
        cameras=cameras,
        recording_notices=notices,
    )


@router.post("/live/wall/view")
def wall_start(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    purpose: Annotated[str, Form(max_length=4000)] = "",
    case_ref: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    settings = web_state(request).system.settings
    try:
        session = start_view(
            db,
            user=user,
            purpose=purpose,
            case_ref=case_ref,
            hours=settings.live.view_hours,
            cameras=_cameras(request, db),
            now=utcnow(),
        )
    except InvalidInput as exc:
        flash(request, exc.message, "error")
        return RedirectResponse("/live/wall", status_code=303)
    request.session[VIEW_KEY] = session.view.id
    if session.context.case_ref:  # the purpose stated for the case also opens its bookmarks and recordings
        remember_context(request, session.context)
    return RedirectResponse("/live/wall", status_code=303)


@router.post("/live/wall/view/end")
def wall_end(request: Request, user: CurrentUser) -> Response:
    request.session.pop(VIEW_KEY, None)
    flash(request, "View session ended.")
    return RedirectResponse("/live/wall", status_code=303)


@router.get("/live/wall/health")
def wall_health_json(request: Request, db: DbSession, user: CurrentUser) -> Response:
    _view(request, db, user)
    rows = wall_health(db, _cameras(request, db))
    return JSONResponse([_health(row) for row in rows], headers=NO_STORE)


def _health(row: LiveHealth) -> dict[str, object]:
    return {
        "camera": row.camera_code,
        "state": row.state,
        "since": row.since.isoformat() if row.since else None,
        "reason": row.reason or "",
        "resolution": f"{row.width}×{row.height}" if row.width else "",
        "recording": row.recording or "",
        "node": f"node {row.node}" if row.node else "",
    }


@router.get("/live/wall/cameras/{camera_code}/picture.jpg")
def wall_picture_file(request: Request, db: DbSession, user: CurrentUser, camera_code: CameraCode) -> Response:
    session = _view(request, db, user)
    spool = web_state(request).system.settings.live_spool_dir
    path = wall_picture(
        db,
        user=user,
        session=session,
        camera_code=camera_code,
        known=set(_cameras(request, db)),
        spool_dir=spool,
        now=utcnow(),
    )
    if path is None:
        raise NotFound("no picture from this camera yet")
    return FileResponse(path, media_type="image/jpeg", headers=NO_STORE)


@router.post("/live/wall/cameras/{camera_code}/open")
def wall_open(request: Request, db: DbSession, user: CurrentUser, camera_code: CameraCode) -> Response:
    session = _view(request, db, user)
    open_camera(db, user=user, session=session, camera_code=camera_code, known=set(_cameras(request, db)), now=utcnow())
    return JSONResponse({"camera": camera_code, "purpose": session.context.purpose}, headers=NO_STORE)


@router.post("/live/wall/cameras/{camera_code}/bookmark")
def wall_bookmark(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    camera_code: CameraCode,
    at: Annotated[str, Form(max_length=64)],
    note: Annotated[str, Form(max_length=4000)] = "",
    case_ref: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    session = _view(request, db, user)
    moment = _moment(at)
    bookmark = add_bookmark(
        db,
        user=user,
        session=session,
        camera_code=camera_code,
        at=moment,
        note=note,
        case_ref=case_ref,
        known=set(_cameras(request, db)),
        now=utcnow(),
    )
    case = case_ref.strip() or session.context.case_ref
    link = f"/live/bookmarks/{bookmark.id}?{urlencode({'case': case})}"
    return JSONResponse({"id": bookmark.id, "at": bookmark.at.isoformat(), "link": link}, headers=NO_STORE)


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("the bookmarked moment must be an ISO time, e.g. 2026-12-05T13:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput("the bookmarked moment needs a time zone")
    return moment.astimezone(UTC)


@router.get("/live/bookmarks")
def bookmarks_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext) -> Response:
    rows = list_bookmarks(db, user=user, context=context)
    return render(request, "live_bookmarks.html", user=user, section="live_wall", bookmarks=rows, context=context)


@router.get("/live/bookmarks/{bookmark_id}")
def bookmark_open(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, bookmark_id: Annotated[int, Path(ge=1)]
) -> Response:
    moment = open_bookmark(db, user=user, bookmark_id=bookmark_id, context=context)
    if moment.footage_id is None:
        flash(request, "The moment is still being recorded: its segment is stored when it is finished.", "warn")
        return RedirectResponse(f"/live/bookmarks?{urlencode({'case': context.case_ref})}", status_code=303)
    query = urlencode({"t": f"{moment.offset_s:.2f}", "case": context.case_ref})
    return RedirectResponse(f"/footage/{moment.footage_id}/video?{query}", status_code=303)
