"""Cameras near an incident: registered (owners') and force cameras within a radius of a point, with their
distance, whether they face the point and whether footage of the incident time is probably still kept.

Distances are great-circle on the mean sphere. On PostgreSQL with PostGIS the candidates come from the GiST
index of ``registry_geo.camera_points`` (``ST_DWithin`` on geography, spherical, so both back ends agree to the
millimetre); elsewhere from a latitude/longitude bounding box on an ordinary index, refined in Python.
Looking is audited with the stated purpose and case; owners' contact details are added (and their view audited
again, naming the owners) only for users with the ``requests`` capability.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Location, User
from vigil.db.registry_models import RegisteredCamera, RegistryOwner
from vigil.errors import InvalidInput
from vigil.governance import audit
from vigil.governance.access import authorise, current_training
from vigil.governance.audit import AuditContext
from vigil.governance.locations import current_pia
from vigil.governance.roles import Capability, role_grants_capability
from vigil.registry import geo
from vigil.registry.owners import ACTIVE
from vigil.settings import Settings

MAX_RADIUS_M = 20_000.0
MAX_RESULTS = 500
_POSTGIS_NEAR = """
    SELECT p.camera_id, {gis}.ST_Distance(p.geog, q.pt, false) AS metres
    FROM registry_geo.camera_points AS p,
         (SELECT {gis}.geography({gis}.ST_SetSRID({gis}.ST_MakePoint(:lon, :lat), 4326)) AS pt) AS q
    WHERE {gis}.ST_DWithin(p.geog, q.pt, :radius, false)
"""
_POSTGIS_SCHEMA = text(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'postgis' AND to_regclass('registry_geo.camera_points') IS NOT NULL"
)


# Registered cameras are read as plain rows (no ORM objects): at 100,000 cameras it halves the query's time.
CAMERA_COLUMNS = (
    RegisteredCamera.id,
    RegisteredCamera.owner_id,
    RegisteredCamera.label,
    RegisteredCamera.kind,
    RegisteredCamera.latitude,
    RegisteredCamera.longitude,
    RegisteredCamera.facing_deg,
    RegisteredCamera.retention_days,
)
CameraRow = Row[int, int, str, str, float, float, float | None, int]


@dataclass(frozen=True)
class NearQuery:
    latitude: float
    longitude: float
    radius_m: float
    incident_at: datetime


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    address: str
    postcode: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class NearbyCamera:
    source: str  # "registered" or "force"
    camera_id: int
    label: str
    kind: str
    latitude: float
    longitude: float
    distance_m: float
    facing_deg: float | None
    faces_point: bool | None
    retention_days: float
    probably_retained: bool
    owner_id: int | None = None
    pia: str = ""  # force cameras: the current PIA's reference, or "" when there is none
    contact: Contact | None = field(default=None)

    @property
    def usefulness(self) -> tuple[int, int, float]:
        """Sort key: footage probably kept first, then facing the point, then nearest."""
        facing_rank = {True: 0, None: 1, False: 2}[self.faces_point]
        return (0 if self.probably_retained else 1, facing_rank, self.distance_m)


def probably_retained(incident_at: datetime, retention_days: float, now: datetime) -> bool:
    """Whether footage recorded at ``incident_at`` is probably still kept by a camera that keeps it this long."""
    return incident_at + timedelta(days=retention_days) > now


def check_query(query: NearQuery, now: datetime) -> None:
    try:
        geo.check_point(query.latitude, query.longitude)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not 0 < query.radius_m <= MAX_RADIUS_M:
        raise InvalidInput(f"the radius must be more than 0 and at most {MAX_RADIUS_M:,.0f} metres")
    if query.incident_at.tzinfo is None:
        raise InvalidInput("give the incident time with its zone")
    if query.incident_at > now + timedelta(minutes=5):
        raise InvalidInput("the incident time is in the future")


def postgis_schema(db: Session) -> str | None:
    """The schema of the PostGIS extension when the database has it and the migration's points table."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    schema = db.execute(_POSTGIS_SCHEMA).scalar_one_or_none()
    return str(schema) if schema is not None else None


def registered_within(db: Session, query: NearQuery) -> list[tuple[CameraRow, float]]:
    """Active owners' cameras within the radius and their great-circle distances in metres."""
    schema = postgis_schema(db)
    return postgis_within(db, query, schema) if schema is not None else bbox_within(db, query)


def postgis_within(db: Session, query: NearQuery, schema: str) -> list[tuple[CameraRow, float]]:
    """The PostGIS way: ``ST_DWithin`` on the GiST-indexed geography points (spherical distances)."""
    sql = text(_POSTGIS_NEAR.format(gis='"' + schema.replace('"', '""') + '"'))
    rows = db.execute(sql, {"lat": query.latitude, "lon": query.longitude, "radius": query.radius_m}).all()
    metres = {int(row[0]): float(row[1]) for row in rows}
    if not metres:
        return []
    cameras = db.execute(select(*CAMERA_COLUMNS).where(RegisteredCamera.id.in_(metres))).all()
    return _of_active_owners(db, [(camera, metres[camera.id]) for camera in cameras])


def bbox_within(db: Session, query: NearQuery) -> list[tuple[CameraRow, float]]:
    """The portable way: a latitude/longitude box on an ordinary index, then haversine distances in Python."""
    box = geo.bounding_box(query.latitude, query.longitude, query.radius_m)
    # Cameras only: joining the owners here lets SQLite's planner walk every active owner instead of the box.
    stmt = select(*CAMERA_COLUMNS).where(RegisteredCamera.latitude.between(box.south, box.north))
    if box.west >= -180.0 and box.east <= 180.0:
        stmt = stmt.where(RegisteredCamera.longitude.between(box.west, box.east))
    found = []
    for camera in db.execute(stmt).all():
        distance = geo.distance_m(query.latitude, query.longitude, camera.latitude, camera.longitude)
        if distance <= query.radius_m:
            found.append((camera, distance))
    return _of_active_owners(db, found)


def _of_active_owners(db: Session, found: list[tuple[CameraRow, float]]) -> list[tuple[CameraRow, float]]:
    """Only the cameras of confirmed registrations (deleted ones have no cameras left; pending ones do)."""
    owner_ids = {camera.owner_id for camera, _ in found}
    if not owner_ids:
        return []
    stmt = select(RegistryOwner.id).where(RegistryOwner.id.in_(owner_ids), RegistryOwner.status == ACTIVE)
    active = set(db.execute(stmt).scalars())
    return [(camera, metres) for camera, metres in found if camera.owner_id in active]


def _registered(query: NearQuery, camera: CameraRow, distance: float, now: datetime) -> NearbyCamera:
    return NearbyCamera(
        source="registered",
        camera_id=camera.id,
        label=camera.label or f"{camera.kind} camera",
        kind=camera.kind,
        latitude=camera.latitude,
        longitude=camera.longitude,
        distance_m=distance,
        facing_deg=camera.facing_deg,
        faces_point=geo.faces(
            camera_lat=camera.latitude,
            camera_lon=camera.longitude,
            facing_deg=camera.facing_deg,
            point_lat=query.latitude,
            point_lon=query.longitude,
            distance=distance,
        ),
        retention_days=camera.retention_days,
        probably_retained=probably_retained(query.incident_at, camera.retention_days, now),
        owner_id=camera.owner_id,
    )


def force_within(db: Session, query: NearQuery, *, settings: Settings, now: datetime) -> list[NearbyCamera]:
    """The force's active cameras (at their location's position) within the radius."""
    box = geo.bounding_box(query.latitude, query.longitude, query.radius_m)
    stmt = (
        select(Camera)
        .join(Location)
        .options(selectinload(Camera.location).selectinload(Location.pias))
        .where(Camera.is_active.is_(True), Location.latitude.between(box.south, box.north))
    )
    if box.west >= -180.0 and box.east <= 180.0:
        stmt = stmt.where(Location.longitude.between(box.west, box.east))
    days = settings.retention.footage_days
    found = []
    for camera in db.execute(stmt).scalars():
        site = camera.location
        if site.latitude is None or site.longitude is None:
            continue
        distance = geo.distance_m(query.latitude, query.longitude, site.latitude, site.longitude)
        if distance > query.radius_m:
            continue
        faces = geo.faces(
            camera_lat=site.latitude,
            camera_lon=site.longitude,
            facing_deg=camera.bearing_deg,
            point_lat=query.latitude,
            point_lon=query.longitude,
        )
        found.append(force_camera_result(camera, distance, faces, days, query.incident_at, now))
    return found


def force_camera_result(
    camera: Camera, distance_m: float, faces_point: bool | None, days: float, incident_at: datetime, now: datetime
) -> NearbyCamera:
    """A force camera (its location has coordinates) as a search result, with its PIA status."""
    site = camera.location
    assert site.latitude is not None and site.longitude is not None
    pia = current_pia(site, now.date())
    return NearbyCamera(
        source="force",
        camera_id=camera.id,
        label=f"{camera.code} {camera.name}",
        kind="force",
        latitude=site.latitude,
        longitude=site.longitude,
        distance_m=distance_m,
        facing_deg=camera.bearing_deg,
        faces_point=faces_point,
        retention_days=days,
        probably_retained=probably_retained(incident_at, days, now),
        pia=pia.reference if pia else "",
    )


def may_see_contacts(db: Session, user: User, now: datetime) -> bool:
    """Whether the user has the ``requests`` capability (role grant and current training)."""
    if not user.is_active or not role_grants_capability(user.role, Capability.REQUESTS):
        return False
    return current_training(db, user=user, capability=Capability.REQUESTS, today=now.date()) is not None


def cameras_near(
    db: Session,
    *,
    settings: Settings,
    user: User,
    context: AuditContext,
    query: NearQuery,
    now: datetime | None = None,
) -> list[NearbyCamera]:
    """Registered and force cameras near an incident, most useful first (registry capability; audited)."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REGISTRY, action="registry.near", context=context, now=now)
    check_query(query, now)
    results = [_registered(query, cam, metres, now) for cam, metres in registered_within(db, query)]
    results += force_within(db, query, settings=settings, now=now)
    results.sort(key=lambda cam: cam.usefulness)
    results = results[:MAX_RESULTS]
    audit.record(
        db,
        actor=user.username,
        action="registry.near",
        capability=Capability.REGISTRY.value,
        context=context,
        details={
            "latitude": round(query.latitude, 6),
            "longitude": round(query.longitude, 6),
            "radius_m": query.radius_m,
            "incident_at": query.incident_at.isoformat(),
            "results": len(results),
        },
        now=now,
    )
    if may_see_contacts(db, user, now):
        results = with_contacts(db, user=user, context=context, cameras=results, now=now)
    return results


def with_contacts(
    db: Session, *, user: User, context: AuditContext, cameras: list[NearbyCamera], now: datetime
) -> list[NearbyCamera]:
    """The results with their owners' contact details, audited (``registry.owner.view``) naming the owners."""
    owner_ids = sorted({cam.owner_id for cam in cameras if cam.owner_id is not None})
    if not owner_ids:
        return cameras
    columns = (
        RegistryOwner.id,
        RegistryOwner.name,
        RegistryOwner.address,
        RegistryOwner.postcode,
        RegistryOwner.email,
        RegistryOwner.phone,
    )
    stmt = select(*columns).where(RegistryOwner.id.in_(owner_ids), RegistryOwner.status == ACTIVE)
    contacts = {int(row[0]): Contact(*row[1:]) for row in db.execute(stmt)}
    audit.record(
        db,
        actor=user.username,
        action="registry.owner.view",
        capability=Capability.REQUESTS.value,
        context=context,
        subject_type="registration",
        details={"registrations": owner_ids},
        now=now,
    )
    return [replace(cam, contact=contacts.get(cam.owner_id)) if cam.owner_id else cam for cam in cameras]
