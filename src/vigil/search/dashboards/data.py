"""The numbers behind the research dashboards: tracks by class over time, path and dwell heatmaps, busiest times.

Counting is done in the database: one query groups the tracks that start in the range by class and by 15-minute
slot (UTC), and everything else (the display buckets, which may be local days, and the day-of-week x hour-of-day
grid in the force's time zone) is folded from those slots, so the counts stay exact across daylight-saving changes
(every time zone offset in use is a whole number of quarter hours). The heatmaps load paths and observations in
bulk and rasterise them with numpy onto a grid over the camera's frame.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, ColumnElement, Integer, Row, cast, extract, func, select
from sqlalchemy.orm import Session

from vigil.db.models import Camera, Footage, Observation, Track

SLOT_S = 900  # the database groups tracks by quarter hour
PATH_BATCH = 20_000  # paths rasterised at a time, to bound memory
GRID_COLUMNS = 48  # heatmap cells across the frame
MIN_CELL_PX = 4
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BucketSize(StrEnum):
    """How long one bar of the counts chart is; chosen from the length of the range."""

    QUARTER_HOUR = "15 minutes"
    HOUR = "hour"
    DAY = "day"

    @classmethod
    def for_range(cls, start: datetime, end: datetime) -> BucketSize:
        length = end - start
        if length <= timedelta(days=1):
            return cls.QUARTER_HOUR
        if length <= timedelta(days=10):
            return cls.HOUR
        return cls.DAY


@dataclass(frozen=True)
class CountTable:
    """Tracks starting in each bucket, by class: ``counts[bucket, class]``."""

    size: BucketSize
    buckets: list[datetime]  # each bucket's start (UTC instant; a local midnight for days)
    classes: list[str]  # most tracks first
    counts: NDArray[np.int64]

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def by_class(self) -> dict[str, int]:
        return {kind: int(self.counts[:, i].sum()) for i, kind in enumerate(self.classes)}


@dataclass(frozen=True)
class Grid:
    """Square cells of ``cell_px`` source pixels over a camera frame of ``width`` x ``height``."""

    width: int
    height: int
    cell_px: int

    @classmethod
    def for_frame(cls, width: int, height: int) -> Grid:
        return cls(width, height, max(MIN_CELL_PX, round(width / GRID_COLUMNS)))

    @property
    def columns(self) -> int:
        return math.ceil(self.width / self.cell_px)

    @property
    def rows(self) -> int:
        return math.ceil(self.height / self.cell_px)

    def cells(self, points: NDArray[np.float64]) -> NDArray[np.int64]:
        """The flat cell index (row * columns + column) of each (x, y) point; points outside go to the edge cell."""
        col = np.clip(np.floor(points[:, 0] / self.cell_px), 0, self.columns - 1).astype(np.int64)
        row = np.clip(np.floor(points[:, 1] / self.cell_px), 0, self.rows - 1).astype(np.int64)
        return row * self.columns + col


@dataclass(frozen=True)
class Heatmap:
    """A value per grid cell of one camera: tracks crossing it (paths) or seconds spent in it (dwell)."""

    camera: str
    grid: Grid
    values: NDArray[np.float64]  # rows x columns
    unit: str  # "tracks" or "seconds"


def slot_counts(
    db: Session, *, camera_ids: Sequence[int], start: datetime, end: datetime
) -> dict[tuple[str, int], int]:
    """Tracks starting in [start, end) on the cameras, by (class, quarter-hour slot since the epoch)."""
    slot = _first_seen_slot(db)
    stmt = (
        select(Track.class_name, slot, func.count(Track.id))
        .where(Track.camera_id.in_(camera_ids), Track.first_seen >= start, Track.first_seen < end, ~Track.superseded)
        .where(_no_case_footage())
        .group_by(Track.class_name, slot)
    )
    return {(str(kind), int(n_slot)): int(n) for kind, n_slot, n in db.execute(stmt)}


def _first_seen_slot(db: Session) -> ColumnElement[int]:
    """SQL for the quarter-hour slot of a track's start (stored as naive UTC), on SQLite or PostgreSQL."""
    if db.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", Track.first_seen), Integer) // SLOT_S
    return cast(func.floor(extract("epoch", Track.first_seen) / SLOT_S), BigInteger)


def slot_start(slot: int) -> datetime:
    return EPOCH + timedelta(seconds=slot * SLOT_S)


def bucket_start(instant: datetime, size: BucketSize, zone: tzinfo) -> datetime:
    """The start (UTC) of the bucket holding ``instant``: quarter hours and hours of local time, local days."""
    local = instant.astimezone(zone)
    if size is BucketSize.DAY:
        return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)
    width = SLOT_S if size is BucketSize.QUARTER_HOUR else 3600
    offset = local.utcoffset() or timedelta(0)
    seconds = int((instant - EPOCH).total_seconds() + offset.total_seconds())
    return instant.astimezone(UTC) - timedelta(seconds=seconds % width, microseconds=instant.microsecond)


def count_table(slots: dict[tuple[str, int], int], *, start: datetime, end: datetime, zone: tzinfo) -> CountTable:
    """Fold quarter-hour counts into the range's buckets (every bucket listed, empty ones too)."""
    size = BucketSize.for_range(start, end)
    first = int((start - EPOCH).total_seconds()) // SLOT_S
    last = math.ceil((end - EPOCH).total_seconds() / SLOT_S)
    buckets = list(dict.fromkeys(bucket_start(slot_start(s), size, zone) for s in range(first, last)))
    index = {bucket: i for i, bucket in enumerate(buckets)}
    totals: dict[str, int] = {}
    for (kind, _), n in slots.items():
        totals[kind] = totals.get(kind, 0) + n
    classes = sorted(totals, key=lambda kind: (-totals[kind], kind))
    column = {kind: i for i, kind in enumerate(classes)}
    counts = np.zeros((len(buckets), len(classes)), dtype=np.int64)
    for (kind, slot), n in slots.items():
        counts[index[bucket_start(slot_start(slot), size, zone)], column[kind]] += n
    return CountTable(size, buckets, classes, counts)


def busiest_times(slots: dict[tuple[str, int], int], zone: tzinfo) -> NDArray[np.int64]:
    """Tracks by local day of the week (rows, Monday first) and local hour of the day (columns)."""
    grid = np.zeros((7, 24), dtype=np.int64)
    for (_, slot), n in slots.items():
        local = slot_start(slot).astimezone(zone)
        grid[local.weekday(), local.hour] += n
    return grid


def frame_footage(db: Session, *, camera: Camera, start: datetime, end: datetime) -> Footage | None:
    """The camera's most recent footage in the range (for the frame size and the background picture): that of
    its latest track in the range, else the latest footage overlapping the range, else None."""
    latest = select(Track.footage_id).where(*_in_range(camera, start, end))
    footage_id = db.execute(latest.order_by(Track.first_seen.desc()).limit(1)).scalar_one_or_none()
    if footage_id is not None:
        return db.get(Footage, footage_id)
    stmt = (
        select(Footage)
        .where(Footage.camera_id == camera.id, Footage.start_time < end, Footage.case_id.is_(None))
        .order_by(Footage.start_time.desc(), Footage.id.desc())
        .limit(20)
    )
    for footage in db.execute(stmt).scalars():
        if footage.start_time + timedelta(seconds=footage.duration_s) > start:
            return footage
    return None


def _in_range(camera: Camera, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """The camera's tracks starting in the range; footage held for a case stays with that case, out of the
    force's footfall figures and pictures."""
    return [
        Track.camera_id == camera.id,
        Track.first_seen >= start,
        Track.first_seen < end,
        ~Track.superseded,
        _no_case_footage(),
    ]


def _no_case_footage() -> ColumnElement[bool]:
    return Track.footage_id.not_in(select(Footage.id).where(Footage.case_id.is_not(None)))


def path_heatmap(db: Session, *, camera: Camera, grid: Grid, start: datetime, end: datetime) -> Heatmap:
    """Tracks crossing each cell: each track's path is drawn once onto the grid (a cell counts a track once)."""
    stmt = select(Track.path, Footage.width, Footage.height).join(Footage, Footage.id == Track.footage_id)
    values = np.zeros(grid.rows * grid.columns, dtype=np.float64)
    query = stmt.where(*_in_range(camera, start, end)).execution_options(yield_per=PATH_BATCH)
    result = db.connection().execute(query)  # Core rows: no ORM processing per row
    for batch in result.partitions():
        values += _path_counts(batch, grid)
    return Heatmap(camera.code, grid, values.reshape(grid.rows, grid.columns), "tracks")


def _path_counts(rows: Sequence[Row[str, int, int]], grid: Grid) -> NDArray[np.float64]:
    """Tracks per cell for a batch of (path JSON, footage width, footage height) rows."""
    points, lengths = _polylines([text for text, _, _ in rows])
    n_cells = grid.rows * grid.columns
    if not lengths.any():
        return np.zeros(n_cells)
    scale = np.array([[grid.width / max(w, 1), grid.height / max(h, 1)] for _, w, h in rows]).reshape(-1, 2)
    owner = np.repeat(np.arange(len(rows)), lengths)
    points = points * scale[owner]
    joined = owner[1:] == owner[:-1]  # consecutive points of one track make a segment
    single = np.flatnonzero(lengths == 1)  # a one-point path is a segment of length zero
    first_point = np.cumsum(lengths) - lengths
    a = np.concatenate([points[:-1][joined], points[first_point[single]]])
    b = np.concatenate([points[1:][joined], points[first_point[single]]])
    owners = np.concatenate([owner[:-1][joined], single])
    crossed = np.zeros((len(rows), n_cells), dtype=bool)  # track x cell: each track counts once per cell
    segment, cells = _crossings(a, b, grid)
    crossed[owners[segment], cells] = True
    counts: NDArray[np.float64] = crossed.sum(axis=0, dtype=np.float64)
    return counts


def _polylines(texts: list[str]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """All paths' (x, y) points, concatenated, and each path's number of points; parsed in one go when they are
    all well formed, else one by one (a malformed path counts as empty)."""
    try:
        paths = json.loads("[" + ",".join(texts) + "]")
        lengths = np.array([len(path) for path in paths], dtype=np.int64)
        flat = np.array([point for path in paths for point in path], dtype=np.float64)
        if len(paths) == len(texts) and (flat.size == 0 or (flat.ndim == 2 and flat.shape[1] in (2, 3))):
            return flat.reshape(-1, flat.shape[-1] if flat.size else 2)[:, -2:], lengths
    except (ValueError, TypeError):
        pass
    polylines = [_polyline(text) for text in texts]
    return np.concatenate([np.zeros((0, 2)), *polylines]), np.array([len(p) for p in polylines], dtype=np.int64)


def _polyline(text: str) -> NDArray[np.float64]:
    try:
        points = np.array(json.loads(text), dtype=np.float64)
    except (ValueError, TypeError):
        return np.zeros((0, 2))
    if points.ndim != 2 or points.shape[1] not in (2, 3):
        return np.zeros((0, 2))
    return points[:, -2:]  # the pipeline stores (t, x, y) points; (x, y) are accepted too


def _crossings(
    a: NDArray[np.float64], b: NDArray[np.float64], grid: Grid
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Samples every quarter cell along the segments a -> b (ends included): each one's segment and cell."""
    samples = np.ceil(np.hypot(*(b - a).T) / (grid.cell_px / 4.0)).astype(np.int64) + 1
    segment = np.repeat(np.arange(len(a), dtype=np.int64), samples)
    first_of = np.cumsum(samples) - samples
    along = (np.arange(segment.size) - first_of[segment]) / np.maximum(samples[segment] - 1, 1)
    return segment, grid.cells(a[segment] + (b - a)[segment] * along[:, None])


def dwell_heatmap(db: Session, *, camera: Camera, grid: Grid, start: datetime, end: datetime) -> Heatmap:
    """Seconds spent in each cell: each observation's foot point holds the time until the track's next one.

    Summed in the database (a window function finds each observation's next time), so only cells come back.
    """
    following = func.lead(Observation.t).over(partition_by=Observation.track_id, order_by=Observation.frame_index)
    held = (
        select(
            Observation.t,
            ((Observation.x0 + Observation.x1) / 2 * grid.width / Footage.width / grid.cell_px).label("col"),
            (Observation.y1 * grid.height / Footage.height / grid.cell_px).label("row"),
            following.label("next_t"),
        )
        .join(Track, Track.id == Observation.track_id)
        .join(Footage, Footage.id == Track.footage_id)
        .where(*_in_range(camera, start, end))
        .subquery()
    )
    col, row = _floor(db, held.c.col), _floor(db, held.c.row)
    stmt = select(col, row, func.sum(held.c.next_t - held.c.t)).where(held.c.next_t.is_not(None)).group_by(col, row)
    sums = np.array([tuple(r) for r in db.execute(stmt)], dtype=np.float64).reshape(-1, 3)
    values = np.zeros((grid.rows, grid.columns), dtype=np.float64)
    rows = np.clip(sums[:, 1], 0, grid.rows - 1).astype(np.int64)
    cols = np.clip(sums[:, 0], 0, grid.columns - 1).astype(np.int64)
    np.add.at(values, (rows, cols), np.maximum(sums[:, 2], 0.0))
    return Heatmap(camera.code, grid, values, "seconds")


def _floor(db: Session, value: ColumnElement[float]) -> ColumnElement[int]:
    """SQL floor() on PostgreSQL; on SQLite (which may lack it) a cast, which truncates: the same for the values
    that matter, as negative ones are clipped to the first cell either way."""
    if db.get_bind().dialect.name == "sqlite":
        return cast(value, Integer)
    return cast(func.floor(value), BigInteger)
