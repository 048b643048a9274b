"""Evidence export for the current case: its confirmed tracks (to choose from), "Create bundle", and its bundles
with download links. Everything is checked and audited by :mod:`vigil.search.export.service`; routes only parse and
render.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import FileResponse, Response

from vigil.search.export.service import case_folder, create_export, download_export, export_candidates
from vigil.web.auth import CurrentUser
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.forms import outcome
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

ExportId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TrackIds = Annotated[list[int], Form(max_length=1000, description="The confirmed tracks ticked on the page.")]


@router.get("/exports")
def exports_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext) -> Response:
    candidates = export_candidates(db, user=user, context=context)
    return render(
        request,
        "exports.html",
        user=user,
        section="exports",
        candidates=candidates,
        case_query=urlencode({"case": context.case_ref}),
    )


@router.post("/exports")
def exports_create(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    track: TrackIds = [],  # noqa: B006
) -> Response:
    settings = web_state(request).system.settings
    back = f"/exports?{urlencode({'case': context.case_ref})}"
    return outcome(
        request,
        lambda: create_export(db=db, user=user, context=context, settings=settings, track_ids=track),
        done="The evidence bundle was created: download it below.",
        back=back,
    )


@router.get("/exports/{export_id}/download")
def exports_download(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, export_id: ExportId
) -> Response:
    settings = web_state(request).system.settings
    row, path = download_export(db, user=user, context=context, settings=settings, export_id=export_id)
    name = f"{case_folder(context.case_ref)}-export-{row.id}.zip"
    return FileResponse(path, media_type="application/zip", filename=name)
