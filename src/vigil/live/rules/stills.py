"""A recent frame of a camera to draw a rule on: a still of its newest force footage (its latest recorded segment).

Only force footage is used (never footage held for a case), the viewer needs the analytics capability with
current training, and each still shown is audited (``live_rule.still``, naming the footage).
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.models import Camera, Footage, User
from vigil.errors import NotFound
from vigil.footage.custody import footage_path
from vigil.footage.video import iter_frames
from vigil.governance import audit
from vigil.governance.access import authorise
from vigil.governance.cameras.register import get_camera
from vigil.governance.roles import Capability
from vigil.live.tracks import RESERVED_SOURCE
from vigil.settings import Settings

STILL_AT_FRAME = 5


@dataclass(frozen=True)
class RuleStill:
    jpeg: bytes
    footage_id: int
    width: int
    height: int


def rule_cameras(db: Session) -> list[Camera]:
    """The force's cameras a rule can be drawn on (in service)."""
    return list(db.execute(select(Camera).where(Camera.is_active).order_by(Camera.code)).scalars())


def newest_force_footage(db: Session, camera_id: int) -> Footage | None:
    """The camera's newest recorded force footage (never the placeholder of a segment still being recorded)."""
    stmt = select(Footage).where(
        Footage.camera_id == camera_id, Footage.case_id.is_(None), Footage.source != RESERVED_SOURCE
    )
    return db.execute(stmt.order_by(Footage.start_time.desc()).limit(1)).scalar_one_or_none()


def rule_still(db: Session, *, user: User, code: str, settings: Settings) -> RuleStill:
    """A JPEG still of ``code``'s newest force footage (audited); NotFound when it has none."""
    authorise(
        db, user=user, capability=Capability.ANALYTICS, action="live_rule.still", context=None, context_required=False
    )
    camera = get_camera(db, code)
    footage = newest_force_footage(db, camera.id)
    if footage is None:
        raise NotFound(f"camera {camera.code} has no recording yet: rules are drawn on a still of its latest segment")
    image = None
    try:
        for frame in iter_frames(footage_path(settings, footage)):
            image = frame.image
            if frame.index >= STILL_AT_FRAME:
                break
    except (OSError, ValueError, av.error.FFmpegError) as exc:
        raise NotFound(f"the newest footage of camera {camera.code} cannot be decoded: {exc}") from None
    if image is None:
        raise NotFound(f"the newest footage of camera {camera.code} has no frames")
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise NotFound(f"the still of camera {camera.code} could not be encoded")
    audit.record(
        db,
        actor=user.username,
        action="live_rule.still",
        capability=Capability.ANALYTICS.value,
        subject_type="camera",
        subject_id=camera.code,
        details={"footage": footage.id},
    )
    return RuleStill(bytes(encoded.tobytes()), footage.id, int(image.shape[1]), int(image.shape[0]))
