"""Live facial recognition in the browser: deployments, the operator console with pushed alerts, and the public
transparency page (no login).

Starting or ending a deployment only changes its state; the cameras' workers (the live supervisor, in this server
or in ``vigil live run``) match it. The console receives alerts as Server-Sent Events from
``/fr/deployments/{id}/events`` (static/fr_console.js): the workers write alerts to the database and the stream reads
new ones, and the cameras' health, with a short session of its own twice a second. Images of an alert are fetched
through routes that re-authorise. Deployment times in forms are in the force's time zone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from vigil.db.base import utcnow
from vigil.db.face_models import Deployment, Watchlist
from vigil.db.models import User
from vigil.db.session import session_scope
from vigil.errors import InvalidInput, NotPermitted
from vigil.faces.calibration import FalseAlertEstimate, estimate_false_alerts
from vigil.faces.live import (
    DeploymentPlan,
    StreamSpec,
    alert_event,
    alert_image,
    alerts_after,
    decide_alert,
    list_deployments,
    plan_deployment,
    public_register,
    results_due,
    results_of,
    results_reminders,
    streams_of,
    view_console,
)
from vigil.faces.live_control import end_live, go_live
from vigil.governance.camera_sources import registered_sources, source_policy
from vigil.live.viewing import wall_health
from vigil.web.auth import CurrentUser, flash
from vigil.web.deps import DbSession
from vigil.web.forms import local_datetime, outcome, refusal_goes_to, text
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
DeploymentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
POLL_S = 0.5
KEEPALIVE_S = 15.0
NO_WORKER = "no worker"


def _local(value: str, label: str, request: Request) -> datetime:
    zone = web_state(request).system.settings.zone
    parsed = local_datetime(value, zone=zone, label=label, required=True)
    assert parsed is not None  # required
    return parsed


def _streams(cameras: list[str]) -> tuple[StreamSpec, ...]:
    """The cameras ticked on the form (codes of cameras with registered sources; checked by the service)."""
    codes = [code.strip() for code in cameras if code.strip()]
    if not codes:
        raise InvalidInput("choose at least one camera with a registered live source")
    if len(codes) > 16:
        raise InvalidInput("a deployment watches at most 16 cameras")
    for code in codes:
        if len(code) > 64 or not all(c.isalnum() or c in "-_." for c in code):
            raise InvalidInput(f"no camera with code {code[:40]!r}: choose the cameras from the list")
    return tuple(StreamSpec(camera=code) for code in codes)


@router.get("/fr/deployments")
def deployments_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    deployments = list_deployments(db, user=user)
    db.commit()
    used = {d.watchlist_id for d in deployments}
    watchlists = [
        w for w in db.query(Watchlist).filter_by(kind="deployment").order_by(Watchlist.name) if w.id not in used
    ]
    settings = web_state(request).system.settings
    sources = [source.camera for source in registered_sources(db)]

    def estimate(threshold: float, size: int) -> FalseAlertEstimate | None:
        return estimate_false_alerts(settings, threshold=threshold, watchlist_size=size)

    return render(
        request,
        "fr_deployments.html",
        user=user,
        section="live_fr",
        deployments=deployments,
        watchlists=watchlists,
        sources=sources,
        reminders=results_reminders(db, user=user),
        default_threshold=settings.faces.default_threshold,
        zone=settings.zone,
        results_due=results_due,
        estimate=estimate,
        thresholds=(0.45, 0.5, 0.55, 0.6, 0.65, 0.7),
    )


@router.post("/fr/deployments")
def deployment_plan(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    name: Field = "",
    location: Field = "",
    cameras: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 (FastAPI copies form defaults)
    window_start: Field = "",
    window_end: Field = "",
    watchlist: Field = "",
    threshold: Field = "",
    authorising_officer: Field = "",
    public_notice: Field = "",
    sensitive: Field = "",
) -> Response:
    def act() -> None:
        fields = (name, location, cameras, window_start, window_end, watchlist, threshold, authorising_officer)
        plan = _read_plan(request, *fields, public_notice=public_notice, sensitive=sensitive == "1")
        settings = web_state(request).system.settings
        deployment = plan_deployment(db, user=user, plan=plan, sources=source_policy(settings))
        size = len(deployment.watchlist.entries) if deployment.watchlist else 0
        expected = estimate_false_alerts(settings, threshold=plan.threshold, watchlist_size=size)
        if expected is not None and expected.warning:
            flash(request, f"Warning: {expected.warning}.", "warn")

    return outcome(request, act, done=f"Deployment {name.strip()} planned.", back="/fr/deployments")


def _read_plan(
    request: Request,
    name: str,
    location: str,
    cameras: list[str],
    window_start: str,
    window_end: str,
    watchlist: str,
    threshold: str,
    authorising_officer: str,
    *,
    public_notice: str,
    sensitive: bool,
) -> DeploymentPlan:
    """The planning form as a checked :class:`DeploymentPlan` (the first problem as a clear message)."""
    try:
        return DeploymentPlan(
            name=text(name, label="Name", max_chars=200),
            location=text(location, label="Location", max_chars=300),
            streams=_streams(cameras),
            window_start=_local(window_start, "Start", request),
            window_end=_local(window_end, "End", request),
            watchlist=watchlist,
            threshold=float(threshold or "nan"),
            authorising_officer=text(authorising_officer, label="Authorising officer", max_chars=200),
            public_notice=text(public_notice, label="Public notice"),
            operationally_sensitive=sensitive,
        )
    except ValueError as exc:
        raise InvalidInput(_first_error(exc)) from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid"))
    return "the threshold must be a number between 0 and 1"


@router.post("/fr/deployments/{deployment_id}/start")
def deployment_start(request: Request, db: DbSession, user: CurrentUser, deployment_id: DeploymentId) -> Response:
    # The service refuses (audited) and changes nothing; the cameras' workers match the deployment once the
    # request commits. A refusal is a 403 page, never a redirect that looks like progress.
    with refusal_goes_to(request, "/fr/deployments", shown_as_page=(NotPermitted,)):
        policy = source_policy(web_state(request).system.settings)
        go_live(db, user=user, deployment_id=deployment_id, sources=policy)
    flash(request, "The deployment is live: its cameras start matching within seconds. Alerts appear on this console.")
    return RedirectResponse(f"/fr/deployments/{deployment_id}/console", status_code=303)


@router.post("/fr/deployments/{deployment_id}/end")
def deployment_end(request: Request, db: DbSession, user: CurrentUser, deployment_id: DeploymentId) -> Response:
    # Authorised first, always (a refusal changes nothing); the cameras stop matching once the end is committed.
    back = f"/fr/deployments/{deployment_id}/console"
    with refusal_goes_to(request, back, shown_as_page=(NotPermitted,)):
        end_live(db, user=user, deployment_id=deployment_id)
    flash(request, "The deployment has ended; its watchlist embeddings were deleted.", "ok")
    return RedirectResponse(back, status_code=303)


@router.get("/fr/deployments/{deployment_id}/console")
def console_page(request: Request, db: DbSession, user: CurrentUser, deployment_id: DeploymentId) -> Response:
    deployment, alerts = view_console(db, user=user, deployment_id=deployment_id)
    return render(
        request,
        "fr_console.html",
        user=user,
        section="live_fr",
        deployment=deployment,
        alerts=alerts,
        last_id=max((a.id for a in alerts), default=0),
        results=results_of(db, deployment),
        streams=streams_of(deployment),
        stream_states=_stream_states(db, deployment),
        zone=web_state(request).system.settings.zone,
    )


def _stream_states(db: Session, deployment: Deployment) -> dict[str, dict[str, str]]:
    """Each camera of a deployment as its worker last reported it (state and reason, never the source address)."""
    codes = [spec.camera for spec in streams_of(deployment)]
    return {
        row.camera_code: {
            "type": "stream",
            "camera": row.camera_code,
            "state": NO_WORKER if row.state == "unknown" else row.state,
            "detail": row.reason or "",
        }
        for row in wall_health(db, codes)
    }


def _news(request: Request, user_id: int, deployment_id: int, after: int) -> tuple[list[dict[str, Any]], Any]:
    """New alerts and the cameras' states: one cheap read in a session of its own, closed at once."""
    with session_scope(web_state(request).system.sessions) as db:
        user, deployment = db.get(User, user_id), db.get(Deployment, deployment_id)
        if user is None or not user.is_active or deployment is None:
            return [], None
        found = [alert_event(a) for a in alerts_after(db, deployment_id=deployment_id, after_id=after)]
        return found, _stream_states(db, deployment)


@router.get("/fr/deployments/{deployment_id}/events")
async def console_events(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    deployment_id: DeploymentId,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    await run_in_threadpool(view_console, db, user=user, deployment_id=deployment_id)
    await run_in_threadpool(db.commit)
    resumed = request.headers.get("last-event-id", "")
    after = max(after, int(resumed) if resumed.isdigit() and len(resumed) < 11 else 0)  # a reconnecting browser
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    events = _console_events(request, user.id, deployment_id, after)
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def _console_events(request: Request, user_id: int, deployment_id: int, after: int) -> AsyncIterator[str]:
    """New alerts of the deployment and changes of its cameras' states, and a keep-alive comment when quiet, until
    the browser goes away (or the user is no longer active)."""
    last, quiet = after, 0.0
    shown: dict[str, Any] = {}
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        alerts, states = await run_in_threadpool(_news, request, user_id, deployment_id, last)
        if states is None:
            return
        for event in alerts:
            last = max(last, int(event["id"]))
            yield f"id: {event['id']}\nevent: alert\ndata: {json.dumps(event)}\n\n"
        for camera, state in states.items():
            if shown.get(camera) != state:
                shown[camera] = state
                yield f"event: stream\ndata: {json.dumps(state)}\n\n"
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"


@router.post("/fr/alerts/{alert_id}/decide")
def alert_decide(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    alert_id: AlertId,
    decision: Field = "",
    note: Field = "",
    case: Field = "",
    back: Field = "/fr/deployments",
) -> Response:
    target = back if back.startswith("/fr/deployments/") and "//" not in back else "/fr/deployments"
    return outcome(
        request,
        lambda: decide_alert(db, user=user, alert_id=alert_id, outcome=decision, note=note, case_ref=case.strip()),
        done=f"Alert {alert_id}: {decision}.",
        back=target,
    )


@router.get("/fr/alerts/{alert_id}/{which}.jpg")
def alert_picture(request: Request, db: DbSession, user: CurrentUser, alert_id: AlertId, which: str) -> Response:
    if which not in ("crop", "reference"):
        return Response(status_code=404)
    data_dir = web_state(request).system.settings.data_dir
    path = alert_image(db, user=user, alert_id=alert_id, data_dir=data_dir, which=which)
    return FileResponse(path, headers={"Cache-Control": "private, no-store"})


@router.get("/transparency/facial-recognition")
def transparency_page(request: Request, db: DbSession) -> Response:
    register = public_register(db, now=utcnow())
    return render(
        request,
        "fr_transparency.html",
        user=None,
        register=register,
        zone=web_state(request).system.settings.zone,
        results_due=results_due,
    )
