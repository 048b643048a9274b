"""Research dashboards: for cameras and a time range, tracks by class over time, path and dwell heatmaps and the
busiest times, as data (:mod:`vigil.search.dashboards.data`), pictures (:mod:`vigil.search.dashboards.charts`) and
CSV.

A dashboard is footage-derived, so it needs the analytics capability and a stated case and purpose. A dashboard
view is audited once (``dashboard.view``, with the cameras and the range); the pictures a page then loads are
authorised the same way without an entry each; a CSV download leaves the system and is audited as
``dashboard.export``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Camera, Footage, User
from vigil.domain.cameras import camera_code
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.search.dashboards.data import (
    DAYS,
    CountTable,
    Grid,
    Heatmap,
    busiest_times,
    count_table,
    dwell_heatmap,
    frame_footage,
    path_heatmap,
    slot_counts,
)

MAX_RANGE = timedelta(days=92)
MAX_CAMERAS = 12
DEFAULT_FRAME = (1280, 720)  # grid size for a camera with no footage in the range


class Dataset(StrEnum):
    """The dashboard's datasets, each downloadable as CSV."""

    COUNTS = "counts"
    PATHS = "paths"
    DWELL = "dwell"
    BUSIEST = "busiest"


HEATMAPS = (Dataset.PATHS, Dataset.DWELL)


@dataclass(frozen=True)
class BusiestHour:
    day: str  # Mon..Sun, local
    hour: int  # 0..23, local
    tracks: int


@dataclass(frozen=True)
class Dashboard:
    """What one dashboard shows; times are UTC instants, ``zone`` is how they are shown."""

    cameras: tuple[str, ...]
    start: datetime
    end: datetime
    zone: tzinfo
    counts: CountTable
    busiest: NDArray[np.int64]  # 7 x 24: local day of the week (Monday first) x local hour
    paths: dict[str, Heatmap]  # by camera code (only those asked for)
    dwell: dict[str, Heatmap]
    frames: dict[str, Footage | None]  # the footage a heatmap's background picture comes from

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def busiest_hour(self) -> BusiestHour | None:
        if not self.busiest.any():
            return None
        day, hour = np.unravel_index(int(np.argmax(self.busiest)), self.busiest.shape)
        return BusiestHour(DAYS[int(day)], int(hour), int(self.busiest[day, hour]))


def _allow(db: Session, user: User, action: str, context: AuditContext | None, now: datetime | None = None) -> None:
    authorise(
        db,
        user=user,
        capability=Capability.ANALYTICS,
        action=action,
        context=context,
        context_required=context is not None,
        now=now,
    )


def dashboard_cameras(db: Session, *, user: User) -> list[Camera]:
    """The cameras to choose from (analytics users; no footage shown, so no purpose needed)."""
    _allow(db, user, "dashboard.cameras", None)
    return list(db.execute(select(Camera).order_by(Camera.code)).scalars())


def dashboard(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    camera_codes: Sequence[str],
    start: datetime,
    end: datetime,
    zone: tzinfo,
    now: datetime | None = None,
    max_range: timedelta = MAX_RANGE,
    heatmaps: Collection[Dataset] = HEATMAPS,
) -> Dashboard:
    """The dashboard of the cameras over [start, end), audited as ``dashboard.view``.

    ``heatmaps`` says which heatmaps to compute (the costly part): a page that loads them as pictures needs none.
    """
    now = now or utcnow()
    _allow(db, user, "dashboard.view", context, now)
    board = _build(db, camera_codes, start, end, zone, max_range, heatmaps, None)
    _audit(db, user, "dashboard.view", context, board, {"tracks": board.total}, now)
    return board


def dashboard_media(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    camera_codes: Sequence[str],
    start: datetime,
    end: datetime,
    zone: tzinfo,
    max_range: timedelta = MAX_RANGE,
    heatmaps: Collection[Dataset] = (),
    heatmap_camera: str | None = None,
) -> Dashboard:
    """The same dashboard for the pictures of a page already audited by :func:`dashboard` (checked, not audited),
    with the ``heatmaps`` of one camera (or of all when ``heatmap_camera`` is None)."""
    _allow(db, user, "dashboard.view", context)
    return _build(db, camera_codes, start, end, zone, max_range, heatmaps, heatmap_camera)


def dashboard_csv(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    camera_codes: Sequence[str],
    start: datetime,
    end: datetime,
    zone: tzinfo,
    dataset: Dataset,
    max_range: timedelta = MAX_RANGE,
) -> str:
    """One dataset of the dashboard as CSV, audited as ``dashboard.export``."""
    now = utcnow()
    _allow(db, user, "dashboard.export", context, now)
    board = _build(db, camera_codes, start, end, zone, max_range, [d for d in HEATMAPS if d is dataset], None)
    record_export(db, user=user, context=context, board=board, datasets=[dataset], now=now)
    return to_csv(board, dataset)


def record_export(
    db: Session,
    *,
    user: User,
    context: AuditContext,
    board: Dashboard,
    datasets: Sequence[Dataset],
    now: datetime | None = None,
) -> None:
    """Audit that these datasets of an already authorised dashboard leave the system (as CSV files)."""
    _audit(db, user, "dashboard.export", context, board, {"datasets": [str(d) for d in datasets]}, now)


def _audit(
    db: Session,
    user: User,
    action: str,
    context: AuditContext,
    board: Dashboard,
    extra: dict[str, object],
    now: datetime | None,
) -> None:
    audit.record(
        db,
        actor=user.username,
        action=action,
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="cameras",
        subject_id=",".join(board.cameras)[:64],
        details={
            "cameras": list(board.cameras),
            "from": board.start.isoformat(),
            "to": board.end.isoformat(),
            **extra,
        },
        now=now,
    )


def parse_local_time(value: str, zone: tzinfo, field: str) -> datetime:
    """An ISO 8601 date/time as a UTC instant; without an offset it is local time in ``zone``."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: {text!r} is not a date/time (use e.g. 2026-11-21T14:00)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


def _check_range(start: datetime, end: datetime, max_range: timedelta) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("the range needs times with a time zone")
    if end <= start:
        raise InvalidInput("the end of the range must be after its start")
    if end - start > max_range:
        raise InvalidInput(f"the range may be at most {max_range.days} days long")


def _cameras(db: Session, codes: Sequence[str]) -> list[Camera]:
    wanted = list(dict.fromkeys(camera_code(code) for code in codes if code.strip()))
    if not wanted:
        raise InvalidInput("choose at least one camera")
    if len(wanted) > MAX_CAMERAS:
        raise InvalidInput(f"choose at most {MAX_CAMERAS} cameras")
    found = {c.code: c for c in db.execute(select(Camera).where(Camera.code.in_(wanted))).scalars()}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise NotFound(f"no camera {', '.join(missing)}")
    return [found[code] for code in wanted]


def _build(
    db: Session,
    codes: Sequence[str],
    start: datetime,
    end: datetime,
    zone: tzinfo,
    max_range: timedelta,
    heatmaps: Collection[Dataset],
    heatmap_camera: str | None,
) -> Dashboard:
    _check_range(start, end, max_range)
    cameras = _cameras(db, codes)
    slots = slot_counts(db, camera_ids=[c.id for c in cameras], start=start, end=end)
    paths: dict[str, Heatmap] = {}
    dwell: dict[str, Heatmap] = {}
    frames: dict[str, Footage | None] = {}
    for camera in cameras:
        if not heatmaps or heatmap_camera not in (None, camera.code):
            continue
        footage = frame_footage(db, camera=camera, start=start, end=end)
        grid = Grid.for_frame(*((footage.width, footage.height) if footage else DEFAULT_FRAME))
        if Dataset.PATHS in heatmaps:
            paths[camera.code] = path_heatmap(db, camera=camera, grid=grid, start=start, end=end)
        if Dataset.DWELL in heatmaps:
            dwell[camera.code] = dwell_heatmap(db, camera=camera, grid=grid, start=start, end=end)
        frames[camera.code] = footage
    return Dashboard(
        cameras=tuple(c.code for c in cameras),
        start=start,
        end=end,
        zone=zone,
        counts=count_table(slots, start=start, end=end, zone=zone),
        busiest=busiest_times(slots, zone),
        paths=paths,
        dwell=dwell,
        frames=frames,
    )


def to_csv(board: Dashboard, dataset: Dataset) -> str:
    """A dataset as CSV text with a header row (local times in the force's zone, UTC alongside)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if dataset is Dataset.COUNTS:
        table = board.counts
        writer.writerow(["bucket_start_utc", "bucket_start_local", "bucket", *table.classes, "total"])
        for bucket, row in zip(table.buckets, table.counts, strict=True):
            local = bucket.astimezone(board.zone).isoformat()
            writer.writerow([bucket.isoformat(), local, table.size.value, *row.tolist(), int(row.sum())])
    elif dataset is Dataset.BUSIEST:
        writer.writerow(["day", "hour", "tracks"])
        for day, hour in np.ndindex(board.busiest.shape):
            writer.writerow([DAYS[day], hour, int(board.busiest[day, hour])])
    else:
        maps = board.paths if dataset is Dataset.PATHS else board.dwell
        unit = "tracks" if dataset is Dataset.PATHS else "seconds"
        writer.writerow(["camera", "row", "column", "x0", "y0", "x1", "y1", unit])
        for code, heatmap in maps.items():
            cell = heatmap.grid.cell_px
            for row, col in zip(*np.nonzero(heatmap.values), strict=True):
                value = float(heatmap.values[row, col])
                x0, y0 = int(col) * cell, int(row) * cell
                shown = int(value) if unit == "tracks" else round(value, 3)
                writer.writerow([code, int(row), int(col), x0, y0, x0 + cell, y0 + cell, shown])
    return out.getvalue()
