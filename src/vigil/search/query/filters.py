"""A :class:`~vigil.search.query.track_query.TrackQuery` as SQL over the tracks table, finished in Python where SQL
cannot.

Every filter but two is an indexed or cheap column predicate: cameras and area (camera ids), time range
(``first_seen``/``last_seen``), time of day (``start_minute``), class, colours and carried objects (bit masks,
see :mod:`vigil.analysis.columns`), heading, speed, height and time in view. A time range finds the tracks in
view at any moment of it; so that the ``first_seen`` index bounds the scan, tracks are looked for from the
range's start less the longest track's duration (``max(dwell_s)``, itself read from an index).

Zone presence is pre-filtered in SQL (the zone's name in the ``zone_dwell`` JSON) and checked exactly in
Python; a line crossing restricts SQL to the line's camera and tests the path polyline against the segment in
Python. Results are newest first.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload
from sqlalchemy.sql.compiler import SQLCompiler

from vigil.analysis.columns import carried_mask, colour_mask
from vigil.db.models import Camera, Footage, Location, Track
from vigil.domain.vocabulary import CARRIED_CLASSES
from vigil.errors import InvalidInput
from vigil.search.query.track_query import LineCrossing, TrackQuery

BATCH = 500
_CARD = (selectinload(Track.camera), selectinload(Track.footage))


@dataclass(frozen=True)
class Found:
    tracks: list[Track]
    more: bool  # further results exist after these (next page)


def camera_ids(db: Session, query: TrackQuery) -> list[int] | None:
    """The ids of the cameras the query allows (None: any camera); unknown codes are an error."""
    allowed: set[int] | None = None
    if query.cameras:
        rows = db.execute(select(Camera.code, Camera.id).where(Camera.code.in_(query.cameras))).all()
        missing = sorted(set(query.cameras) - {row.code for row in rows})
        if missing:
            raise InvalidInput(f"unknown camera code(s): {', '.join(missing)}")
        allowed = {row.id for row in rows}
    if query.area is not None:
        area = query.area
        placed = db.execute(
            select(Camera.id, Location.latitude, Location.longitude)
            .join(Location, Camera.location_id == Location.id)
            .where(Location.latitude.is_not(None), Location.longitude.is_not(None))
        ).all()
        inside = {row.id for row in placed if area.contains(float(row.latitude), float(row.longitude))}
        allowed = inside if allowed is None else allowed & inside
    if query.line is not None:
        line_camera = db.execute(select(Camera.id).where(Camera.code == query.line.camera)).scalar_one_or_none()
        if line_camera is None:
            raise InvalidInput(f"unknown camera code for the line: {query.line.camera}")
        allowed = {line_camera} if allowed is None else allowed & {line_camera}
    return None if allowed is None else sorted(allowed)


def longest_track_s(db: Session) -> float:
    return float(db.execute(select(func.max(Track.dwell_s))).scalar_one_or_none() or 0.0)


def _bits(column: InstrumentedAttribute[int], mask: int) -> ColumnElement[bool]:
    return column.op("&")(mask) != 0


class _Unindexed(ColumnElement[Any]):
    """A column that SQLite must not drive the query by: compiled ``+column`` there (a no-op operator that
    disqualifies the column's indices), the column itself elsewhere. See :func:`driver`."""

    inherit_cache = True

    def __init__(self, column: InstrumentedAttribute[Any]) -> None:
        self.column: ColumnElement[Any] = column.expression
        self.type = column.type


@compiles(_Unindexed)
def _plain(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(_Unindexed, "sqlite")
def _unary_plus(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


def driver(query: TrackQuery, cameras: list[int] | None) -> str:
    """Which index should drive the scan when nothing narrows the cameras or the time range.

    SQLite's planner knows only average row counts per key, so it walks the class index newest first (no sort
    needed) even when a carried object or a short time of day would find the few matches far faster. Then the
    class and the ordering are made unusable for indices (:class:`_Unindexed`) and the carried or time-of-day
    index, which also hold the attribute masks to filter on before reading rows, drives the scan.
    """
    if cameras is not None or query.start is not None or query.end is not None or query.track_ids:
        return "default"
    if query.carried:
        return "carried"
    if query.time_from is not None and query.time_to is not None and _window_minutes(query) <= 6 * 60:
        return "time of day"
    return "default"


def _window_minutes(query: TrackQuery) -> int:
    assert query.time_from is not None and query.time_to is not None
    low = query.time_from.hour * 60 + query.time_from.minute
    high = query.time_to.hour * 60 + query.time_to.minute
    return (high - low) % 1440 + 1


def predicates(
    query: TrackQuery, cameras: list[int] | None, longest_s: float, *, drive: str = "default"
) -> list[ColumnElement[bool]]:
    """The SQL conditions of every filter except the exact zone and line checks."""
    where: list[ColumnElement[bool]] = []
    class_name: Any = Track.class_name if drive == "default" else _Unindexed(Track.class_name)
    if cameras is not None:
        where.append(Track.camera_id.in_(cameras))
    if query.start is not None:
        where += [Track.last_seen >= query.start, Track.first_seen >= query.start - timedelta(seconds=longest_s + 1)]
    if query.end is not None:
        where.append(Track.first_seen <= query.end)
    if query.time_from is not None and query.time_to is not None:
        low = query.time_from.hour * 60 + query.time_from.minute
        high = query.time_to.hour * 60 + query.time_to.minute
        if low <= high:
            where.append(and_(Track.start_minute >= low, Track.start_minute <= high))
        else:  # across midnight: the minutes themselves, so that the index can seek them (at most 1440)
            where.append(Track.start_minute.in_([*range(low, 1440), *range(0, high + 1)]))
    if query.classes:
        where.append(class_name.in_(query.classes))
    for column, colours in (
        (Track.upper_mask, query.upper_colours),
        (Track.lower_mask, query.lower_colours),
        (Track.body_mask, query.vehicle_colours),
    ):
        if colours:
            where.append(_bits(column, colour_mask(colours)))
    if query.carried:  # every mask value holding the needed bits: few (4 bits), and the index can seek them
        needed = carried_mask(query.carried)
        where.append(Track.carried_mask.in_([m for m in range(1 << len(CARRIED_CLASSES)) if m & needed == needed]))
    if query.headings:
        where.append(Track.heading.in_(query.headings))
    where += _measures(query)
    if query.zone is not None:
        where.append(Track.zone_dwell.contains(json.dumps(query.zone) + ":", autoescape=True))
    if query.track_ids:
        where.append(Track.id.in_(query.track_ids))
    else:  # tracks of a replaced analysis run stay reachable by id only
        where.append(Track.superseded.is_(False))
    return where


def _measures(query: TrackQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    speed = {"m/s": Track.speed_m_s, "px/s": Track.speed_px_s}.get(query.speed_unit)
    for bound, above in ((query.speed_min, True), (query.speed_max, False)):
        if bound is None:
            continue
        if speed is None:  # heights/s: speed_px_s / height_px, written without a division
            scaled = Track.height_px * bound
            where += [Track.height_px > 0, Track.speed_px_s >= scaled if above else Track.speed_px_s <= scaled]
        else:
            where.append(speed >= bound if above else speed <= bound)
    size = Track.height_m if query.size_unit == "m" else Track.height_px
    if query.size_min is not None:
        where.append(size >= query.size_min)
    if query.size_max is not None:
        where.append(size <= query.size_max)
    if query.dwell_min is not None:
        where.append(Track.dwell_s >= query.dwell_min)
    if query.dwell_max is not None:
        where.append(Track.dwell_s <= query.dwell_max)
    return where


def statement(query: TrackQuery, cameras: list[int] | None, longest_s: float, *, ids_only: bool = False) -> Select[Any]:
    """The tracks (or only their ids, which the search indices can answer without reading rows), newest first."""
    drive = driver(query, cameras)
    first_seen: Any = Track.first_seen if drive == "default" else _Unindexed(Track.first_seen)
    where = predicates(query, cameras, longest_s, drive=drive)
    return select(Track.id if ids_only else Track).where(*where).order_by(first_seen.desc(), Track.id.desc())


def in_zone(track: Track, zone: str) -> bool:
    try:
        dwell = json.loads(track.zone_dwell)
    except ValueError:
        return False
    return isinstance(dwell, dict) and float(dwell.get(zone) or 0.0) > 0.0


def _points(path_json: str) -> list[tuple[float, float]]:
    """The path's (x, y) points: stored as [t, x, y] by analysis (older rows: [x, y])."""
    try:
        raw = json.loads(path_json)
    except ValueError:
        return []
    points = []
    for point in raw if isinstance(raw, list) else []:
        if isinstance(point, list) and len(point) in (2, 3):
            points.append((float(point[-2]), float(point[-1])))
    return points


def _side(line: LineCrossing, x: float, y: float) -> float:
    """Negative left of the line, positive right of it, as seen from ``a`` looking at ``b`` in the picture."""
    (ax, ay), (bx, by) = line.a, line.b
    return (bx - ax) * (y - ay) - (by - ay) * (x - ax)


def crosses(path: Sequence[tuple[float, float]], line: LineCrossing) -> bool:
    """Whether the polyline crosses the line segment (in the line's direction, if it has one)."""
    (ax, ay), (bx, by) = line.a, line.b
    for (px, py), (qx, qy) in itertools.pairwise(path):
        before, after = _side(line, px, py), _side(line, qx, qy)
        if before == after or before * after > 0 or (before == 0 and after == 0):
            continue
        seg_a = (qx - px) * (ay - py) - (qy - py) * (ax - px)
        seg_b = (qx - px) * (by - py) - (qy - py) * (bx - px)
        if seg_a * seg_b > 0:
            continue
        if line.direction == "either":
            return True
        if (line.direction == "left-to-right") == (before < 0 < after or (before == 0 and after > 0)):
            return True
    return False


def _exact(track: Track, query: TrackQuery) -> bool:
    if query.zone is not None and not in_zone(track, query.zone):
        return False
    return query.line is None or crosses(_points(track.path), query.line)


def _candidates(db: Session, stmt: Select[Any]) -> Iterator[Track]:
    offset = 0
    while True:
        batch = list(db.execute(stmt.limit(BATCH).offset(offset)).scalars())
        yield from batch
        if len(batch) < BATCH:
            return
        offset += BATCH


def other_cases_footage(case_id: int | None) -> Any:
    """A condition keeping out tracks of footage held for a case other than ``case_id`` (force footage stays)."""
    held = select(Footage.id).where(Footage.case_id.is_not(None))
    if case_id is not None:
        held = held.where(Footage.case_id != case_id)
    return Track.footage_id.not_in(held)


def find_tracks(db: Session, query: TrackQuery, *, case_id: int | None = None) -> Found:
    """The page of tracks (``offset``, ``limit``) the query asks for, newest first, leaving out footage held
    for cases other than ``case_id``."""
    cameras = camera_ids(db, query)
    if cameras == []:
        return Found([], False)
    longest_s = longest_track_s(db) if query.start is not None else 0.0
    if query.zone is None and query.line is None:
        page = statement(query, cameras, longest_s, ids_only=True).where(other_cases_footage(case_id))
        page = page.offset(query.offset).limit(query.limit + 1)
        ids = [int(i) for i in db.execute(page).scalars()]
        rows = db.execute(select(Track).where(Track.id.in_(ids[: query.limit])).options(*_CARD)).scalars()
        by_id = {track.id: track for track in rows}
        return Found([by_id[i] for i in ids[: query.limit]], len(ids) > query.limit)
    stmt = statement(query, cameras, longest_s).where(other_cases_footage(case_id)).options(*_CARD)
    kept: list[Track] = []
    for track in _candidates(db, stmt):
        if _exact(track, query):
            kept.append(track)
            if len(kept) > query.offset + query.limit:
                break
    return Found(kept[query.offset : query.offset + query.limit], len(kept) > query.offset + query.limit)
