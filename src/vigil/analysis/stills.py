"""A still picture of a camera's view (from its newest footage), to draw zones and lines and calibrate on.

Seeing the picture is a look at footage, so it is limited to those who manage cameras and audited per view
(``camera.still``, naming the footage the frame came from).
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.models import Footage, User
from vigil.errors import NotFound
from vigil.footage.custody import footage_path
from vigil.footage.ingest import RECORDING_IN_PROGRESS
from vigil.footage.video import iter_frames
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.cameras.register import get_camera
from vigil.governance.roles import Permission
from vigil.settings import Settings

STILL_AT_FRAME = 5
"""Take a frame a little way in: some recorders' first frames are grey or half-decoded."""


@dataclass(frozen=True)
class Still:
    jpeg: bytes
    footage_id: int
    width: int
    height: int


def newest_footage(db: Session, camera_id: int, *, force_only: bool = False) -> Footage | None:
    """The camera's newest recorded footage (``force_only``: never footage held for a case), never the placeholder
    of a live segment still being recorded (it has no file yet)."""
    stmt = select(Footage).where(Footage.camera_id == camera_id, Footage.source != RECORDING_IN_PROGRESS)
    if force_only:
        stmt = stmt.where(Footage.case_id.is_(None))
    return db.execute(stmt.order_by(Footage.start_time.desc()).limit(1)).scalar_one_or_none()


def still_of(settings: Settings, footage: Footage, *, camera_code: str) -> Still:
    """A JPEG of a frame a little way into ``footage``; NotFound when it cannot be decoded or encoded."""
    image = None
    try:
        for frame in iter_frames(footage_path(settings, footage)):
            image = frame.image
            if frame.index >= STILL_AT_FRAME:
                break
    except (OSError, ValueError, av.error.FFmpegError) as exc:
        raise NotFound(f"the newest footage of camera {camera_code} cannot be decoded: {exc}") from None
    if image is None:
        raise NotFound(f"the newest footage of camera {camera_code} has no frames")
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise NotFound(f"the still of camera {camera_code} could not be encoded")
    return Still(bytes(encoded.tobytes()), footage.id, int(image.shape[1]), int(image.shape[0]))


def camera_still(db: Session, *, actor: User, code: str, settings: Settings) -> Still:
    """A JPEG still of ``code``'s view from its newest footage (audited); NotFound when it has none."""
    require_permission(db, user=actor, permission=Permission.MANAGE_LOCATIONS, action="camera.still")
    camera = get_camera(db, code)
    footage = newest_footage(db, camera.id)
    if footage is None:
        raise NotFound(f"camera {camera.code} has no footage yet; add some to draw on its picture")
    still = still_of(settings, footage, camera_code=camera.code)
    audit.record(
        db,
        actor=actor.username,
        action="camera.still",
        subject_type="camera",
        subject_id=camera.code,
        details={"footage": footage.id},
    )
    return still
