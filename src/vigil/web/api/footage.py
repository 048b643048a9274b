"""Footage upload and listing, analysis jobs, and the tracks analysis found."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vigil.analysis.review import analysable, footage_register, job_status, latest_jobs, view_tracks
from vigil.db.base import utcnow
from vigil.footage.ingest import IngestResult, get_footage
from vigil.governance.access import make_context
from vigil.web.api.access import ERRORS, ApiUser, Responses
from vigil.web.api.footage_schemas import AnalyseRequest, FootageReply, IngestReply, JobReply, TrackReply
from vigil.web.api.schemas import RowId
from vigil.web.deps import DbSession
from vigil.web.jobs import start_job
from vigil.web.uploads import receive_and_ingest, upload_details

router = APIRouter(tags=["footage"], responses=ERRORS)

FootageId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Footage id.")]
NOT_FOUND: Responses = {404: {"description": "No such footage, job or camera"}}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The video file itself, sent as the raw body (not a form).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_ERRORS: Responses = {**NOT_FOUND, 413: {"description": "Larger than settings.web.max_upload_mb"}}
Camera = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="Code of the camera.")]


@router.post(
    "/footage", status_code=201, response_model=IngestReply, responses=UPLOAD_ERRORS, openapi_extra=UPLOAD_BODY
)
async def footage_upload(
    request: Request,
    db: DbSession,
    user: ApiUser,
    camera: Camera,
    name: Annotated[str, Query(max_length=255, description="The file's original name (for display).")] = "upload",
    start: Annotated[str, Query(max_length=64, description="Recording start, ISO 8601; UTC if no offset.")] = "",
    case: Annotated[str, Query(max_length=64, description="Case reference to hold the footage for.")] = "",
    source: Annotated[str, Query(max_length=200, description="Where the footage came from.")] = "",
) -> IngestReply:
    """Store a video sent as the raw request body: probed, hashed, kept untouched with a chain of custody.

    Refused before the body is read for an unknown camera or an untrained user, and as soon as the body passes
    the upload limit; a file that is not decodable video is refused and nothing is stored.
    """
    details = upload_details(camera=camera, name=name, start=start, case=case, source=source)
    result = await receive_and_ingest(request, db, user=user, details=details)
    return await run_in_threadpool(_ingest_reply, db, result)


def _ingest_reply(db: Session, result: IngestResult) -> IngestReply:
    footage = result.footage
    job = latest_jobs(db, [footage.id]).get(footage.id)
    reply = FootageReply.of(footage, job, analysable(footage, utcnow().date()))
    return IngestReply(footage=reply, duplicate=result.duplicate, warnings=list(result.warnings))


@router.get("/footage", response_model=list[FootageReply])
def footage_list(db: DbSession, user: ApiUser) -> list[FootageReply]:
    """The most recently stored footage (up to 200), each with its latest analysis job."""
    return [FootageReply.of_status(status) for status in footage_register(db, user=user).entries]


@router.post("/footage/{footage_id}/analyse", status_code=202, response_model=JobReply, responses=NOT_FOUND)
def footage_analyse(
    request: Request,
    db: DbSession,
    user: ApiUser,
    footage_id: FootageId,
    body: Annotated[AnalyseRequest | None, Body()] = None,
) -> JobReply:
    """Start analysing a footage (the camera needs a current PIA); a finished analysis is returned unless forced."""
    footage = get_footage(db, footage_id)
    body = body or AnalyseRequest()
    context = make_context(body.case, body.purpose) if body.case or body.purpose else None
    return JobReply.of(start_job(request, db, user=user, footage=footage, force=body.force, context=context))


@router.get("/jobs/{job_id}", response_model=JobReply, responses=NOT_FOUND)
def job_get(db: DbSession, user: ApiUser, job_id: Annotated[RowId, Path(description="Job id.")]) -> JobReply:
    """An analysis job's status and progress."""
    return JobReply.of(job_status(db, user=user, job_id=job_id))


@router.get("/footage/{footage_id}/tracks", response_model=list[TrackReply], responses=NOT_FOUND)
def footage_tracks(
    db: DbSession,
    user: ApiUser,
    footage_id: FootageId,
    case: Annotated[str, Query(max_length=64, description="Case reference the tracks are viewed for.")],
    purpose: Annotated[str, Query(max_length=1000, description="Policing purpose (at least 10 characters).")],
    kind: Annotated[str, Query(alias="class", max_length=32, description="Only tracks of this class.")] = "",
) -> list[TrackReply]:
    """The tracks analysis found in a footage: a footage view, so it needs a case and purpose (audited)."""
    context = make_context(case, purpose)
    view = view_tracks(db, user=user, footage_id=footage_id, context=context, class_name=kind.strip() or None)
    return [TrackReply.of(track) for track in view.tracks]
