"""What is drawn on or measured of a camera's view: its ground-plane calibration, named zones and named lines.

Read as one typed value, :class:`~vigil.domain.cameras.CameraGeometry` (:func:`camera_geometry`); changed by
:func:`set_camera_calibration` and :func:`set_camera_zones`, which check every number a person typed or drew,
need the manage-locations permission and are audited (``camera.calibrate``, ``camera.zones``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from sqlalchemy.orm import Session

from vigil.db.models import Camera, User
from vigil.domain.cameras import CROSSINGS, Calibration, CameraGeometry, Line, Point, Zone
from vigil.errors import InvalidInput
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.cameras.register import get_camera
from vigil.governance.roles import Permission

MAX_SHAPES = 50
RESERVED_ZONE = "stationary"
"""Per-zone dwell shares its table with time spent standing still, so no zone may take that name."""


def camera_geometry(camera: Camera) -> CameraGeometry:
    """A camera's stored calibration, zones and lines."""
    return CameraGeometry.from_columns(camera.calibration, camera.zones)


def set_camera_calibration(
    db: Session,
    *,
    actor: User,
    code: str,
    image_to_ground: Sequence[Sequence[float]],
    principal_point: tuple[float, float],
) -> Camera:
    """Record a camera's ground-plane calibration: an image -> ground (metres) homography and principal point."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.calibrate")
    if len(image_to_ground) != 3 or any(len(row) != 3 for row in image_to_ground):
        raise InvalidInput("the homography must be 3x3 (nine numbers, row by row)")
    matrix = np.asarray(image_to_ground, dtype=np.float64)
    if not np.all(np.isfinite(matrix)):
        raise InvalidInput("the homography must contain only finite numbers")
    if abs(float(np.linalg.det(matrix))) < 1e-12 or np.linalg.cond(matrix) > 1e12:
        raise InvalidInput("the homography must be invertible")
    if len(principal_point) != 2 or not all(math.isfinite(v) for v in principal_point):
        raise InvalidInput("the principal point must be two finite numbers (cx, cy)")
    camera = get_camera(db, code)
    geometry = replace(camera_geometry(camera), calibration=Calibration.of(matrix, principal_point))
    camera.calibration = geometry.calibration_json()
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="camera.calibrate",
        subject_type="camera",
        subject_id=camera.code,
        details={"principal_point": [float(v) for v in principal_point]},
    )
    return camera


def _point(value: object) -> Point | None:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if all(math.isfinite(v) and 0 <= v <= 100_000 for v in (x, y)) else None


def _clean_zones(zones: Sequence[Zone]) -> tuple[Zone, ...]:
    cleaned: list[Zone] = []
    for zone in zones:
        name = zone.name.strip()
        if not 1 <= len(name) <= 40:
            raise InvalidInput("a zone name must be 1-40 characters")
        if name == RESERVED_ZONE:
            raise InvalidInput("'stationary' is reserved for time spent standing still; choose another zone name")
        if any(other.name == name for other in cleaned):
            raise InvalidInput(f"zone name {name!r} is used twice")
        if len(zone.polygon) < 3:
            raise InvalidInput(f"zone {name!r} needs a polygon of at least 3 points")
        if len(zone.polygon) > 100:
            raise InvalidInput(f"zone {name!r} has more than 100 corners")
        points = [_point(point) for point in zone.polygon]
        if any(point is None for point in points):
            raise InvalidInput(f"zone {name!r} has a point that is not two pixel coordinates between 0 and 100000")
        cleaned.append(Zone(name, tuple(p for p in points if p is not None)))
    return tuple(cleaned)


def _clean_lines(lines: Sequence[Line]) -> tuple[Line, ...]:
    cleaned: list[Line] = []
    for line in lines:
        name = line.name.strip()
        if not 1 <= len(name) <= 40:
            raise InvalidInput("a line name must be 1-40 characters")
        if any(other.name == name for other in cleaned):
            raise InvalidInput(f"line name {name!r} is used twice")
        a, b = _point(line.a), _point(line.b)
        if a is None or b is None:
            raise InvalidInput(f"line {name!r} needs two ends, each two pixel coordinates between 0 and 100000")
        if a == b:
            raise InvalidInput(f"line {name!r} needs two different ends")
        if line.direction not in CROSSINGS:
            raise InvalidInput(f"line {name!r}: crossing direction must be one of {', '.join(CROSSINGS)}")
        cleaned.append(Line(name, a, b, line.direction))
    return tuple(cleaned)


def set_camera_zones(
    db: Session,
    *,
    actor: User,
    code: str,
    zones: Sequence[Zone],
    lines: Sequence[Line] | None = None,
) -> Camera:
    """Replace a camera's named zones (polygons in source-image pixels used for per-zone dwell time) and, when
    ``lines`` is given, its named lines (kept as they are otherwise)."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.zones")
    if len(zones) > MAX_SHAPES or len(lines or []) > MAX_SHAPES:
        raise InvalidInput(f"a camera may have at most {MAX_SHAPES} zones and {MAX_SHAPES} lines")
    cleaned = _clean_zones(zones)
    camera = get_camera(db, code)
    stored = camera_geometry(camera)
    geometry = replace(stored, zones=cleaned, lines=_clean_lines(lines) if lines is not None else stored.lines)
    camera.zones = geometry.drawing_json()
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="camera.zones",
        subject_type="camera",
        subject_id=camera.code,
        details={"zones": [zone.name for zone in geometry.zones], "lines": [line.name for line in geometry.lines]},
    )
    return camera
