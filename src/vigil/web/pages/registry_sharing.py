"""Integrated cameras on the public side: the owner shares live views on their terms, pauses or stops them and
reads the log of every view (behind the self-service cookie); and the one-time approval link of a view.

The approval link's token travels after ``#`` and is POSTed by the page's script (finding F8); the approval page
shows who asks (case, purpose in plain words, the viewer's role) with two buttons. Stopping a reader after a pause
or stop happens after the change commits (the watcher would within a second anyway).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Form, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from vigil.db.share_models import SharedCamera
from vigil.errors import InvalidInput, VigilError
from vigil.registry.live_views import answer_view, view_for_approval
from vigil.registry.sharing import change_sharing, owner_cameras, parse_site, share_site, view_log
from vigil.registry.streams import probe_stream
from vigil.web.auth import flash
from vigil.web.deps import DbSession
from vigil.web.forms import refusal_goes_to, refusal_shown_on
from vigil.web.link_cookies import MANAGE_COOKIE, link_token
from vigil.web.pages.registry_public import _manage_token, _message
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

TokenField = Annotated[str, Form(max_length=100)]
FORM_ROWS = 4
SITE_FIELDS = ("site", "latitude", "longitude", "terms", "off_from", "off_until", "max_view_minutes")


def site_data(form: dict[str, str]) -> dict[str, Any]:
    """The site as the service reads it, from the form's flat fields (empty camera rows skipped)."""
    cameras = []
    for index in range(10):
        label, url = form.get(f"camera_{index}_label", "").strip(), form.get(f"camera_{index}_url", "").strip()
        if label or url:
            cameras.append({"label": label, "url": url})
    data: dict[str, Any] = {field: form.get(field, "").strip() for field in SITE_FIELDS}
    if not data["max_view_minutes"]:
        data.pop("max_view_minutes")
    return {**data, "cameras": cameras}


def _page(
    request: Request, db: Session, token: str, *, values: dict[str, str], error: str = "", status: int = 200
) -> Response:
    settings = web_state(request).system.settings
    return render(
        request,
        "registry_sharing.html",
        user=None,
        status_code=status,
        cameras=owner_cameras(db, token=token),
        log=view_log(db, token=token),
        values=values,
        error=error,
        rows=range(FORM_ROWS),
        registry=settings.registry,
        zone=settings.zone,
    )


@router.get("/register/manage/live")
def sharing_page(request: Request, db: DbSession) -> Response:
    token = link_token(request, MANAGE_COOKIE)
    if not token:
        return RedirectResponse("/register/manage", status_code=303)
    return _page(request, db, token, values={"terms": "ask"})


@router.post("/register/manage/live")
async def sharing_add(request: Request, db: DbSession) -> Response:
    token = _manage_token(request)
    settings = web_state(request).system.settings
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    timeout = settings.registry.live_connect_timeout_seconds

    def test_and_share() -> list[SharedCamera]:  # streams are opened: seconds each, so off the event loop
        data = parse_site(site_data(form), settings=settings)
        return share_site(
            db,
            settings=settings,
            token=token,
            data=data,
            probe=lambda url, masked: probe_stream(url, masked=masked, timeout_s=timeout),
        )

    typed = {k: v for k, v in form.items() if k != "csrf_token"}  # shown again as typed, never the token

    def again(exc: VigilError) -> Response:
        return _page(request, db, token, values=typed, error=exc.message, status=422)

    with refusal_shown_on(request, again, catching=(InvalidInput,)):
        shared = await anyio.to_thread.run_sync(test_and_share)
    flash(request, f"{len(shared)} camera(s) tested and shared on your terms.", "ok")
    return RedirectResponse("/register/manage/live", status_code=303)


@router.post("/register/manage/live/{camera_id}/{action}")
def sharing_change(
    request: Request,
    db: DbSession,
    camera_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    action: Literal["pause", "resume", "stop"],
) -> Response:
    token = _manage_token(request)
    with refusal_goes_to(request, "/register/manage/live"):
        ended = change_sharing(db, token=token, camera_id=camera_id, action=action)
    db.commit()
    pool = web_state(request).viewers
    if pool is not None and ended:
        pool.stop(ended)
    done = {"pause": "Sharing paused", "resume": "Sharing resumed", "stop": "Sharing stopped: stream details deleted"}
    flash(request, done[action] + (f"; {len(ended)} open view(s) ended." if ended else "."), "ok")
    return RedirectResponse("/register/manage/live", status_code=303)


@router.get("/register/live")
def approval_link_page(request: Request) -> Response:
    return _message(
        request,
        "A request to view your camera",
        "Opening the request from the link in your email…",
        action="/register/live/open",
        button="Open the request",
        link_form=True,
    )


@router.post("/register/live/open")
def approval_page(request: Request, db: DbSession, token: TokenField = "") -> Response:
    view = view_for_approval(db, token=token)
    return render(request, "registry_approve.html", user=None, view=view, token=token)


@router.post("/register/live/answer")
def approval_answer(
    request: Request, db: DbSession, token: TokenField = "", answer: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    if answer not in ("approve", "refuse"):
        raise InvalidInput("choose approve or refuse")
    view = answer_view(db, token=token, approve=answer == "approve")
    if answer == "approve":
        text = f"The officer may now view '{view.camera_label}' live for up to {view.minutes:g} minutes."
    else:
        text = f"The officer will not see '{view.camera_label}'."
    return _message(request, "Thank you: your answer is saved", text)
