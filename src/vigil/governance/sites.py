"""Changes to registered locations and force cameras: edit, retire, re-activate (each audited old -> new).

Retiring keeps history: a retired location keeps its PIAs and its cameras' footage; a retired camera keeps
its footage and tracks. A location can be retired only once none of its cameras is active (retire them or
move them to another location first).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.models import Camera, Location, User
from vigil.errors import Conflict, InvalidInput
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.cameras.register import get_camera
from vigil.governance.locations import check_coordinates, get_location
from vigil.governance.roles import Permission


def _changes(before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    return {key: {"old": before[key], "new": after[key]} for key in after if before[key] != after[key]}


def edit_location(
    db: Session,
    *,
    actor: User,
    location_id: int,
    name: str,
    address: str,
    latitude: float | None,
    longitude: float | None,
) -> Location:
    """Correct a location's name, address or position."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="location.edit")
    location = get_location(db, location_id)
    name = name.strip()[:200]
    if not name:
        raise InvalidInput("location name is required")
    check_coordinates(latitude, longitude)
    clash = db.execute(select(Location.id).where(Location.name == name, Location.id != location.id)).first()
    if clash:
        raise Conflict(f"a location named {name!r} already exists")
    keys = ("name", "address", "latitude", "longitude")
    before = {key: getattr(location, key) for key in keys}
    after: dict[str, object] = {"name": name, "address": address.strip()[:400], "latitude": latitude}
    after["longitude"] = longitude
    changes = _changes(before, after)
    if not changes:
        raise InvalidInput("nothing to change")
    for key, value in after.items():
        setattr(location, key, value)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="location.edit",
        subject_type="location",
        subject_id=location.id,
        details=changes,
    )
    return location


def set_location_active(db: Session, *, actor: User, location_id: int, active: bool) -> Location:
    """Retire a location (none of its cameras may still be active) or re-activate it."""
    action = "location.reactivate" if active else "location.retire"
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action=action)
    location = get_location(db, location_id)
    if location.is_active == active:
        raise InvalidInput(f"location {location.name!r} is already {'active' if active else 'retired'}")
    if not active:
        live = [camera.code for camera in location.cameras if camera.is_active]
        if live:
            raise InvalidInput(f"retire or move its cameras first: {', '.join(live)} still active at {location.name!r}")
    location.is_active = active
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action=action,
        subject_type="location",
        subject_id=location.id,
        details={"name": location.name},
    )
    return location


def edit_camera(
    db: Session,
    *,
    actor: User,
    code: str,
    name: str,
    location_id: int,
    bearing_deg: float | None,
) -> Camera:
    """Rename a camera, move it to another (active) location or correct its bearing."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.edit")
    camera = get_camera(db, code)
    location = get_location(db, location_id)
    if location.id != camera.location_id and not location.is_active:
        raise InvalidInput(f"location {location.name!r} is retired; choose an active location")
    if bearing_deg is not None and not 0 <= bearing_deg < 360:
        raise InvalidInput("bearing must be in degrees from 0 (north) up to 360")
    before: dict[str, object] = {"name": camera.name, "location": camera.location.name, "bearing": camera.bearing_deg}
    after: dict[str, object] = {"name": (name.strip() or camera.code)[:200], "location": location.name}
    after["bearing"] = bearing_deg
    changes = _changes(before, after)
    if not changes:
        raise InvalidInput("nothing to change")
    camera.name, camera.location, camera.bearing_deg = str(after["name"]), location, bearing_deg
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="camera.edit",
        subject_type="camera",
        subject_id=camera.code,
        details=changes,
    )
    return camera


def set_camera_active(db: Session, *, actor: User, code: str, active: bool) -> Camera:
    """Retire a camera (its footage and tracks stay) or re-activate it (its location must be active)."""
    action = "camera.reactivate" if active else "camera.retire"
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action=action)
    camera = get_camera(db, code)
    if camera.is_active == active:
        raise InvalidInput(f"camera {camera.code} is already {'active' if active else 'retired'}")
    if active and not camera.location.is_active:
        raise InvalidInput(f"its location {camera.location.name!r} is retired; move the camera first")
    camera.is_active = active
    db.flush()
    audit.record(db, actor=actor.username, action=action, subject_type="camera", subject_id=camera.code)
    return camera


def managed_camera(db: Session, *, actor: User, code: str) -> Camera:
    """A camera for its settings page (those who manage locations and cameras)."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.view")
    return get_camera(db, code)
