"""Cameras on the officer map (registered and force cameras, the latter with their PIA status), and the bulk
import (CSV, GeoJSON) and GeoJSON export of the force's own cameras."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Location, User
from vigil.db.registry_models import RegisteredCamera, RegistryOwner
from vigil.db.share_models import SharedCamera
from vigil.errors import InvalidInput
from vigil.governance import audit
from vigil.governance.access import authorise, require_permission
from vigil.governance.audit import AuditContext
from vigil.governance.cameras.register import add_camera, camera_statuses
from vigil.governance.locations import add_location
from vigil.governance.roles import Capability, Permission
from vigil.registry import geo
from vigil.registry.owners import ACTIVE

MAX_IMPORT_ROWS = 10_000
CSV_COLUMNS = ("code", "name", "location", "latitude", "longitude", "bearing")


@dataclass(frozen=True)
class CameraRow:
    """One force camera to import."""

    code: str
    name: str
    location: str
    latitude: float
    longitude: float
    bearing: float | None


def map_markers(db: Session, *, user: User, context: AuditContext, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every active registered camera and every located force camera, as map markers (audited view)."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REGISTRY, action="registry.map", context=context, now=now)
    stmt = (
        select(RegisteredCamera).join(RegistryOwner).where(RegistryOwner.status == ACTIVE).order_by(RegisteredCamera.id)
    )
    markers: list[dict[str, Any]] = [
        {
            "source": "registered",
            "id": cam.id,
            "kind": cam.kind,
            "label": cam.label or f"{cam.kind} camera",
            "lat": cam.latitude,
            "lon": cam.longitude,
            "facing": cam.facing_deg,
            "retention_days": cam.retention_days,
        }
        for cam in db.execute(stmt).scalars()
    ]
    markers += integrated_markers(db)
    for status in camera_statuses(db, today=now.date()):
        site = status.camera.location
        if site.latitude is None or site.longitude is None:
            continue
        markers.append(
            {
                "source": "force",
                "id": status.camera.id,
                "kind": "force",
                "label": f"{status.camera.code} {status.camera.name}",
                "lat": site.latitude,
                "lon": site.longitude,
                "facing": status.camera.bearing_deg,
                "pia": status.pia.reference if status.pia else "",
            }
        )
    audit.record(
        db,
        actor=user.username,
        action="registry.map",
        capability=Capability.REGISTRY.value,
        context=context,
        details={"markers": len(markers)},
        now=now,
    )
    return markers


def integrated_markers(db: Session) -> list[dict[str, Any]]:
    """Owners' cameras integrated for live view (a live badge on the map; paused ones show as paused)."""
    stmt = select(SharedCamera).join(RegistryOwner).where(RegistryOwner.status == ACTIVE).order_by(SharedCamera.id)
    return [
        {
            "source": "integrated",
            "id": cam.id,
            "kind": "live view",
            "label": cam.label + (f" ({cam.site})" if cam.site else ""),
            "lat": cam.latitude,
            "lon": cam.longitude,
            "facing": None,
            "live": cam.status == "sharing",
            "terms": cam.terms,
        }
        for cam in db.execute(stmt).scalars()
    ]


def _number(value: object, label: str, row: int) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise InvalidInput(f"row {row}: {label} must be a number") from None
    if not math.isfinite(number):
        raise InvalidInput(f"row {row}: {label} must be a finite number")
    return number


def _row(data: dict[str, object], row: int) -> CameraRow:
    code = str(data.get("code") or "").strip()
    location = str(data.get("location") or "").strip()
    if not code:
        raise InvalidInput(f"row {row}: the camera code is missing")
    if not location:
        raise InvalidInput(f"row {row}: the location name is missing")
    bearing = data.get("bearing")
    latitude = _number(data.get("latitude"), "latitude", row)
    longitude = _number(data.get("longitude"), "longitude", row)
    try:
        geo.check_point(latitude, longitude)
    except ValueError as exc:
        raise InvalidInput(f"row {row}: {exc}") from None
    heading = None if bearing in (None, "") else _number(bearing, "bearing", row)
    if heading is not None and not 0 <= heading < 360:
        raise InvalidInput(f"row {row}: bearing must be in degrees from 0 (north) up to 360")
    return CameraRow(
        code=code,
        name=str(data.get("name") or "").strip(),
        location=location,
        latitude=latitude,
        longitude=longitude,
        bearing=heading,
    )


def parse_csv(content: str) -> list[CameraRow]:
    """Rows of a CSV with the header ``code,name,location,latitude,longitude,bearing``."""
    reader = csv.DictReader(io.StringIO(content))
    missing = set(CSV_COLUMNS) - set(reader.fieldnames or ())
    if missing - {"bearing", "name"}:
        raise InvalidInput(
            f"the CSV needs the columns {', '.join(CSV_COLUMNS)} (missing: {', '.join(sorted(missing))})"
        )
    rows = [_row(dict(line), number) for number, line in enumerate(reader, start=2)]
    return _checked(rows)


def parse_geojson(content: str) -> list[CameraRow]:
    """Point features of a FeatureCollection with ``code``, ``name``, ``location``, ``bearing`` properties."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise InvalidInput(f"the file is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInput("the GeoJSON must be a FeatureCollection")
    rows = []
    for number, feature in enumerate(data.get("features") or [], start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            raise InvalidInput(f"feature {number}: only Point geometries are accepted")
        coordinates = geometry.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            raise InvalidInput(f"feature {number}: a Point needs [longitude, latitude]")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise InvalidInput(f"feature {number}: properties must be an object")
        rows.append(_row({**properties, "longitude": coordinates[0], "latitude": coordinates[1]}, number))
    return _checked(rows)


def _checked(rows: list[CameraRow]) -> list[CameraRow]:
    if not rows:
        raise InvalidInput("the file holds no cameras")
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"import at most {MAX_IMPORT_ROWS} cameras at once")
    codes = [row.code.upper() for row in rows]
    duplicated = sorted({code for code in codes if codes.count(code) > 1})
    if duplicated:
        raise InvalidInput(f"camera codes appear twice in the file: {', '.join(duplicated)}")
    return rows


def import_cameras(db: Session, *, user: User, rows: list[CameraRow]) -> int:
    """Add the rows' locations (when new) and cameras (each audited by its service). The rows were checked when
    parsed; a camera code that already exists raises Conflict, and the caller's rollback then undoes the rest."""
    require_permission(db, user=user, permission=Permission.MANAGE_LOCATIONS, action="registry.import")
    sites = {loc.name: loc for loc in db.execute(select(Location)).scalars()}
    for number, row in enumerate(rows, start=1):
        try:
            site = sites.get(row.location)
            if site is None:
                site = add_location(db, actor=user, name=row.location, latitude=row.latitude, longitude=row.longitude)
                sites[site.name] = site
            add_camera(db, actor=user, code=row.code, name=row.name, location_id=site.id, bearing_deg=row.bearing)
        except InvalidInput as exc:
            raise InvalidInput(f"camera {number} ({row.code}): {exc.message}") from None
    return len(rows)


def export_geojson(db: Session, *, user: User, now: datetime | None = None) -> dict[str, Any]:
    """The force's located cameras as a GeoJSON FeatureCollection, with their PIA status."""
    now = now or utcnow()
    require_permission(db, user=user, permission=Permission.VIEW_CAMERAS, action="registry.export")
    features = []
    for status in camera_statuses(db, today=now.date()):
        camera, site = status.camera, status.camera.location
        if site.latitude is None or site.longitude is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [site.longitude, site.latitude]},
                "properties": {
                    "code": camera.code,
                    "name": camera.name,
                    "location": site.name,
                    "bearing": camera.bearing_deg,
                    "active": camera.is_active,
                    "pia": status.pia.reference if status.pia else None,
                    "pia_review_date": status.pia.review_date.isoformat() if status.pia else None,
                },
            }
        )
    audit.record(db, actor=user.username, action="registry.export", details={"cameras": len(features)}, now=now)
    return {"type": "FeatureCollection", "features": features}
