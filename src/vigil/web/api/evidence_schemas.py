"""Request and response bodies of the export and synopsis operations of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from vigil.db.models import EvidenceExport
from vigil.web.api.common import PageInfo
from vigil.web.api.schemas import Reply, Request, RowId, ShortText


class ExportRequest(Request):
    track_ids: list[RowId] = Field(
        default_factory=list,
        max_length=1000,
        description="The confirmed tracks to bundle (each must be confirmed for the case); empty: all of them.",
    )


class ExportReply(Reply):
    id: int = Field(description="Export id (to download it).")
    sha256: str = Field(description="SHA-256 of the zip.")
    size_bytes: int = Field(description="Size of the zip.")
    track_count: int = Field(description="Tracks in the bundle.")
    created_at: datetime = Field(description="When it was made (UTC).")

    @classmethod
    def of(cls, row: EvidenceExport) -> ExportReply:
        return cls(
            id=row.id,
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            track_count=row.track_count,
            created_at=row.created_at,
        )


class ExportList(Reply):
    confirmed_tracks: list[int] = Field(description="Ids of the case's confirmed tracks, first seen first.")
    exports: list[ExportReply] = Field(description="The case's bundles, newest first.")
    page: PageInfo = Field(description="Where this page of bundles is in the list.")


class SynopsisRequest(Request):
    camera: ShortText = Field(description="Code of the camera.")
    start: datetime = Field(description="Start of the range (UTC if no offset is given).")
    end: datetime = Field(description="End of the range (UTC if no offset is given).")
    track_ids: list[RowId] = Field(
        default_factory=list, max_length=5000, description="Only these tracks (e.g. search results); empty: all."
    )


class RenderReply(Reply):
    render_id: str | None = Field(description="The render to follow (null when an earlier render was reused).")
    status: Literal["waiting", "running", "done", "failed"] = Field(description="How the render is going.")
    key: str | None = Field(description="The synopsis key once done (GET /synopsis/{key}).")
    error: str | None = Field(description="Why it failed, if it did.")


class SynopsisTrack(Reply):
    id: int = Field(description="Track id (review it with GET /tracks/{id}/review).")
    first_seen: datetime = Field(description="When it was first seen (UTC).")
    offset_s: float = Field(description="When it appears in the synopsis video (seconds).")
    start_s: float = Field(description="Its moment in its own footage (seconds from the start).")


class SynopsisReply(Reply):
    key: str = Field(description="Synopsis key.")
    camera: str = Field(description="Camera code.")
    start: datetime = Field(description="Start of the range (UTC).")
    end: datetime = Field(description="End of the range (UTC).")
    length_s: float = Field(description="Length of the synopsis video (seconds).")
    tracks: list[SynopsisTrack] = Field(description="The tracks it shows, first seen first.")
