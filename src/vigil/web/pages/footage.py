"""The footage page: the footage held with its analysis progress, uploading a video, and starting analysis.

The upload form is sent by static/footage.js as the raw body of ``PUT /footage/upload`` (with the CSRF
token in the ``x-csrf-token`` header), so the browser can show the upload's progress; answers are JSON.
Running jobs are followed by polling ``/footage/jobs/{id}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from vigil.analysis.review import footage_register, job_status
from vigil.db.base import utcnow
from vigil.db.models import AnalysisJob, PlayableCopy, User
from vigil.errors import NotPermitted
from vigil.footage.ingest import IngestResult, get_footage
from vigil.footage.playable import PREPARING, QUEUED
from vigil.footage.storage import MIB
from vigil.governance.access import make_context
from vigil.governance.cameras.register import camera_register
from vigil.governance.roles import Capability, role_grants_capability
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.forms import outcome, refusal_as_json
from vigil.web.jobs import percent, start_job
from vigil.web.rendering import render
from vigil.web.state import web_state
from vigil.web.uploads import receive_and_ingest, upload_details

router = APIRouter(include_in_schema=False)

Param = Annotated[str, Query(max_length=4000)]
FootageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/footage")
def footage_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    register = footage_register(db, user=user)
    cameras = camera_register(db, actor=user, today=utcnow().date())
    max_mb = web_state(request).system.settings.web.max_upload_mb
    return render(
        request,
        "footage.html",
        user=user,
        section="footage",
        register=register,
        cameras=cameras,
        max_bytes=max_mb * MIB,
        max_mb=max_mb,
    )


@router.put("/footage/upload")
async def footage_upload(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    camera: Param = "",
    name: Param = "",
    start: Param = "",
    case: Param = "",
    modified: Param = "",
    analyse: Param = "1",
) -> Response:
    """Receive a video (the raw body), ingest it and, if asked, start its analysis; answers JSON."""
    with refusal_as_json():  # audited refusals were committed by the service itself
        zone = web_state(request).system.settings.zone
        details = upload_details(camera=camera, name=name, start=start, case=case, modified=modified, zone=zone)
        result = await receive_and_ingest(request, db, user=user, details=details)
        reply = await run_in_threadpool(_after_upload, request, db, user, result, analyse == "1")
    return JSONResponse(reply)


def _after_upload(request: Request, db: Session, user: User, result: IngestResult, analyse: bool) -> dict[str, Any]:
    footage = result.footage
    db.commit()  # the footage is kept whatever happens to its analysis
    copy = db.get(PlayableCopy, footage.id)
    preparing = copy is not None and copy.status in (QUEUED, PREPARING)  # read before the copy is started
    copies = web_state(request).copies
    if copies is not None and preparing:
        copies.submit(footage.id)  # browsers cannot play the original: make a playable copy
    verb = "was already held as" if result.duplicate else "stored as"
    message = (
        f"{footage.original_name} {verb} footage {footage.id} ({footage.width}×{footage.height}, "
        f"{footage.duration_s:.1f} s, camera {footage.camera.code})."
    )
    if preparing:
        message += " Browsers cannot play its format as it is, so a playable copy is being prepared."
    job, refused = None, None
    if analyse:
        try:
            job = start_job(request, db, user=user, footage=footage)
        except NotPermitted as exc:
            refused = f"Analysis refused: {exc.message}. The footage has been kept."
    return {
        "footage_id": footage.id,
        "duplicate": result.duplicate,
        "message": message,
        "warnings": list(result.warnings),
        "analysis": job_json(job) if job else None,
        "analysis_refused": refused,
    }


def job_json(job: AnalysisJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "footage_id": job.footage_id,
        "status": job.status,
        "progress_frames": job.progress_frames,
        "total_frames": job.total_frames,
        "percent": percent(job),
        "tracks_written": job.tracks_written,
        "error": job.error,
        "tracks_url": f"/footage/{job.footage_id}/tracks",
    }


@router.get("/footage/jobs/{job_id}")
def job_poll(db: DbSession, user: CurrentUser, job_id: JobId) -> Response:
    """An analysis job's progress, polled by the footage page every second."""
    with refusal_as_json():
        job = job_status(db, user=user, job_id=job_id)
    return JSONResponse(job_json(job))


@router.post("/footage/{footage_id}/analyse")
def footage_analyse(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    footage_id: FootageId,
    force: Annotated[str, Form(max_length=8)] = "",
    case: Annotated[str, Form(max_length=200)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    def act() -> None:
        # A re-analysis (force) needs a case and purpose; without them the service refuses it, audited.
        context = make_context(case, purpose) if case.strip() or purpose.strip() else None
        footage = get_footage(db, footage_id)
        start_job(request, db, user=user, footage=footage, force=force == "1", context=context)

    return outcome(request, act, done=f"Analysis of footage {footage_id} started.", back="/footage")


def duration(seconds: float | None) -> str:
    """'38.3 s', '12 min 05 s' or '2 h 03 min'."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def file_size(size_bytes: int) -> str:
    """'812 KiB', '3.9 MiB', '1.2 GiB'."""
    if size_bytes < MIB:
        return f"{max(1, round(size_bytes / 1024))} KiB"
    if size_bytes < 1024 * MIB:
        return f"{size_bytes / MIB:.1f} MiB"
    return f"{size_bytes / (1024 * MIB):.2f} GiB"


def add_template_helpers(templates: Jinja2Templates) -> None:
    """Filters and tests the footage and tracks pages use (and the navigation link to them)."""
    templates.env.filters["duration"] = duration
    templates.env.filters["size"] = file_size
    templates.env.filters["percent"] = percent
    templates.env.globals["may_analyse"] = lambda role: role_grants_capability(role, Capability.ANALYTICS)
