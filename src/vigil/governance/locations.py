"""Force camera locations, their Privacy Impact Assessments, and the cameras at each location.

Footage from a camera may be analysed only while its location has a current PIA
(approved on or before today, review date not passed). Footage a camera's owner sent through a footage request
has another basis: the owner's consent (the request and the upload) together with the requesting case's own
authorisation, valid only while the footage is held for that case (``Footage.consent_case_id``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Footage, Location, PrivacyImpactAssessment, User
from vigil.domain.cameras import camera_code
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import refuse, require_permission
from vigil.governance.roles import Permission


def check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise InvalidInput("give both latitude and longitude, or neither")
    if latitude is not None and not -90 <= latitude <= 90:
        raise InvalidInput("latitude must be between -90 and 90")
    if longitude is not None and not -180 <= longitude <= 180:
        raise InvalidInput("longitude must be between -180 and 180")


def add_location(
    db: Session,
    *,
    actor: User,
    name: str,
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
) -> Location:
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="location.add")
    name = name.strip()
    if not name:
        raise InvalidInput("location name is required")
    check_coordinates(latitude, longitude)
    if db.execute(select(Location.id).where(Location.name == name)).first():
        raise Conflict(f"a location named {name!r} already exists")
    location = Location(
        name=name[:200],
        address=address.strip()[:400],
        latitude=latitude,
        longitude=longitude,
        created_at=utcnow(),
    )
    db.add(location)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="location.add",
        subject_type="location",
        subject_id=location.id,
        details={"name": location.name},
    )
    return location


def get_location(db: Session, name_or_id: str | int) -> Location:
    stmt = select(Location)
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        stmt = stmt.where(Location.id == int(name_or_id))
    else:
        stmt = stmt.where(Location.name == name_or_id)
    location = db.execute(stmt).scalar_one_or_none()
    if location is None:
        raise NotFound(f"no camera location {name_or_id!r}")
    return location


def add_pia(
    db: Session,
    *,
    actor: User,
    location_id: int,
    reference: str,
    approved_purposes: str,
    approved_on: date,
    review_date: date,
    approved_by: str,
) -> PrivacyImpactAssessment:
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="pia.add")
    location = get_location(db, location_id)
    reference = reference.strip()
    if not reference or not approved_purposes.strip() or not approved_by.strip():
        raise InvalidInput("PIA reference, approved purposes and approver are all required")
    if review_date <= approved_on:
        raise InvalidInput("the review date must be after the approval date")
    if db.execute(select(PrivacyImpactAssessment.id).where(PrivacyImpactAssessment.reference == reference)).first():
        raise Conflict(f"a PIA with reference {reference!r} already exists")
    pia = PrivacyImpactAssessment(
        location_id=location.id,
        reference=reference[:64],
        approved_purposes=approved_purposes.strip(),
        approved_on=approved_on,
        review_date=review_date,
        approved_by=approved_by.strip()[:200],
        recorded_by_id=actor.id,
        recorded_at=utcnow(),
    )
    db.add(pia)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="pia.add",
        subject_type="location",
        subject_id=location.id,
        details={"reference": pia.reference, "review_date": review_date.isoformat()},
    )
    return pia


def current_pia(location: Location, today: date) -> PrivacyImpactAssessment | None:
    current = [p for p in location.pias if p.approved_on <= today <= p.review_date]
    return max(current, key=lambda p: p.review_date, default=None)


def add_camera(
    db: Session,
    *,
    actor: User,
    code: str,
    name: str,
    location_id: int,
    bearing_deg: float | None = None,
    stream_url: str | None = None,
) -> Camera:
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.add")
    location = get_location(db, location_id)
    if not location.is_active:
        raise InvalidInput(f"location {location.name!r} is retired; re-activate it or choose another")
    code = camera_code(code)
    if not code or len(code) > 64 or not all(c.isalnum() or c in "-_." for c in code):
        raise InvalidInput("camera code must be 1-64 letters, digits, '-', '_' or '.'")
    if bearing_deg is not None and not 0 <= bearing_deg < 360:
        raise InvalidInput("bearing must be in degrees from 0 (north) up to 360")
    if db.execute(select(Camera.id).where(Camera.code == code)).first():
        raise Conflict(f"a camera with code {code!r} already exists")
    camera = Camera(
        code=code,
        name=(name.strip() or code)[:200],
        location_id=location.id,
        bearing_deg=bearing_deg,
        stream_url=stream_url,
        created_at=utcnow(),
    )
    db.add(camera)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="camera.add",
        subject_type="camera",
        subject_id=code,
        details={"location": location.name},
    )
    return camera


def get_camera(db: Session, code: str) -> Camera:
    camera = db.execute(select(Camera).where(Camera.code == camera_code(code))).scalar_one_or_none()
    if camera is None:
        raise NotFound(f"no camera with code {code!r}; `vigil camera list` shows the registered cameras")
    return camera


def set_camera_calibration(
    db: Session,
    *,
    actor: User,
    code: str,
    image_to_ground: list[list[float]],
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
    camera.calibration = json.dumps(
        {"image_to_ground": matrix.tolist(), "principal_point": [float(v) for v in principal_point]}
    )
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


CROSSINGS = ("either", "left-to-right", "right-to-left")
CameraLine = tuple[str, tuple[float, float], tuple[float, float], str]
"""A named line on a camera's picture: name, first end, second end (source pixels), crossing direction."""


def _point(value: object) -> tuple[float, float] | None:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if all(math.isfinite(v) and 0 <= v <= 100_000 for v in (x, y)) else None


def _clean_lines(lines: list[CameraLine]) -> list[dict[str, object]]:
    cleaned: list[dict[str, object]] = []
    for name, a, b, direction in lines:
        name = name.strip()
        if not 1 <= len(name) <= 40:
            raise InvalidInput("a line name must be 1-40 characters")
        if any(line["name"] == name for line in cleaned):
            raise InvalidInput(f"line name {name!r} is used twice")
        ends = _point(a), _point(b)
        if ends[0] is None or ends[1] is None:
            raise InvalidInput(f"line {name!r} needs two ends, each two pixel coordinates between 0 and 100000")
        if ends[0] == ends[1]:
            raise InvalidInput(f"line {name!r} needs two different ends")
        if direction not in CROSSINGS:
            raise InvalidInput(f"line {name!r}: crossing direction must be one of {', '.join(CROSSINGS)}")
        cleaned.append({"name": name, "line": [list(ends[0]), list(ends[1])], "direction": direction})
    return cleaned


def camera_lines(camera: Camera) -> list[CameraLine]:
    """A camera's stored lines (for line-crossing searches)."""
    return [
        (
            z["name"],
            (float(z["line"][0][0]), float(z["line"][0][1])),
            (float(z["line"][1][0]), float(z["line"][1][1])),
            z["direction"],
        )
        for z in json.loads(camera.zones or "[]")
        if "line" in z
    ]


def set_camera_zones(
    db: Session,
    *,
    actor: User,
    code: str,
    zones: list[tuple[str, list[tuple[float, float]]]],
    lines: list[CameraLine] | None = None,
) -> Camera:
    """Replace a camera's named zones (polygons in source-image pixels used for per-zone dwell time) and, when
    ``lines`` is given, its named lines (kept as they are otherwise)."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.zones")
    cleaned: list[dict[str, object]] = []
    for name, polygon in zones:
        name = name.strip()
        if not 1 <= len(name) <= 40:
            raise InvalidInput("a zone name must be 1-40 characters")
        if name == "stationary":
            raise InvalidInput("'stationary' is reserved for time spent standing still; choose another zone name")
        if any(zone["name"] == name for zone in cleaned):
            raise InvalidInput(f"zone name {name!r} is used twice")
        if len(polygon) < 3:
            raise InvalidInput(f"zone {name!r} needs a polygon of at least 3 points")
        if len(polygon) > 100:
            raise InvalidInput(f"zone {name!r} has more than 100 corners")
        if any(_point(point) is None for point in polygon):
            raise InvalidInput(f"zone {name!r} has a point that is not two pixel coordinates between 0 and 100000")
        cleaned.append({"name": name, "polygon": [[float(x), float(y)] for x, y in polygon]})
    if len(cleaned) > 50 or len(lines or []) > 50:
        raise InvalidInput("a camera may have at most 50 zones and 50 lines")
    camera = get_camera(db, code)
    kept = _clean_lines(lines) if lines is not None else [z for z in json.loads(camera.zones or "[]") if "line" in z]
    camera.zones = json.dumps(cleaned + kept)
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="camera.zones",
        subject_type="camera",
        subject_id=camera.code,
        details={"zones": [zone["name"] for zone in cleaned], "lines": [line["name"] for line in kept]},
    )
    return camera


def camera_zones(camera: Camera) -> list[tuple[str, list[tuple[float, float]]]]:
    """A camera's stored zones as ``(name, polygon)`` pairs."""
    return [
        (z["name"], [(float(x), float(y)) for x, y in z["polygon"]])
        for z in json.loads(camera.zones or "[]")
        if "polygon" in z
    ]


@dataclass(frozen=True)
class CameraStatus:
    camera: Camera
    pia: PrivacyImpactAssessment | None

    @property
    def pia_state(self) -> str:
        return f"current ({self.pia.reference}, review by {self.pia.review_date})" if self.pia else "NO CURRENT PIA"


def camera_statuses(db: Session, *, today: date, only_lacking_pia: bool = False) -> list[CameraStatus]:
    stmt = select(Camera).options(selectinload(Camera.location).selectinload(Location.pias)).order_by(Camera.code)
    statuses = [CameraStatus(cam, current_pia(cam.location, today)) for cam in db.execute(stmt).scalars()]
    return [s for s in statuses if s.pia is None] if only_lacking_pia else statuses


def require_current_pia(db: Session, *, camera: Camera, user: User, action: str, today: date) -> None:
    """Refuse (and audit) analysis of footage from a camera whose location has no current PIA."""
    if current_pia(camera.location, today) is None:
        raise refuse(
            db, actor=user.username, action=action, reason=no_pia_reason(camera), details={"camera": camera.code}
        )


def no_pia_reason(camera: Camera) -> str:
    return (
        f"camera {camera.code} at '{camera.location.name}' has no current Privacy Impact Assessment; "
        "its footage cannot be analysed until an administrator records one"
    )


@dataclass(frozen=True)
class AnalysisBasis:
    """Why a footage may be analysed (``lawful``), or why not (``reason``)."""

    lawful: bool
    basis: str  # the PIA, or the owner's consent under a case; empty when not lawful
    reason: str  # why it may not be analysed; empty when lawful


def analysis_basis(footage: Footage, today: date) -> AnalysisBasis:
    """A location PIA, else the owner's consent plus the case's authorisation (only under that very case)."""
    pia = current_pia(footage.camera.location, today)
    if pia is not None:
        return AnalysisBasis(True, f"PIA {pia.reference}", "")
    if footage.consent_case_id is not None:
        if footage.consent_case_id == footage.case_id:
            return AnalysisBasis(True, "owner's consent (footage request) and the case's authorisation", "")
        return AnalysisBasis(
            False,
            "",
            "footage sent by a camera owner may be analysed only for the case that asked for it, and it is no "
            "longer held for that case",
        )
    return AnalysisBasis(False, "", no_pia_reason(footage.camera))


def require_analysis_basis(db: Session, *, footage: Footage, user: User, action: str, today: date) -> str:
    """The basis for analysing a footage; refused (and audited, with the reason) when there is none."""
    basis = analysis_basis(footage, today)
    if not basis.lawful:
        details = {"camera": footage.camera.code, "footage": footage.id}
        raise refuse(db, actor=user.username, action=action, reason=basis.reason, details=details)
    return basis.basis


@dataclass(frozen=True)
class LocationStatus:
    location: Location
    pia: PrivacyImpactAssessment | None


def location_register(db: Session, *, actor: User, today: date) -> list[LocationStatus]:
    """Every location with its current PIA (if any) and its cameras."""
    require_permission(db, user=actor, permission=Permission.VIEW_CAMERAS, action="location.list")
    stmt = select(Location).options(selectinload(Location.pias), selectinload(Location.cameras)).order_by(Location.name)
    return [LocationStatus(loc, current_pia(loc, today)) for loc in db.execute(stmt).scalars()]


def camera_register(db: Session, *, actor: User, today: date, only_lacking_pia: bool = False) -> list[CameraStatus]:
    """Every camera with its location's current PIA; ``only_lacking_pia`` keeps those without one."""
    require_permission(db, user=actor, permission=Permission.VIEW_CAMERAS, action="camera.list")
    return camera_statuses(db, today=today, only_lacking_pia=only_lacking_pia)


def set_camera_sensitivity(
    db: Session,
    *,
    actor: User,
    code: str,
    score_threshold: float | None,
    person_height_px: float | None,
    source: str = "typed",
) -> Camera:
    """Record (or, with ``None``, clear) a camera's detection sensitivity; audited ``camera.sensitivity``.

    ``score_threshold`` is the score of a confident person detection on this camera, ``person_height_px`` the
    height of a small person in its picture (analysis enlarges frames for people that small); ``source`` says
    how they were found ("typed" or "marks: N frames, M people")."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.sensitivity")
    if score_threshold is not None and not (math.isfinite(score_threshold) and 0.05 <= score_threshold <= 0.95):
        raise InvalidInput(f"the detection score must be between 0.05 and 0.95, got {score_threshold}")
    if person_height_px is not None and not (math.isfinite(person_height_px) and 4 <= person_height_px <= 4000):
        raise InvalidInput(f"the person height must be between 4 and 4000 pixels, got {person_height_px}")
    camera = get_camera(db, code)
    before = {"score": camera.detect_score, "person_height_px": camera.person_height_px}
    camera.detect_score, camera.person_height_px = score_threshold, person_height_px
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="camera.sensitivity",
        subject_type="camera",
        subject_id=camera.code,
        details={
            "before": before,
            "after": {"score": score_threshold, "person_height_px": person_height_px},
            "source": source,
        },
    )
    return camera
