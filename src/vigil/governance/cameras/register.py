"""The force's camera register: add a camera at a location, find it by code, list it with its location's PIA,
and record its detection sensitivity. Every change needs the manage-locations permission and is audited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Location, PrivacyImpactAssessment, User
from vigil.domain.cameras import camera_code
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.locations import current_pia, get_location
from vigil.governance.roles import Permission


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
