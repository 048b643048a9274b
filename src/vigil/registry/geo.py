"""Great-circle geometry on the WGS 84 mean sphere: distances, bearings, bounding boxes, facing."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG), as PostGIS's spherical geography uses
HALF_FIELD_OF_VIEW_DEG = 60.0  # a camera "faces" a point within this many degrees either side of its facing


@dataclass(frozen=True)
class BoundingBox:
    south: float
    west: float
    north: float
    east: float


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north in [0, 360)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    x = math.sin(dlambda) * math.cos(phi2)
    y = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    return math.degrees(math.atan2(x, y)) % 360.0


def angle_between(a_deg: float, b_deg: float) -> float:
    """The smaller angle between two bearings, 0-180."""
    diff = abs(a_deg - b_deg) % 360.0
    return 360.0 - diff if diff > 180.0 else diff


def faces(
    *,
    camera_lat: float,
    camera_lon: float,
    facing_deg: float | None,
    point_lat: float,
    point_lon: float,
    half_fov_deg: float = HALF_FIELD_OF_VIEW_DEG,
    near_m: float = 5.0,
    distance: float | None = None,
) -> bool | None:
    """Whether a camera facing ``facing_deg`` looks towards the point (None when its facing is unknown).

    A point within ``near_m`` of the camera counts as faced: at that range the bearing means nothing.
    ``distance`` is the camera-point distance when the caller already knows it.
    """
    if facing_deg is None:
        return None
    if distance is None:
        distance = distance_m(camera_lat, camera_lon, point_lat, point_lon)
    if distance <= near_m:
        return True
    towards = bearing_deg(camera_lat, camera_lon, point_lat, point_lon)
    return angle_between(facing_deg, towards) <= half_fov_deg


def bounding_box(lat: float, lon: float, radius_m: float) -> BoundingBox:
    """A latitude/longitude box that contains every point within ``radius_m`` of the centre."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if north >= 90.0 or south <= -90.0:
        return BoundingBox(south, -180.0, north, 180.0)
    # the widest longitude span is at the latitude nearest a pole inside the box
    widest = max(abs(south), abs(north))
    ratio = math.sin(radius_m / EARTH_RADIUS_M) / math.cos(math.radians(widest))
    if ratio >= 1.0:
        return BoundingBox(south, -180.0, north, 180.0)
    dlon = math.degrees(math.asin(ratio))
    return BoundingBox(south, lon - dlon, north, lon + dlon)


def check_point(latitude: float, longitude: float) -> None:
    """Refuse coordinates off the globe (ValueError with a message fit for a person)."""
    if not (math.isfinite(latitude) and -90.0 <= latitude <= 90.0):
        raise ValueError("latitude must be between -90 and 90")
    if not (math.isfinite(longitude) and -180.0 <= longitude <= 180.0):
        raise ValueError("longitude must be between -180 and 180")
