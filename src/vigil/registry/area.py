"""Cameras in or near a drawn area: a polygon instead of the incident point, plus a radius around its edge.

A camera inside the polygon is at distance 0; outside, its distance is the great-circle distance to the nearest
point of the polygon's edge. "Faces the point" uses the polygon's centroid. Both back ends take the same path:
a latitude/longitude box of the polygon widened by the radius on an ordinary index, then the exact test in
Python. Point-in-polygon is ray casting on raw latitude/longitude and the nearest edge point is found on a local
equirectangular projection: both are exact enough for town-scale polygons (a few km), not for polygons that span
a large part of the globe or cross the antimeridian (refused).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Location, User
from vigil.db.registry_models import RegisteredCamera
from vigil.errors import InvalidInput
from vigil.governance import audit
from vigil.governance.access import authorise
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.registry import geo
from vigil.registry.nearby import (
    CAMERA_COLUMNS,
    MAX_RADIUS_M,
    MAX_RESULTS,
    NearbyCamera,
    _of_active_owners,
    force_camera_result,
    may_see_contacts,
    probably_retained,
    with_contacts,
)
from vigil.settings import Settings

MIN_VERTICES = 3
MAX_VERTICES = 50
MAX_SPAN_DEG = 1.0  # town scale: the planar approximations are not meant for larger areas
Vertex = tuple[float, float]  # (latitude, longitude)


@dataclass(frozen=True)
class AreaQuery:
    vertices: tuple[Vertex, ...]
    radius_m: float
    incident_at: datetime


def _cross(o: Vertex, a: Vertex, b: Vertex) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(p1: Vertex, p2: Vertex, q1: Vertex, q2: Vertex) -> bool:
    """Whether two segments properly cross (touching at ends does not count)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def edges(vertices: Sequence[Vertex]) -> list[tuple[Vertex, Vertex]]:
    return [(vertices[i], vertices[(i + 1) % len(vertices)]) for i in range(len(vertices))]


def signed_area(vertices: Sequence[Vertex]) -> float:
    """Shoelace area in square degrees (sign gives the winding)."""
    return sum(a[1] * b[0] - b[1] * a[0] for a, b in edges(vertices)) / 2.0


def check_polygon(vertices: Sequence[Vertex]) -> None:
    """Refuse polygons that are too small or large, off the globe, flat or self-intersecting (InvalidInput)."""
    if not MIN_VERTICES <= len(vertices) <= MAX_VERTICES:
        raise InvalidInput(f"an area needs {MIN_VERTICES} to {MAX_VERTICES} corners, not {len(vertices)}")
    for number, (lat, lon) in enumerate(vertices, start=1):
        try:
            geo.check_point(lat, lon)
        except ValueError as exc:
            raise InvalidInput(f"corner {number}: {exc}") from None
    lats, lons = [v[0] for v in vertices], [v[1] for v in vertices]
    if max(lats) - min(lats) > MAX_SPAN_DEG or max(lons) - min(lons) > MAX_SPAN_DEG:
        raise InvalidInput(f"the area may span at most {MAX_SPAN_DEG:g} degree of latitude and longitude")
    sides = edges(vertices)
    for i, (a, b) in enumerate(sides):
        for j in range(i + 1, len(sides)):
            if j == i + 1 or (i == 0 and j == len(sides) - 1):
                continue  # neighbours share a corner
            if _segments_cross(a, b, *sides[j]):
                raise InvalidInput(f"the area's sides {i + 1} and {j + 1} cross: draw it without crossing lines")
    if abs(signed_area(vertices)) < 1e-12:
        raise InvalidInput("the area's corners lie on one line: it has no inside")


def check_area_query(query: AreaQuery, now: datetime) -> None:
    check_polygon(query.vertices)
    if not (math.isfinite(query.radius_m) and 0 <= query.radius_m <= MAX_RADIUS_M):
        raise InvalidInput(f"the radius must be 0 to {MAX_RADIUS_M:,.0f} metres")
    if query.incident_at.tzinfo is None:
        raise InvalidInput("give the incident time with its zone")
    if query.incident_at > now + timedelta(minutes=5):
        raise InvalidInput("the incident time is in the future")


def contains(vertices: Sequence[Vertex], lat: float, lon: float) -> bool:
    """Ray casting on latitude/longitude (town-scale polygons)."""
    inside = False
    for (lat1, lon1), (lat2, lon2) in edges(vertices):
        if (lat1 > lat) != (lat2 > lat):
            cross_lon = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < cross_lon:
                inside = not inside
    return inside


def _nearest_on_segment(lat: float, lon: float, a: Vertex, b: Vertex) -> Vertex:
    """The point of segment a-b nearest (lat, lon), on a local equirectangular projection."""
    k = math.cos(math.radians(lat))
    ax, ay, bx, by = (a[1] - lon) * k, a[0] - lat, (b[1] - lon) * k, b[0] - lat
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])


def distance_to_area(vertices: Sequence[Vertex], lat: float, lon: float) -> float:
    """0 inside the polygon, else the great-circle distance in metres to the nearest point of its edge."""
    if contains(vertices, lat, lon):
        return 0.0
    return min(geo.distance_m(lat, lon, *_nearest_on_segment(lat, lon, a, b)) for a, b in edges(vertices))


def centroid(vertices: Sequence[Vertex]) -> Vertex:
    """The polygon's area centroid (planar, on latitude/longitude)."""
    area6 = 6.0 * signed_area(vertices)
    lat = sum((a[0] + b[0]) * (a[1] * b[0] - b[1] * a[0]) for a, b in edges(vertices)) / area6
    lon = sum((a[1] + b[1]) * (a[1] * b[0] - b[1] * a[0]) for a, b in edges(vertices)) / area6
    return lat, lon


def area_box(query: AreaQuery) -> geo.BoundingBox:
    """The polygon's bounding box widened by the radius (the prefilter for both back ends)."""
    boxes = [geo.bounding_box(lat, lon, query.radius_m) for lat, lon in query.vertices]
    return geo.BoundingBox(
        min(b.south for b in boxes), min(b.west for b in boxes), max(b.north for b in boxes), max(b.east for b in boxes)
    )


def _faces(lat: float, lon: float, facing: float | None, middle: Vertex) -> bool | None:
    return geo.faces(camera_lat=lat, camera_lon=lon, facing_deg=facing, point_lat=middle[0], point_lon=middle[1])


def registered_in_area(db: Session, query: AreaQuery, now: datetime) -> list[NearbyCamera]:
    box, middle = area_box(query), centroid(query.vertices)
    stmt = select(*CAMERA_COLUMNS).where(
        RegisteredCamera.latitude.between(box.south, box.north),
        RegisteredCamera.longitude.between(box.west, box.east),
    )
    found = []
    for cam in db.execute(stmt).all():
        metres = distance_to_area(query.vertices, cam.latitude, cam.longitude)
        if metres <= query.radius_m:
            found.append((cam, metres))
    return [
        NearbyCamera(
            source="registered",
            camera_id=cam.id,
            label=cam.label or f"{cam.kind} camera",
            kind=cam.kind,
            latitude=cam.latitude,
            longitude=cam.longitude,
            distance_m=metres,
            facing_deg=cam.facing_deg,
            faces_point=_faces(cam.latitude, cam.longitude, cam.facing_deg, middle),
            retention_days=cam.retention_days,
            probably_retained=probably_retained(query.incident_at, cam.retention_days, now),
            owner_id=cam.owner_id,
        )
        for cam, metres in _of_active_owners(db, found)
    ]


def force_in_area(db: Session, query: AreaQuery, *, settings: Settings, now: datetime) -> list[NearbyCamera]:
    box, middle = area_box(query), centroid(query.vertices)
    stmt = (
        select(Camera)
        .join(Location)
        .options(selectinload(Camera.location).selectinload(Location.pias))
        .where(
            Camera.is_active.is_(True),
            Location.latitude.between(box.south, box.north),
            Location.longitude.between(box.west, box.east),
        )
    )
    days = settings.retention.footage_days
    found = []
    for camera in db.execute(stmt).scalars():
        site = camera.location
        if site.latitude is None or site.longitude is None:
            continue
        metres = distance_to_area(query.vertices, site.latitude, site.longitude)
        if metres > query.radius_m:
            continue
        faces = _faces(site.latitude, site.longitude, camera.bearing_deg, middle)
        found.append(force_camera_result(camera, metres, faces, days, query.incident_at, now))
    return found


def cameras_in_area(
    db: Session,
    *,
    settings: Settings,
    user: User,
    context: AuditContext,
    query: AreaQuery,
    now: datetime | None = None,
) -> list[NearbyCamera]:
    """Registered and force cameras in or near a drawn area, most useful first (registry capability; audited)."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REGISTRY, action="registry.near", context=context, now=now)
    check_area_query(query, now)
    results = registered_in_area(db, query, now) + force_in_area(db, query, settings=settings, now=now)
    results.sort(key=lambda cam: cam.usefulness)
    results = results[:MAX_RESULTS]
    audit.record(
        db,
        actor=user.username,
        action="registry.near",
        capability=Capability.REGISTRY.value,
        context=context,
        details={
            "polygon": [[round(lat, 6), round(lon, 6)] for lat, lon in query.vertices],
            "radius_m": query.radius_m,
            "incident_at": query.incident_at.isoformat(),
            "results": len(results),
        },
        now=now,
    )
    if may_see_contacts(db, user, now):
        results = with_contacts(db, user=user, context=context, cameras=results, now=now)
    return results
