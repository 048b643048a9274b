"""What the capability endpoints of the JSON API share: the case and purpose of the work, bounded bodies, paging.

A footage view, a search, a review, an export or a face search is done *for a case* and *with a purpose*, as on
the web pages (where they are stated once per session): the API takes them as the ``case`` and ``purpose`` query
parameters of every such request, checked by :func:`~vigil.governance.access.make_context`, and the service
audits them with the action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from pydantic import Field
from starlette.requests import ClientDisconnect

from vigil.errors import InvalidInput
from vigil.footage.storage import UploadTooLarge
from vigil.governance.access import make_context
from vigil.governance.audit import AuditContext
from vigil.web.api.access import Responses
from vigil.web.api.schemas import Reply

MIB = 1024 * 1024
CASE_DESCRIPTION = "Case reference the work is for (e.g. CUM-2026-001234); you must be a member of the case."
PURPOSE_DESCRIPTION = "The policing purpose of the work (at least 10 characters); audited with the action."
NOT_FOUND: Responses = {404: {"description": "No such item (or not one of this case's)"}}
TOO_LARGE: Responses = {413: {"description": "The body is over the size limit"}}
T = TypeVar("T")


def api_context(
    case: Annotated[str, Query(max_length=64, description=CASE_DESCRIPTION)],
    purpose: Annotated[str, Query(max_length=1000, description=PURPOSE_DESCRIPTION)],
) -> AuditContext:
    """Dependency: the case and purpose stated with the request (422 when missing or malformed)."""
    return make_context(case, purpose)


ApiContext = Annotated[AuditContext, Depends(api_context)]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip (for the next page).")]
Limit = Annotated[int, Query(ge=1, le=200, description="Most items to return.")]


def binary_body(description: str) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that takes a file as the raw body."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    }


async def read_body(request: Request, *, max_bytes: int, what: str) -> bytes:
    """The raw request body, refused (413) as soon as it passes ``max_bytes``, before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared[:20]) > max_bytes:
        raise UploadTooLarge(f"the {what} is larger than the {max_bytes / MIB:g} MiB limit")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise UploadTooLarge(f"the {what} is larger than the {max_bytes / MIB:g} MiB limit")
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidInput(f"the {what} was interrupted before it all arrived") from None
    if not size:
        raise InvalidInput(f"send the {what} as the request body (application/octet-stream)")
    return b"".join(chunks)


class PageInfo(Reply):
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="Most items asked for.")
    total: int = Field(description="Items in all pages.")
    more: bool = Field(description="Whether another page follows (ask again with offset + limit).")


def page_of(items: Sequence[T], *, offset: int, limit: int) -> tuple[list[T], PageInfo]:
    """One page of an already bounded list, with what a client needs to ask for the next."""
    chosen = list(items[offset : offset + limit])
    info = PageInfo(offset=offset, limit=limit, total=len(items), more=offset + limit < len(items))
    return chosen, info
