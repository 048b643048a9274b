"""The owner's upload page (no login: the link's token is the key) and the JSON endpoints its script uses for
resumable chunked uploads. The page shows only the owner's own request; every refusal is a clear message."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, RedirectResponse, Response

from vigil.db.base import utcnow
from vigil.errors import InvalidInput, NotPermitted, VigilError
from vigil.footage.storage import MIB
from vigil.registry.requests import decline_request, finish_request, open_request
from vigil.registry.uploads import MAX_CHUNK_BYTES, append_chunk, begin_upload, complete_upload, upload_of
from vigil.web.auth import flash
from vigil.web.deps import DbSession
from vigil.web.jobs import start_job
from vigil.web.playable import start_copy
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)
log = logging.getLogger("vigil.web")


class NewUpload(BaseModel):
    """A file the owner is about to send."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1000, description="The file's name on the owner's computer.")
    size: int = Field(ge=0, le=2**50, description="The file's size in bytes.")


def _json_error(exc: VigilError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)


@router.get("/upload/{token}")
def upload_page(request: Request, db: DbSession, token: str) -> Response:
    settings = web_state(request).system.settings
    footage_request = open_request(db, token=token)
    return render(
        request,
        "registry_upload.html",
        user=None,
        req=footage_request,
        token=token,
        zone=settings.zone,
        timezone=settings.timezone,
        limits=settings.registry,
        chunk_bytes=8 * MIB,
    )


@router.post("/upload/{token}/files")
def upload_begin(request: Request, db: DbSession, token: str, body: NewUpload) -> Response:
    settings = web_state(request).system.settings
    try:
        upload = begin_upload(db, settings=settings, token=token, name=body.name, size_bytes=body.size)
    except VigilError as exc:
        db.rollback()
        return _json_error(exc)
    return JSONResponse({"key": upload.upload_key, "received": 0, "size": upload.size_bytes}, status_code=201)


@router.get("/upload/{token}/files/{key}")
def upload_state(db: DbSession, token: str, key: str) -> Response:
    try:
        upload = upload_of(db, token=token, upload_key=key, now=utcnow())
    except VigilError as exc:
        return _json_error(exc)
    return JSONResponse(
        {"key": key, "received": upload.received_bytes, "size": upload.size_bytes, "status": upload.status}
    )


@router.put("/upload/{token}/files/{key}")
async def upload_chunk(
    request: Request, db: DbSession, token: str, key: str, offset: Annotated[int, Query(ge=0, le=2**50)]
) -> Response:
    settings = web_state(request).system.settings
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_CHUNK_BYTES:
        return _json_error(InvalidInput(f"send chunks of at most {MAX_CHUNK_BYTES // MIB} MiB with their length"))
    data = await request.body()
    try:
        upload = append_chunk(db, settings=settings, token=token, upload_key=key, offset=offset, data=data)
    except VigilError as exc:
        db.rollback()
        return _json_error(exc)
    return JSONResponse({"key": key, "received": upload.received_bytes, "size": upload.size_bytes})


@router.post("/upload/{token}/files/{key}/complete")
def upload_complete(request: Request, db: DbSession, token: str, key: str) -> Response:
    settings = web_state(request).system.settings
    try:
        stored = complete_upload(db, settings=settings, token=token, upload_key=key)
    except VigilError as exc:
        db.rollback()
        return _json_error(exc)
    db.commit()
    start_copy(request, stored.footage.id)  # a copy browsers can play, if the owner's format needs one
    analysis = "queued for analysis"
    try:
        start_job(request, db, user=stored.officer, footage=stored.footage)
    except NotPermitted as exc:  # e.g. no current PIA for owner-submitted footage: stored, analysed later
        log.warning("footage %s from a footage request was stored but not analysed: %s", stored.footage.id, exc)
        analysis = "stored; the force will analyse it"
    return JSONResponse({"name": stored.upload.original_name, "status": "received", "analysis": analysis})


@router.post("/upload/{token}/finish")
def upload_finish(request: Request, db: DbSession, token: str) -> Response:
    finish_request(db, token=token)
    flash(request, "Thank you. We have everything you sent; this link now takes no more files.", "ok")
    return RedirectResponse(f"/upload/{token}", status_code=303)


@router.post("/upload/{token}/decline")
def upload_decline(request: Request, db: DbSession, token: str) -> Response:
    decline_request(db, token=token)
    flash(request, "Thank you for letting us know you have no footage.", "ok")
    return RedirectResponse(f"/upload/{token}", status_code=303)
