"""The synopsis page: choose a camera and time range (or come from a search with its tracks), render the synopsis,
watch it and click an object to review its original moment.

``GET /synopsis?camera=CODE&from=ISO&to=ISO&tracks=1,2`` shows the form filled in (times in the force's time
zone); ``POST /synopsis`` checks and audits the request (errors go back to the form), then renders it in a
background thread (:mod:`vigil.search.synopsis.renders`) while ``/synopsis/renders/{id}`` follows its status, and
opens ``/synopsis/{key}``, the audited result page (an identical earlier render is reused at once). The video and
click map are served by routes that authorise again (byte ranges for the video); static/synopsis.js maps a click
to ``/tracks/{id}/review?t=SECONDS`` (seconds from the start of the track's footage).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from vigil.db.base import utcnow
from vigil.errors import InvalidInput
from vigil.search.synopsis.service import (
    PreparedSynopsis,
    parse_local,
    parse_track_ids,
    prepare_synopsis,
    synopsis_cameras,
    synopsis_file,
    view_synopsis,
)
from vigil.system import Services
from vigil.web.auth import CurrentUser
from vigil.web.context import WorkingContext
from vigil.web.deps import AppServices, DbSession
from vigil.web.forms import refusal_goes_to
from vigil.web.rendering import render, when
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=4000)]
FormText = Annotated[str, Form(max_length=4000)]
Key = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
JobId = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$")]


@dataclass(frozen=True)
class SynopsisForm:
    """What the form shows: camera code, local start and end (``YYYY-MM-DDTHH:MM:SS``) and track ids."""

    camera: str
    start: str
    end: str
    tracks: str

    def query(self) -> str:
        fields = {"camera": self.camera, "from": self.start, "to": self.end, "tracks": self.tracks}
        return urlencode({k: v for k, v in fields.items() if v})


def _local_field(value: str, zone: ZoneInfo) -> str:
    """A date/time from a link as the form's local value; text that is not one is shown as it came."""
    try:
        return parse_local(value, "time", zone).astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")
    except InvalidInput:
        return value.strip()


@router.get("/synopsis")
def synopsis_form(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    camera: Text = "",
    start: Annotated[str, Query(alias="from", max_length=64)] = "",
    end: Annotated[str, Query(alias="to", max_length=64)] = "",
    tracks: Text = "",
) -> Response:
    zone = web_state(request).system.settings.zone
    form = SynopsisForm(
        camera.strip(),
        _local_field(start, zone) if start else "",
        _local_field(end, zone) if end else "",
        tracks.strip(),
    )
    cameras = synopsis_cameras(db, user=user, today=utcnow().date())
    return render(
        request,
        "synopsis.html",
        user=user,
        section="synopsis",
        form=form,
        cameras=cameras,
        result=None,
        waiting=None,
        zone_name=zone.key,
        case_query=urlencode({"case": context.case_ref}),
    )


@router.post("/synopsis")
def synopsis_render(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    context: WorkingContext,
    camera: FormText = "",
    start: Annotated[str, Form(alias="from", max_length=64)] = "",
    end: Annotated[str, Form(alias="to", max_length=64)] = "",
    tracks: FormText = "",
) -> Response:
    """Check and audit the request here (errors go back to the form), then render in a background thread."""
    settings = web_state(request).system.settings
    form = SynopsisForm(camera.strip(), start.strip(), end.strip(), tracks.strip())
    case_query = urlencode({"case": context.case_ref})
    with refusal_goes_to(request, f"/synopsis?{form.query()}&{case_query}"):
        prepared = prepare_synopsis(
            db=db,
            user=user,
            context=context,
            camera_code=form.camera,
            start=parse_local(form.start, "From", settings.zone),
            end=parse_local(form.end, "To", settings.zone),
            track_ids=parse_track_ids(form.tracks),
            settings=settings,
        )
    db.commit()  # the request is on the audit log whether or not its render succeeds
    return RedirectResponse(f"{_synopsis_url(services, prepared, user.id)}?{case_query}", status_code=303)


def _synopsis_url(services: Services, prepared: PreparedSynopsis, owner: int) -> str:
    """The synopsis itself when it is already rendered, else the page of its new background render."""
    if prepared.cached() is not None:
        return f"/synopsis/{prepared.key}"
    return f"/synopsis/renders/{services.synopsis_renders.get().start(prepared, owner=owner)}"


@router.get("/synopsis/renders/{job_id}")
def synopsis_waiting(
    request: Request, services: AppServices, user: CurrentUser, context: WorkingContext, job_id: JobId
) -> Response:
    """While the render runs: a page that follows it (static/synopsis.js); once done, the result."""
    job = services.synopsis_renders.get().get(job_id, owner=user.id)
    case_query = urlencode({"case": context.case_ref})
    if job.status == "done":
        return RedirectResponse(f"/synopsis/{job.key}?{case_query}", status_code=303)
    return render(
        request,
        "synopsis.html",
        user=user,
        section="synopsis",
        result=None,
        form=None,
        waiting=job,
        status_url=f"/synopsis/renders/{job_id}/status?{case_query}",
        zone_name="",
        case_query=case_query,
    )


@router.get("/synopsis/renders/{job_id}/status")
def synopsis_render_status(
    request: Request, services: AppServices, user: CurrentUser, context: WorkingContext, job_id: JobId
) -> Response:
    job = services.synopsis_renders.get().get(job_id, owner=user.id)
    url = f"/synopsis/{job.key}?{urlencode({'case': context.case_ref})}" if job.status == "done" else None
    return JSONResponse({"status": job.status, "url": url, "error": job.error or None})


@dataclass(frozen=True)
class ShownTrack:
    id: int
    seen: str  # local time first shown
    offset_s: float  # when it starts in the synopsis
    start_s: float  # seconds from its footage's start


@router.get("/synopsis/{key}")
def synopsis_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, key: Key) -> Response:
    settings = web_state(request).system.settings
    result = view_synopsis(db, settings=settings, user=user, context=context, key=key)
    data = json.loads(result.sidecar.read_text())
    shown = [
        ShownTrack(
            id=int(t["id"]),
            seen=when(datetime.fromisoformat(t["first_seen"]), zone=settings.zone),
            offset_s=float(t["offset_s"]),
            start_s=float(t["start_s"]),
        )
        for t in sorted(data["tracks"], key=lambda t: (t["first_seen"], t["id"]))
    ]
    return render(
        request,
        "synopsis.html",
        user=user,
        section="synopsis",
        result=result,
        shown=shown,
        form=None,
        waiting=None,
        camera=data["camera"],
        span=local_span((data["from"], data["to"]), settings.zone),
        zone_name=settings.zone.key,
        case_query=urlencode({"case": context.case_ref}),
    )


@router.get("/synopsis/{key}/video")
def synopsis_video(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, key: Key) -> Response:
    """The rendered MP4, with HTTP Range support so the video element can seek (checked, not audited)."""
    settings = web_state(request).system.settings
    path = synopsis_file(db, settings=settings, user=user, context=context, key=key, kind="mp4")
    return FileResponse(path, media_type="video/mp4")


@router.get("/synopsis/{key}/map")
def synopsis_map(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, key: Key) -> Response:
    """The click map (JSON) of a rendered synopsis (checked, not audited)."""
    settings = web_state(request).system.settings
    path = synopsis_file(db, settings=settings, user=user, context=context, key=key, kind="json")
    return FileResponse(path, media_type="application/json")


def local_span(span: tuple[str, str], zone: ZoneInfo) -> str:
    """The range of a synopsis as local times for its page, each with its zone (GMT / BST)."""
    try:
        first, last = (datetime.fromisoformat(v).replace(tzinfo=UTC).astimezone(zone) for v in span)
    except ValueError:
        return ""
    return f"{first:%Y-%m-%d %H:%M %Z} – {last:%Y-%m-%d %H:%M %Z}"  # local force time, zone shown
