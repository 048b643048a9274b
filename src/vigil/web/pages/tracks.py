"""What analysis found in a footage (track cards) and the footage's video: both are footage views, so they need
the analytics capability and a stated case and purpose. Each page view is audited once; the thumbnails and
video byte ranges the page then loads are authorised the same way without an audit entry each.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import FileResponse, JSONResponse, Response

from vigil.analysis.review import footage_media, track_thumbnail, view_footage, view_tracks
from vigil.db.models import Footage, PlayableCopy, Track
from vigil.errors import NotFound
from vigil.footage.ingest import get_footage
from vigil.footage.playable import copy_path
from vigil.web.auth import CurrentUser
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.playable import footage_player
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

FootageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TrackNo = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _split(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


TRACKS_PER_PAGE = 60


@dataclass(frozen=True)
class TrackCard:
    """One track as its card shows it: ``id`` is the track's number on every page (search, review, export);
    ``no`` is its number within the footage, used only in the thumbnail's address."""

    id: int
    no: int
    class_name: str
    first_seen: datetime
    last_seen: datetime
    duration_s: float
    offset_s: float  # seconds from the start of the video, for "play from here"
    upper: list[str]
    lower: list[str]
    body: list[str]
    carried: list[str]
    heading: str
    speed: str
    size: str
    has_thumbnail: bool

    @classmethod
    def of(cls, track: Track, footage: Footage) -> TrackCard:
        speed = f"{track.speed_m_s:.1f} m/s" if track.speed_m_s is not None else f"{track.speed_px_s:.0f} px/s"
        size = f"{track.height_m:.2f} m tall" if track.height_m is not None else f"{track.height_px:.0f} px high"
        return cls(
            id=track.id,
            no=track.track_no,
            class_name=track.class_name,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            duration_s=(track.last_seen - track.first_seen).total_seconds(),
            offset_s=max(0.0, (track.first_seen - footage.start_time).total_seconds()),
            upper=_split(track.upper_colours),
            lower=_split(track.lower_colours),
            body=_split(track.body_colours),
            carried=_split(track.carried),
            heading=track.heading,
            speed=speed,
            size=size,
            has_thumbnail=track.thumbnail_path is not None,
        )


@router.get("/footage/{footage_id}/tracks")
def tracks_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    footage_id: FootageId,
    kind: Annotated[str, Query(alias="class", max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    view = view_tracks(
        db,
        user=user,
        footage_id=footage_id,
        context=context,
        class_name=kind.strip() or None,
        page=page,
        per_page=TRACKS_PER_PAGE,
    )
    cards = [TrackCard.of(track, view.footage) for track in view.tracks]
    return render(
        request,
        "tracks.html",
        user=user,
        section="footage",
        view=view,
        cards=cards,
        kind=kind.strip(),
        case_query=urlencode({"case": context.case_ref}),
    )


@router.get("/footage/{footage_id}/tracks/{track_no}/thumbnail")
def track_thumbnail_image(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    footage_id: FootageId,
    track_no: TrackNo,
    track: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    settings = web_state(request).system.settings
    path = track_thumbnail(
        db, settings=settings, user=user, footage_id=footage_id, track_no=track_no, context=context, track_id=track
    )
    return FileResponse(path, media_type="image/jpeg")


@router.get("/footage/{footage_id}/video")
def video_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    footage_id: FootageId,
    t: Annotated[float, Query(ge=0, le=10**7, allow_inf_nan=False)] = 0.0,
) -> Response:
    footage = view_footage(db, user=user, footage_id=footage_id, context=context)
    playback = footage_player(request, db, footage=footage, case_ref=context.case_ref)
    return render(
        request,
        "video.html",
        user=user,
        section="footage",
        footage=footage,
        playback=playback,
        fragment=f"#t={t:.2f}" if t else "",
        file_type=PurePath(footage.stored_path).suffix.lstrip(".").upper(),
        start_s=t,
        case_query=urlencode({"case": context.case_ref}),
    )


@router.get("/footage/{footage_id}/media")
def footage_media_file(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, footage_id: FootageId
) -> Response:
    """The stored original, with HTTP Range support so the video element can seek."""
    settings = web_state(request).system.settings
    path = footage_media(db, settings=settings, user=user, footage_id=footage_id, context=context)
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")


@router.get("/footage/{footage_id}/playable")
def playable_status(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, footage_id: FootageId
) -> Response:
    """How far the footage's playable copy has got (polled by static/playable.js; checked, not audited)."""
    settings = web_state(request).system.settings
    footage_media(db, settings=settings, user=user, footage_id=footage_id, context=context)
    player = footage_player(request, db, footage=get_footage(db, footage_id), case_ref=context.case_ref)
    return JSONResponse(player.as_json(), headers={"Cache-Control": "no-store"})


@router.get("/footage/{footage_id}/playable.mp4")
def playable_file(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, footage_id: FootageId
) -> Response:
    """The footage's playable copy (an MP4 browsers play), with HTTP Range support; checked, not audited."""
    settings = web_state(request).system.settings
    footage_media(db, settings=settings, user=user, footage_id=footage_id, context=context)
    record = db.get(PlayableCopy, footage_id)
    path = copy_path(settings.data_dir, record) if record is not None else None
    if path is None:
        raise NotFound(f"footage {footage_id} has no playable copy ready yet")
    return FileResponse(path, media_type="video/mp4")
