"""Live rules (drawn on a recent frame of a camera) and the operator console of their alerts.

The console receives new alerts as Server-Sent Events from ``/live/alerts/events``: camera workers write alerts
to the database, and the stream reads them with a short read-only session twice a second (no thread of the web
server holds a session, let alone a write lock, while it waits). static/live_console.js shows them and beeps
(generated with WebAudio) until each is acknowledged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from pydantic import Field as PydanticField
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from vigil.analysis.stills import newest_footage
from vigil.db.models import User
from vigil.db.session import session_scope
from vigil.errors import InvalidInput
from vigil.live.rules.alerts import (
    NOT_IDENTIFICATION,
    alert_file,
    alert_json,
    console_alerts,
    decide_alert,
    finished_clips,
    open_console,
    require_console,
)
from vigil.live.rules.service import (
    RULE_CLASSES,
    WATCH_KINDS,
    create_rule,
    end_rule,
    list_rules,
    parse_request,
    renew_rule,
)
from vigil.live.rules.stills import rule_cameras, rule_still
from vigil.search.similarity.by_example import MAX_PHOTO_BYTES
from vigil.system import Services
from vigil.watch.service import PhotoInput, WatchRequest, create_watch, parse_watch
from vigil.web.auth import CurrentUser
from vigil.web.deps import AppServices, DbSession
from vigil.web.forms import optional_float, outcome, refusal_as_json
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
Geometry = Annotated[str, Form(max_length=20_000)]
Code = Annotated[str, Path(max_length=64)]
Choices = Annotated[list[str], Form(max_length=20)]
POLL_S = 0.5
KEEPALIVE_S = 15.0
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@router.get("/live/rules")
def rules_page(
    request: Request, db: DbSession, user: CurrentUser, camera: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    rules = list_rules(db=db, user=user)
    cameras = rule_cameras(db)
    chosen = next((c for c in cameras if c.code == camera.strip().upper()), None)
    footage = newest_footage(db, chosen.id, force_only=True) if chosen is not None else None
    return render(
        request,
        "live_rules.html",
        user=user,
        section="live_rules",
        rules=rules,
        watched={r.id: ", ".join(json.loads(r.params).get("cameras", [])) for r in rules if r.kind in WATCH_KINDS},
        cameras=cameras,
        chosen=chosen,
        footage=footage,
        classes=RULE_CLASSES,
        day_names=DAY_NAMES,
    )


@router.get("/live/rules/still/{code}.jpg")
def rule_still_image(request: Request, db: DbSession, user: CurrentUser, code: Code) -> Response:
    still = rule_still(db, user=user, code=code, settings=web_state(request).system.settings)
    return Response(still.jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


def _number(value: str, label: str, default: float) -> float:
    number = optional_float(value, label=label)
    return default if number is None else number


def _schedule(days: list[str], start: str, end: str) -> list[dict[str, Any]]:
    if not days:
        return []
    try:
        numbers = [int(d) for d in days]
    except ValueError:
        raise InvalidInput("choose the schedule's days from the list") from None
    return [{"days": numbers, "start": start or "00:00", "end": end or "23:59"}]


def _drawing(geometry: str) -> dict[str, Any]:
    try:
        drawn = json.loads(geometry or "{}")
    except ValueError:
        drawn = None
    if not isinstance(drawn, dict):
        raise InvalidInput("the drawing could not be read: draw the zone or line again")
    return drawn


class RuleForm(BaseModel):
    """The live rule form as posted (free text; :func:`_rule_data` turns it into the service's request)."""

    camera: str = PydanticField(default="", max_length=4000)
    name: str = PydanticField(default="", max_length=4000)
    kind: str = PydanticField(default="", max_length=4000)
    geometry: str = PydanticField(default="", max_length=20_000)
    direction: str = PydanticField(default="", max_length=4000)
    classes: list[str] = PydanticField(default_factory=list, max_length=20)
    seconds: str = PydanticField(default="", max_length=4000)
    count: str = PydanticField(default="", max_length=4000)
    radius: str = PydanticField(default="", max_length=4000)
    cooldown: str = PydanticField(default="", max_length=4000)
    days: str = PydanticField(default="", max_length=4000)
    schedule_days: list[str] = PydanticField(default_factory=list, max_length=20)
    start: str = PydanticField(default="", max_length=4000)
    end: str = PydanticField(default="", max_length=4000)
    case: str = PydanticField(default="", max_length=4000)
    purpose: str = PydanticField(default="", max_length=4000)


def _rule_data(form: RuleForm) -> dict[str, Any]:
    drawn = _drawing(form.geometry)
    return {
        "name": form.name,
        "camera": form.camera,
        "kind": form.kind,
        "polygon": drawn.get("polygon"),
        "line": drawn.get("line"),
        "direction": form.direction or "either",
        "classes": form.classes or ["person"],
        "seconds": _number(form.seconds, "T (seconds)", 0),
        "count": int(_number(form.count, "N (count)", 0)),
        "radius": _number(form.radius, "Radius", 0.1),
        "cooldown_s": _number(form.cooldown, "Cooldown", 30),
        "schedule": _schedule(form.schedule_days, form.start, form.end),
        "days": _number(form.days, "Days until it expires", 0),
    }


@router.post("/live/rules")
def rule_create(request: Request, db: DbSession, user: CurrentUser, form: Annotated[RuleForm, Form()]) -> Response:
    def act() -> None:
        rule = parse_request(_rule_data(form))
        create_rule(db=db, user=user, request=rule, case=form.case, purpose=form.purpose)

    code = form.camera.strip().upper()
    back = f"/live/rules?camera={quote(code)}" if code else "/live/rules"
    return outcome(request, act, done=f"Rule {form.name.strip()} saved: it is live within seconds.", back=back)


def _watch_request(
    name: str, kind: str, cameras: list[str], description: str, track: str, threshold: str, days: str
) -> WatchRequest:
    number = optional_float(track, label="Example track")
    return parse_watch(
        {
            "name": name,
            "kind": kind,
            "cameras": cameras,
            "description": description,
            "track": None if number is None else int(number),
            "threshold": _number(threshold, "Similarity", 0.8),
            "days": _number(days, "Days until it expires", 0),
        }
    )


def _photo_example(
    photo: UploadFile | None, watch: WatchRequest, services: Services, max_pixels: int
) -> PhotoInput | None:
    """The uploaded example photo of a similar-appearance watch that names no example track."""
    if photo is None or not photo.filename or watch.kind != "similar_watch" or watch.track is not None:
        return None
    return PhotoInput(photo.file.read(MAX_PHOTO_BYTES + 1), services.photo_detector.get(), max_pixels)


@router.post("/live/rules/watch")
def watch_create(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    photo: Annotated[UploadFile | None, File()] = None,
    name: Field = "",
    kind: Field = "",
    cameras: Choices = [],  # noqa: B006 - FastAPI copies defaults
    description: Field = "",
    track: Field = "",
    threshold: Field = "",
    days: Field = "",
    case: Field = "",
    purpose: Field = "",
) -> Response:
    def act() -> None:
        watch = _watch_request(name, kind, cameras, description, track, threshold, days)
        settings = web_state(request).system.settings
        example = _photo_example(photo, watch, services, settings.vision.max_image_pixels)
        zone = ZoneInfo(settings.timezone)
        create_watch(db=db, user=user, request=watch, case=case, purpose=purpose, zone=zone, photo=example)

    return outcome(
        request, act, done=f"Watch {name.strip()} saved: it looks at live tracks within seconds.", back="/live/rules"
    )


@router.post("/live/rules/{rule_id}/end")
def rule_end(request: Request, db: DbSession, user: CurrentUser, rule_id: int) -> Response:
    def act() -> None:
        end_rule(db=db, user=user, rule_id=rule_id)

    return outcome(request, act, done=f"Rule {rule_id} ended.", back="/live/rules")


@router.post("/live/rules/{rule_id}/renew")
def rule_renew(request: Request, db: DbSession, user: CurrentUser, rule_id: int, days: Field = "") -> Response:
    def act() -> None:
        renew_rule(db=db, user=user, rule_id=rule_id, days=_number(days, "Days", 0))

    return outcome(request, act, done=f"Rule {rule_id} renewed.", back="/live/rules")


@router.get("/live/alerts")
def console_page(
    request: Request, db: DbSession, user: CurrentUser, camera: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    alerts = open_console(db, user=user, camera=camera, via="web")
    return render(
        request,
        "live_alerts.html",
        user=user,
        section="live_alerts",
        alerts=alerts,
        camera=camera.strip().upper(),
        cameras=rule_cameras(db),
        last_id=max((a.id for a in alerts), default=0),
        pending=",".join(str(a.id) for a in alerts if a.clip_state == "pending"),
        not_identification=NOT_IDENTIFICATION,
    )


def _may_watch(request: Request, user_id: int) -> None:
    with session_scope(web_state(request).system.sessions) as db:
        user = db.get(User, user_id)
        assert user is not None
        require_console(db, user=user)


def _news(request: Request, user_id: int, camera: str, after: int, pending: set[int]) -> list[tuple[str, Any]]:
    """New alerts and newly cut clips: one cheap read in a session of its own, closed at once."""
    with session_scope(web_state(request).system.sessions) as db:
        user = db.get(User, user_id)
        if user is None or not user.is_active:
            return []
        clips = finished_clips(db, user=user, ids=sorted(pending))
        found = console_alerts(db, user=user, camera=camera, after_id=after, limit=50)
        news: list[tuple[str, Any]] = [("alert", alert_json(a)) for a in reversed(found)]
        return news + [("clip", {"id": i, "clip_state": state}) for i, state in clips.items()]


def _ids(text: str) -> set[int]:
    return {int(part) for part in text.split(",")[:200] if part.isdigit() and len(part) < 12}


@router.get("/live/alerts/events")
async def console_events(
    request: Request,
    user: CurrentUser,
    camera: Annotated[str, Query(max_length=64)] = "",
    after: Annotated[int, Query(ge=0)] = 0,
    pending: Annotated[str, Query(max_length=2600)] = "",
) -> Response:
    user_id = user.id
    await run_in_threadpool(_may_watch, request, user_id)
    resumed = request.headers.get("last-event-id", "")
    after = max(after, int(resumed) if resumed.isdigit() and len(resumed) < 12 else 0)  # a reconnecting browser
    events = _console_events(request, user_id, camera, after, waiting=_ids(pending))
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def _console_events(
    request: Request, user_id: int, camera: str, after: int, *, waiting: set[int]
) -> AsyncIterator[str]:
    """The console's Server-Sent Events: new alerts after ``after``, clips of ``waiting`` (alerts on the page whose
    clips are pending) as they are cut, and a keep-alive comment when quiet, until the browser goes away."""
    last, quiet = after, 0.0
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        for kind, data in await run_in_threadpool(_news, request, user_id, camera, last, set(waiting)):
            if kind == "alert":
                last = max(last, data["id"])
                if data["clip_state"] == "pending":
                    waiting.add(data["id"])
                yield f"id: {data['id']}\nevent: alert\ndata: {json.dumps(data)}\n\n"
            else:
                waiting.discard(data["id"])
                yield f"event: clip\ndata: {json.dumps(data)}\n\n"
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"


@router.post("/live/alerts/{alert_id}/decide")
def alert_decide(
    request: Request, db: DbSession, user: CurrentUser, alert_id: int, decision: Field = "", note: Field = ""
) -> Response:
    if "application/json" not in request.headers.get("accept", ""):
        return outcome(
            request,
            lambda: decide_alert(db=db, user=user, alert_id=alert_id, decision=decision, note=note),
            done=f"Alert {alert_id}: {decision}.",
            back="/live/alerts",
        )
    with refusal_as_json():  # the console's script: answer in place, so the page (and its sound) keeps running
        alert = decide_alert(db=db, user=user, alert_id=alert_id, decision=decision, note=note)
    return JSONResponse({"id": alert.id, "state": alert.state})


@router.get("/live/alerts/{alert_id}/{which}")
def alert_media(request: Request, db: DbSession, user: CurrentUser, alert_id: int, which: str) -> Response:
    kinds = {"snapshot.jpg": ("snapshot", "image/jpeg"), "clip.mp4": ("clip", "video/mp4")}
    if which not in kinds:
        return Response(status_code=404)
    data_dir = web_state(request).system.settings.data_dir
    path = alert_file(db, user=user, alert_id=alert_id, which=kinds[which][0], data_dir=data_dir)
    return FileResponse(path, media_type=kinds[which][1], headers={"Cache-Control": "private, no-store"})
