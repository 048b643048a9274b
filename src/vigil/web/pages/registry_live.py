"""Integrated cameras on the officer's side: ask for or open a live view of an owner's shared camera, watch it
(pictures polled about twice a second while it is live), and close it.

The services check the ``registry`` capability, training, case and purpose, and audit; these routes only start a
view's reader (after the request's database work) and hand out its latest picture while the view is live.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from vigil.db.base import utcnow
from vigil.errors import InvalidInput
from vigil.registry.live_views import (
    end_view,
    is_live,
    officer_view,
    request_recording,
    request_view,
    shared_camera,
    stream_of,
)
from vigil.registry.sharing import SHARING
from vigil.web.auth import CurrentUser, flash
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.forms import refusal_goes_to
from vigil.web.mail import deliver_now, flash_delivery
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _view_url(view_id: int, case_ref: str) -> str:
    return f"/registry/live/views/{view_id}?" + urlencode({"case": case_ref})


@router.get("/registry/live/{camera_id}")
def camera_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, camera_id: Id) -> Response:
    settings = web_state(request).system.settings
    camera = shared_camera(db, settings=settings, user=user, context=context, camera_id=camera_id)
    return render(
        request,
        "registry_live_camera.html",
        user=user,
        section="registry",
        camera=camera,
        sharing=camera.status == SHARING,
        case_query=urlencode({"case": context.case_ref}),
    )


@router.post("/registry/live/{camera_id}/views")
def view_start(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    camera_id: Id,
    minutes: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    settings = web_state(request).system.settings
    back = f"/registry/live/{camera_id}?" + urlencode({"case": context.case_ref})
    with refusal_goes_to(request, back):
        wanted = _minutes(minutes)
        requested = request_view(db, settings=settings, user=user, context=context, camera_id=camera_id, minutes=wanted)
    view_id, emergency = requested.view.id, requested.view.emergency
    delivery = deliver_now(request, db, [requested.message_id])  # after the view has committed
    if emergency:
        flash_delivery(request, delivery, sent="Emergency view opened; the owner has been told.")
    else:
        flash_delivery(request, delivery, sent="The owner has been asked; the view opens when they approve.")
    return RedirectResponse(_view_url(view_id, context.case_ref), status_code=303)


def _minutes(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        raise InvalidInput("give the view's length as a number of minutes") from None


@router.get("/registry/live/views/{view_id}")
def view_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, view_id: Id) -> Response:
    view = officer_view(db, user=user, context=context, view_id=view_id)
    return render(
        request,
        "registry_live_view.html",
        user=user,
        section="registry",
        view=view,
        zone=web_state(request).system.settings.zone,
        case_query=urlencode({"case": context.case_ref}),
    )


def _state(view_status: str, live: bool, ends_at: datetime | None, reason: str) -> dict[str, object]:
    return {
        "status": view_status,
        "live": live,
        "ends_at": ends_at.isoformat() if ends_at else None,
        "reason": reason,
    }


@router.get("/registry/live/views/{view_id}/state")
def view_state(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, view_id: Id) -> Response:
    settings = web_state(request).system.settings
    view = officer_view(db, user=user, context=context, view_id=view_id)
    live = is_live(view, settings=settings, now=utcnow())
    return JSONResponse(_state(view.status, live, view.ends_at, view.end_reason))


@router.get("/registry/live/views/{view_id}/picture")
def view_picture(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, view_id: Id) -> Response:
    """The view's latest picture while it is live (204 until the first arrives; 409 once it is not live)."""
    state = web_state(request)
    settings, pool = state.system.settings, state.viewers
    view = officer_view(db, user=user, context=context, view_id=view_id)
    now = utcnow()
    if pool is None or not is_live(view, settings=settings, now=now):
        if pool is not None:
            pool.stop([view_id])
        return JSONResponse(_state(view.status, False, view.ends_at, view.end_reason), status_code=409)
    assert view.ends_at is not None
    if pool.is_running(view_id):
        db.commit()  # no transaction stays open while the picture is read
    else:
        url, seconds = stream_of(db, settings=settings, view=view), (view.ends_at - now).total_seconds()
        db.commit()  # ...or while the reader starts
        pool.ensure(view_id, url=url, seconds=seconds)
    picture = pool.picture(view_id)
    if picture is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/registry/live/views/{view_id}/end")
def view_end(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, view_id: Id) -> Response:
    with refusal_goes_to(request, _view_url(view_id, context.case_ref)):
        end_view(db, user=user, context=context, view_id=view_id, reason="the officer closed the view")
    db.commit()
    pool = web_state(request).viewers
    if pool is not None:
        pool.stop([view_id])
    flash(request, "View closed.", "ok")
    return RedirectResponse(_view_url(view_id, context.case_ref), status_code=303)


@router.post("/registry/live/views/{view_id}/recording")
def view_recording(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, view_id: Id
) -> Response:
    """Ask the owner for a recording of the view's period (a footage request with its own upload link)."""
    settings = web_state(request).system.settings
    with refusal_goes_to(request, _view_url(view_id, context.case_ref)):
        sent = request_recording(db, settings=settings, user=user, context=context, view_id=view_id)
    delivery = deliver_now(request, db, [sent.message_id])
    note = f"Footage request {sent.request.id} sent to the owner for this view's period."
    flash_delivery(request, delivery, sent=note)
    return RedirectResponse("/registry/requests?" + urlencode({"case": context.case_ref}), status_code=303)
