"""Evidence bundles (exports) of a case and video synopses, as on the web pages.

Exports need the export capability, synopses the analytics capability; both a stated case and purpose. The
services check and audit (``export.create``, ``export.download``, ``synopsis.render``, ``synopsis.view``). A
synopsis renders in a background thread, as for the page: ``POST /synopsis`` answers 202 with a render to follow
(or at once with the key of an identical earlier render).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import FileResponse

from vigil.errors import InvalidInput
from vigil.search.export.service import case_folder, create_export, download_export, export_candidates
from vigil.search.synopsis.service import prepare_synopsis, synopsis_file, view_synopsis
from vigil.web.api.access import ERRORS, ApiUser, Responses
from vigil.web.api.common import NOT_FOUND, ApiContext, Offset, page_of
from vigil.web.api.evidence_schemas import (
    ExportList,
    ExportReply,
    ExportRequest,
    RenderReply,
    SynopsisReply,
    SynopsisRequest,
    SynopsisTrack,
)
from vigil.web.api.schemas import RowId
from vigil.web.deps import DbSession
from vigil.web.forms import as_utc
from vigil.web.state import web_state

router = APIRouter(responses=ERRORS)

ExportId = Annotated[RowId, Path(description="Export id.")]
Key = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$", description="Synopsis key.")]
RenderId = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$", description="Render id.")]
ZIP: Responses = {200: {"content": {"application/zip": {}}, "description": "The bundle (a zip)."}}
MP4: Responses = {200: {"content": {"video/mp4": {}}, "description": "The synopsis video."}}


@router.get("/exports", response_model=ExportList, tags=["exports"])
def exports_list(
    db: DbSession,
    user: ApiUser,
    context: ApiContext,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="Most bundles to return.")] = 50,
) -> ExportList:
    """The case's confirmed tracks (what a bundle may hold) and its bundles, newest first."""
    candidates = export_candidates(db, user=user, context=context)
    items, page = page_of(candidates.exports, offset=offset, limit=limit)
    return ExportList(
        confirmed_tracks=[track.id for track in candidates.tracks],
        exports=[ExportReply.of(row) for row in items],
        page=page,
    )


@router.post("/exports", status_code=201, response_model=ExportReply, tags=["exports"], responses=NOT_FOUND)
def exports_create(
    request: Request, db: DbSession, user: ApiUser, context: ApiContext, body: ExportRequest
) -> ExportReply:
    """Bundle the case's confirmed tracks (all, or those listed) with clips, manifest and audit extract."""
    settings = web_state(request).system.settings
    row = create_export(db=db, user=user, context=context, settings=settings, track_ids=body.track_ids or None)
    return ExportReply.of(row)


@router.get(
    "/exports/{export_id}/download",
    response_class=FileResponse,
    tags=["exports"],
    responses={**NOT_FOUND, **ZIP},
)
def exports_download(
    request: Request, db: DbSession, user: ApiUser, context: ApiContext, export_id: ExportId
) -> FileResponse:
    """Download one of the case's bundles (audited); check it with ``vigil export verify``."""
    settings = web_state(request).system.settings
    row, path = download_export(db, user=user, context=context, settings=settings, export_id=export_id)
    name = f"{case_folder(context.case_ref)}-export-{row.id}.zip"
    return FileResponse(path, media_type="application/zip", filename=name)


@router.post("/synopsis", status_code=202, response_model=RenderReply, tags=["synopsis"], responses=NOT_FOUND)
def synopsis_start(
    request: Request, db: DbSession, user: ApiUser, context: ApiContext, body: SynopsisRequest
) -> RenderReply:
    """Check and audit a synopsis of a camera's tracks in a time range, then render it in the background."""
    settings = web_state(request).system.settings
    start, end = as_utc(body.start, label="start"), as_utc(body.end, label="end")
    if start is None or end is None:
        raise InvalidInput("give the synopsis a start and an end")
    prepared = prepare_synopsis(
        db=db,
        user=user,
        context=context,
        camera_code=body.camera,
        start=start,
        end=end,
        track_ids=body.track_ids or None,
        settings=settings,
    )
    db.commit()  # the request is on the audit log whether or not its render succeeds
    if prepared.cached() is not None:
        return RenderReply(render_id=None, status="done", key=prepared.key, error=None)
    render_id = web_state(request).system.services.synopsis_renders.get().start(prepared, owner=user.id)
    return RenderReply(render_id=render_id, status="waiting", key=None, error=None)


@router.get("/synopsis/renders/{render_id}", response_model=RenderReply, tags=["synopsis"], responses=NOT_FOUND)
def synopsis_render(request: Request, user: ApiUser, context: ApiContext, render_id: RenderId) -> RenderReply:
    """How a render one asked for is going; once done, the synopsis key."""
    job = web_state(request).system.services.synopsis_renders.get().get(render_id, owner=user.id)
    done = job.status == "done"
    return RenderReply(render_id=render_id, status=job.status, key=job.key if done else None, error=job.error or None)


@router.get("/synopsis/{key}", response_model=SynopsisReply, tags=["synopsis"], responses=NOT_FOUND)
def synopsis_get(request: Request, db: DbSession, user: ApiUser, context: ApiContext, key: Key) -> SynopsisReply:
    """A rendered synopsis: its camera, range and the tracks it shows, each with its moment (audited view)."""
    settings = web_state(request).system.settings
    result = view_synopsis(db, settings=settings, user=user, context=context, key=key)
    data = json.loads(result.sidecar.read_text())
    tracks = [
        SynopsisTrack(
            id=int(t["id"]),
            first_seen=datetime.fromisoformat(t["first_seen"]),
            offset_s=float(t["offset_s"]),
            start_s=float(t["start_s"]),
        )
        for t in sorted(data["tracks"], key=lambda t: (t["first_seen"], t["id"]))
    ]
    return SynopsisReply(
        key=result.key,
        camera=data["camera"],
        start=datetime.fromisoformat(data["from"]),
        end=datetime.fromisoformat(data["to"]),
        length_s=result.length_s,
        tracks=tracks,
    )


@router.get("/synopsis/{key}/video", response_class=FileResponse, tags=["synopsis"], responses={**NOT_FOUND, **MP4})
def synopsis_video(request: Request, db: DbSession, user: ApiUser, context: ApiContext, key: Key) -> FileResponse:
    """The synopsis video (MP4, byte ranges supported; checked, not audited again)."""
    settings = web_state(request).system.settings
    path = synopsis_file(db, settings=settings, user=user, context=context, key=key, kind="mp4")
    return FileResponse(path, media_type="video/mp4")
