"""Nearby-camera tests: the case context, an officer trained for the registry, points around Market Square."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from tests.registry.builders import PENRITH
from tests.support.builders import make_user
from vigil.db.models import User
from vigil.governance.audit import AuditContext
from vigil.registry import geo

CONTEXT = AuditContext("CUM-2026-000417", "find cameras that may have seen the robbery on Market Square")
LAT, LON = PENRITH


def offset(north_m: float, east_m: float) -> tuple[float, float]:
    """A point this many metres north and east of Market Square (small offsets on the sphere)."""
    dlat = math.degrees(north_m / geo.EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (geo.EARTH_RADIUS_M * math.cos(math.radians(LAT))))
    return LAT + dlat, LON + dlon


def officer(db: Session, name: str = "olly", trained: tuple[str, ...] = ("registry", "requests")) -> User:
    return make_user(db, name, trained_for=trained, cases=(CONTEXT.case_ref,))
