"""Research dashboards: tracks by class over time, path and dwell heatmaps and busiest times for chosen cameras and
a range of local time, as pictures drawn on the server and as CSV downloads.

A dashboard is a view of footage-derived data, so it needs the stated case and purpose. The page view is audited
once (``dashboard.view``); the pictures it loads are authorised the same way without an entry each; each CSV
download is audited (``dashboard.export``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from vigil.db.base import utcnow
from vigil.errors import InvalidInput, NotFound
from vigil.governance.audit import AuditContext
from vigil.search.dashboards.charts import Charts
from vigil.search.dashboards.service import (
    Dashboard,
    Dataset,
    dashboard,
    dashboard_cameras,
    dashboard_csv,
    dashboard_media,
    parse_local_time,
)
from vigil.web.auth import CurrentUser
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.rendering import render, when
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
NO_STORE = {"cache-control": "no-store"}


class DashboardQuery(BaseModel):
    """The dashboard form, as query parameters (so a dashboard can be bookmarked and its pictures fetched)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    camera: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=12, description="Codes of the cameras to show."
    )
    start: str = Field("", alias="from", max_length=40, description="Start of the range, local time (ISO 8601).")
    end: str = Field("", alias="to", max_length=40, description="End of the range, local time (ISO 8601).")
    case: str = Field("", max_length=64, description="Case reference of the working context (set by the page).")


Form = Annotated[DashboardQuery, Query()]
Camera = Annotated[str, Path(max_length=64)]


@dataclass(frozen=True)
class Selection:
    """The form's cameras and range, as the services take them."""

    camera_codes: list[str]
    start: datetime
    end: datetime
    zone: tzinfo

    @classmethod
    def of(cls, request: Request, form: DashboardQuery) -> Selection:
        zone = web_state(request).system.settings.zone
        start, end = parse_local_time(form.start, zone, "from"), parse_local_time(form.end, zone, "to")
        return cls(form.camera, start, end, zone)


def _query(form: DashboardQuery, context: AuditContext) -> str:
    pairs = [("camera", code) for code in form.camera] + [("from", form.start), ("to", form.end)]
    return urlencode([*pairs, ("case", context.case_ref)])


def _default_form(request: Request) -> DashboardQuery:
    now = utcnow().astimezone(web_state(request).system.settings.zone).replace(minute=0, second=0, microsecond=0)
    start, end = now - timedelta(days=1), now + timedelta(hours=1)
    return DashboardQuery(start=start.strftime(LOCAL_INPUT), end=end.strftime(LOCAL_INPUT))


@router.get("/dashboards")
def dashboards_page(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, form: Form
) -> Response:
    cameras = dashboard_cameras(db, user=user)
    board, error = _view(request, db, user, context, form) if form.camera else (None, "")
    return render(
        request,
        "dashboards.html",
        user=user,
        section="dashboards",
        status_code=422 if error else 200,
        cameras=cameras,
        form=form if form.camera or form.start else _default_form(request),
        board=board,
        error=error,
        query=_query(form, context),
        case_ref=context.case_ref,
        zone_name=web_state(request).system.settings.timezone,
        local=lambda moment: _local(board, moment),
    )


def _view(
    request: Request, db: DbSession, user: CurrentUser, context: AuditContext, form: DashboardQuery
) -> tuple[Dashboard | None, str]:
    """The audited dashboard view (without heatmaps: the page loads them as pictures), or the error to show."""
    try:
        chosen = Selection.of(request, form)
        board = dashboard(
            db=db,
            user=user,
            context=context,
            camera_codes=chosen.camera_codes,
            start=chosen.start,
            end=chosen.end,
            zone=chosen.zone,
            heatmaps=(),
        )
    except (InvalidInput, NotFound) as exc:
        return None, exc.message
    return board, ""


def _local(board: Dashboard | None, moment: datetime) -> str:
    return when(moment, "%a %d %b %Y %H:%M", zone=board.zone) if board else ""


def _board(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: AuditContext,
    form: DashboardQuery,
    heatmap: tuple[Dataset, str] | None = None,
) -> Dashboard:
    chosen = Selection.of(request, form)
    return dashboard_media(
        db=db,
        user=user,
        context=context,
        camera_codes=chosen.camera_codes,
        start=chosen.start,
        end=chosen.end,
        zone=chosen.zone,
        heatmaps=(heatmap[0],) if heatmap else (),
        heatmap_camera=heatmap[1] if heatmap else None,
    )


def _png(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers=NO_STORE)


@router.get("/dashboards/counts.png")
def counts_picture(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, form: Form) -> Response:
    board = _board(request, db, user, context, form)
    return _png(Charts(web_state(request).system.settings).counts(board))


@router.get("/dashboards/busiest.png")
def busiest_picture(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, form: Form
) -> Response:
    board = _board(request, db, user, context, form)
    return _png(Charts(web_state(request).system.settings).busiest(board))


@router.get("/dashboards/{kind}/{camera}.png")
def heatmap_picture(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    form: Form,
    kind: Annotated[Dataset, Path()],
    camera: Camera,
) -> Response:
    if kind not in (Dataset.PATHS, Dataset.DWELL):
        raise NotFound("heatmaps are of paths or dwell")
    board = _board(request, db, user, context, form, (kind, camera))
    if camera not in board.cameras:
        raise NotFound(f"camera {camera} is not on this dashboard")
    return _png(Charts(web_state(request).system.settings).heatmap(board, kind, camera))


@router.get("/dashboards/{dataset}.csv")
def dataset_csv(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    form: Form,
    dataset: Annotated[Dataset, Path()],
) -> Response:
    chosen = Selection.of(request, form)
    text = dashboard_csv(
        db=db,
        user=user,
        context=context,
        camera_codes=chosen.camera_codes,
        start=chosen.start,
        end=chosen.end,
        zone=chosen.zone,
        dataset=dataset,
    )
    cameras = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(form.camera))[:80]
    name = f"dashboard-{dataset.value}-{cameras}.csv"
    headers = {**NO_STORE, "content-disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
