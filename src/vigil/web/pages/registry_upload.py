"""The owner's upload page (no login: the link's token is the key) and the JSON endpoints its script uses for
resumable chunked uploads. The page shows only the owner's own request; every refusal is a clear message.

The emailed link is ``/upload#<token>``: the page's script POSTs the token to ``/upload/open``, which checks it
and sets it in an HttpOnly, SameSite=Strict cookie for ``/upload``; every URL after that is token-free (F8)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, RedirectResponse, Response

from vigil.db.base import utcnow
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.footage.storage import MIB
from vigil.registry.requests import INVALID_LINK, decline_request, finish_request, open_request, request_for_token
from vigil.registry.uploads import (
    MAX_CHUNK_BYTES,
    append_chunk,
    begin_upload,
    complete_upload,
    note_not_analysed,
    upload_of,
)
from vigil.web.auth import flash
from vigil.web.deps import DbSession
from vigil.web.forms import refusal_as_json
from vigil.web.jobs import start_job
from vigil.web.link_cookies import UPLOAD_COOKIE, link_token, set_link_cookie
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


def _token(request: Request) -> str:
    token = link_token(request, UPLOAD_COOKIE)
    if not token:
        raise NotFound(INVALID_LINK)
    return token


@router.get("/upload")
def upload_page(request: Request, db: DbSession) -> Response:
    settings = web_state(request).system.settings
    token = link_token(request, UPLOAD_COOKIE)
    if not token:  # straight from the email: the page's script exchanges the link's "#" part for the cookie
        return render(
            request,
            "registry_message.html",
            user=None,
            title="Your footage request",
            text="Opening the request from the link in your email…",
            action="/upload/open",
            button="Open the request",
            link_form=True,
            warning="",
        )
    footage_request = open_request(db, token=token)
    return render(
        request,
        "registry_upload.html",
        user=None,
        req=footage_request,
        zone=settings.zone,
        timezone=settings.timezone,
        limits=settings.registry,
        chunk_bytes=8 * MIB,
    )


@router.post("/upload/open")
def upload_open(request: Request, db: DbSession, token: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Exchange the emailed token (POST body) for the upload cookie; forged, expired or withdrawn links refused."""
    request_for_token(db, token, now=utcnow())
    response = RedirectResponse("/upload", status_code=303)
    set_link_cookie(request, response, UPLOAD_COOKIE, token)
    return response


@router.post("/upload/files")
def upload_begin(request: Request, db: DbSession, body: NewUpload) -> Response:
    settings = web_state(request).system.settings
    with refusal_as_json():
        token = _token(request)
        upload = begin_upload(db, settings=settings, token=token, name=body.name, size_bytes=body.size)
    return JSONResponse({"key": upload.upload_key, "received": 0, "size": upload.size_bytes}, status_code=201)


@router.get("/upload/files/{key}")
def upload_state(request: Request, db: DbSession, key: str) -> Response:
    with refusal_as_json():
        upload = upload_of(db, token=_token(request), upload_key=key, now=utcnow())
    return JSONResponse(
        {"key": key, "received": upload.received_bytes, "size": upload.size_bytes, "status": upload.status}
    )


@router.put("/upload/files/{key}")
async def upload_chunk(
    request: Request, db: DbSession, key: str, offset: Annotated[int, Query(ge=0, le=2**50)]
) -> Response:
    settings = web_state(request).system.settings
    declared = request.headers.get("content-length", "")
    with refusal_as_json():
        if not declared.isdigit() or int(declared) > MAX_CHUNK_BYTES:
            raise InvalidInput(f"send chunks of at most {MAX_CHUNK_BYTES // MIB} MiB with their length")
        data = await request.body()
        token = _token(request)
        upload = append_chunk(db, settings=settings, token=token, upload_key=key, offset=offset, data=data)
    return JSONResponse({"key": key, "received": upload.received_bytes, "size": upload.size_bytes})


@router.post("/upload/files/{key}/complete")
def upload_complete(request: Request, db: DbSession, key: str) -> Response:
    settings = web_state(request).system.settings
    with refusal_as_json():
        stored = complete_upload(db, settings=settings, token=_token(request), upload_key=key)
    db.commit()
    start_copy(request, stored.footage.id)  # a copy browsers can play, if the owner's format needs one
    analysis = "queued for analysis"
    try:
        start_job(request, db, user=stored.officer, footage=stored.footage)
    except NotPermitted as exc:  # e.g. the officer's training lapsed: stored, and the reason shown to officers
        log.warning("footage %s from a footage request was stored but not analysed: %s", stored.footage.id, exc)
        note_not_analysed(db, upload_id=stored.upload.id, reason=exc.message)
        db.commit()
        analysis = "stored; the force will analyse it"
    return JSONResponse({"name": stored.upload.original_name, "status": "received", "analysis": analysis})


@router.post("/upload/finish")
def upload_finish(request: Request, db: DbSession) -> Response:
    finish_request(db, token=_token(request))
    flash(request, "Thank you. We have everything you sent; this link now takes no more files.", "ok")
    return RedirectResponse("/upload", status_code=303)


@router.post("/upload/decline")
def upload_decline(request: Request, db: DbSession) -> Response:
    decline_request(db, token=_token(request))
    flash(request, "Thank you for letting us know you have no footage.", "ok")
    return RedirectResponse("/upload", status_code=303)
