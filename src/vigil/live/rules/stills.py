"""A recent frame of a camera to draw a rule on: a still of its newest force footage (its latest recorded segment).

Only force footage is used (never footage held for a case), the viewer needs the analytics capability with
current training, and each still shown is audited (``live_rule.still``, naming the footage).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.analysis.stills import Still, newest_footage, still_of
from vigil.db.models import Camera, User
from vigil.errors import NotFound
from vigil.governance import audit
from vigil.governance.access import authorise
from vigil.governance.cameras.register import get_camera
from vigil.governance.roles import Capability
from vigil.settings import Settings


def rule_cameras(db: Session) -> list[Camera]:
    """The force's cameras a rule can be drawn on (in service)."""
    return list(db.execute(select(Camera).where(Camera.is_active).order_by(Camera.code)).scalars())


def rule_still(db: Session, *, user: User, code: str, settings: Settings) -> Still:
    """A JPEG still of ``code``'s newest force footage (audited); NotFound when it has none."""
    authorise(
        db, user=user, capability=Capability.ANALYTICS, action="live_rule.still", context=None, context_required=False
    )
    camera = get_camera(db, code)
    footage = newest_footage(db, camera.id, force_only=True)
    if footage is None:
        raise NotFound(f"camera {camera.code} has no recording yet: rules are drawn on a still of its latest segment")
    still = still_of(settings, footage, camera_code=camera.code)
    audit.record(
        db,
        actor=user.username,
        action="live_rule.still",
        capability=Capability.ANALYTICS.value,
        subject_type="camera",
        subject_id=camera.code,
        details={"footage": footage.id},
    )
    return still
