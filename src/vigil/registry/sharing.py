"""Integrated cameras, the owner's side: share a site's cameras' live pictures on their terms, pause, stop, and
see every view.

Everything here is reached with the owner's self-service token (vigil.registry.owners.by_manage_token). A stream
is checked and tested once (vigil.registry.streams) before anything is stored: one bad address refuses the whole
site with a message naming the camera, and nothing is written. The owner's log names the viewer's role, never
the viewer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.registry_models import RegistryOwner
from vigil.db.share_models import SharedCamera, SharedView
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.audit import PUBLIC_ACTOR
from vigil.governance.camera_sources import seal
from vigil.registry import geo
from vigil.registry.owners import by_manage_token
from vigil.registry.streams import check_stream, stream_policy
from vigil.settings import Settings

SHARING, PAUSED = "sharing", "paused"
ASK, EMERGENCY = "ask", "emergency"
AWAITING, OPEN, ENDED, DECLINED, EXPIRED = "awaiting", "open", "ended", "declined", "expired"
MAX_SITE_CAMERAS = 10
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

Probe = Callable[[str, str], None]  # (url, masked) -> None, or raises InvalidInput


class StreamInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=100, description="A name for the camera, e.g. 'till'.")
    url: str = Field(min_length=1, max_length=2000, description="The camera's stream address (rtsp, http...).")


class SiteInput(BaseModel):
    """One site's cameras, shared on the same terms (what the owner's 'share live view' form sends)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    site: str = Field("", max_length=100, description="The site's name, e.g. 'Main Street shop'.")
    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False, description="Latitude of the site (WGS 84).")
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False, description="Longitude of the site (WGS 84).")
    terms: Literal["ask", "emergency"] = Field(description="'ask' me each time, or 'emergency' access.")
    off_from: str = Field("", max_length=5, description="Sharing is off from this time (HH:MM), optional.")
    off_until: str = Field("", max_length=5, description="...until this time (HH:MM).")
    max_view_minutes: float = Field(
        30, ge=0.1, le=240, allow_inf_nan=False, description="The longest one view may last, in minutes."
    )
    cameras: list[StreamInput] = Field(min_length=1, max_length=MAX_SITE_CAMERAS, description="The cameras.")

    @field_validator("off_from", "off_until")
    @classmethod
    def _clock(cls, value: str) -> str:
        if value and not _CLOCK.match(value):
            raise ValueError("give a time as HH:MM, e.g. 22:00")
        return value


def parse_site(data: dict[str, object], *, settings: Settings) -> SiteInput:
    """Validate the form, refusing with one message that names every bad field."""
    try:
        site = SiteInput.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            where = f"Camera {int(loc[1]) + 1} {loc[2]}" if len(loc) >= 3 and loc[0] == "cameras" else loc[0]
            problems.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
        raise InvalidInput("; ".join(problems)) from None
    if bool(site.off_from) != bool(site.off_until) or (site.off_from and site.off_from == site.off_until):
        raise InvalidInput("give both times when sharing is off (from and until), and make them differ")
    if site.max_view_minutes > settings.registry.live_view_minutes:
        raise InvalidInput(f"a view may last at most {settings.registry.live_view_minutes} minutes")
    try:
        geo.check_point(site.latitude, site.longitude)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return site


def share_site(
    db: Session, *, settings: Settings, token: str, data: SiteInput, probe: Probe, now: datetime | None = None
) -> list[SharedCamera]:
    """Check and test every camera's stream, then store them all sealed (or nothing, naming the bad camera)."""
    now = now or utcnow()
    owner = by_manage_token(db, token)
    checked = []
    for number, camera in enumerate(data.cameras, start=1):
        try:
            source = check_stream(camera.url, settings=settings)
            probe(source.url, source.masked)
        except InvalidInput as exc:
            raise InvalidInput(f"Camera {number} ({camera.label}): {exc.message}. Nothing was saved.") from None
        checked.append((camera.label, source))
    key = stream_policy(settings).key
    shared = [
        SharedCamera(
            owner_id=owner.id,
            site=data.site,
            label=label,
            latitude=data.latitude,
            longitude=data.longitude,
            masked=source.masked,
            sealed=seal(source.url, key),
            terms=data.terms,
            off_from=data.off_from or None,
            off_until=data.off_until or None,
            max_view_minutes=data.max_view_minutes,
            status=SHARING,
            created_at=now,
        )
        for label, source in checked
    ]
    db.add_all(shared)
    db.flush()
    audit.record(
        db,
        actor=PUBLIC_ACTOR,
        action="registry.share.add",
        subject_type="registration",
        subject_id=owner.id,
        details={"cameras": [c.id for c in shared], "terms": data.terms, "max_view_minutes": data.max_view_minutes},
        now=now,
    )
    return shared


def owner_cameras(db: Session, *, token: str) -> list[SharedCamera]:
    owner = by_manage_token(db, token)
    stmt = select(SharedCamera).where(SharedCamera.owner_id == owner.id).order_by(SharedCamera.id)
    return list(db.execute(stmt).scalars())


def _own_camera(db: Session, owner: RegistryOwner, camera_id: int, action: str) -> SharedCamera:
    camera = db.get(SharedCamera, camera_id)
    if camera is None or camera.owner_id != owner.id:
        audit.record(
            db,
            actor=PUBLIC_ACTOR,
            action=action,
            outcome=audit.Outcome.REFUSED,
            subject_type="registration",
            subject_id=owner.id,
            details={"reason": "not one of this owner's shared cameras", "camera": camera_id},
        )
        db.commit()
        raise NotFound("that camera is not one of yours")
    return camera


def end_views(db: Session, *, camera_ids: list[int], reason: str, now: datetime) -> list[int]:
    """End every open or awaiting view of these cameras (their readers stop within the watcher's next pass)."""
    if not camera_ids:
        return []
    stmt = select(SharedView).where(SharedView.camera_id.in_(camera_ids), SharedView.status.in_((AWAITING, OPEN)))
    views = list(db.execute(stmt).scalars())
    for view in views:
        view.status = ENDED if view.status == OPEN else DECLINED
        view.ended_at, view.end_reason, view.approval_token_hash = now, reason, None
    db.flush()
    return [v.id for v in views]


def change_sharing(
    db: Session, *, token: str, camera_id: int, action: Literal["pause", "resume", "stop"], now: datetime | None = None
) -> list[int]:
    """Pause, resume or stop sharing one camera (stop deletes its stream details); returns the views it ended."""
    now = now or utcnow()
    owner = by_manage_token(db, token)
    camera = _own_camera(db, owner, camera_id, f"registry.share.{action}")
    ended: list[int] = []
    if action in ("pause", "stop"):
        reason = "the owner paused sharing" if action == "pause" else "the owner stopped sharing"
        ended = end_views(db, camera_ids=[camera.id], reason=reason, now=now)
    if action == "stop":
        db.delete(camera)
    else:
        camera.status, camera.changed_at = (PAUSED if action == "pause" else SHARING), now
    db.flush()
    audit.record(
        db,
        actor=PUBLIC_ACTOR,
        action=f"registry.share.{action}",
        subject_type="shared_camera",
        subject_id=camera_id,
        details={"views_ended": ended},
        now=now,
    )
    return ended


@dataclass(frozen=True)
class LoggedView:
    """One line of the owner's log: what, when, how long, for which case and purpose, by which role."""

    camera: str
    requested_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    minutes: float | None
    case_reference: str
    purpose: str
    role: str
    emergency: bool
    status: str
    end_reason: str


def view_log(db: Session, *, token: str, now: datetime | None = None) -> list[LoggedView]:
    """Every view (and asked-for view) of the owner's cameras, newest first; the viewer's role, not their name."""
    now = now or utcnow()
    owner = by_manage_token(db, token)
    stmt = select(SharedView).where(SharedView.owner_id == owner.id).order_by(SharedView.id.desc())
    log = []
    for view in db.execute(stmt).scalars():
        end = view.ended_at or (min(now, view.ends_at) if view.ends_at else None)
        length = (end - view.started_at).total_seconds() / 60 if view.started_at and end else None
        log.append(
            LoggedView(
                camera=view.camera_label,
                requested_at=view.requested_at,
                started_at=view.started_at,
                ended_at=view.ended_at,
                minutes=length,
                case_reference=view.case.reference,
                purpose=view.purpose,
                role=view.role,
                emergency=view.emergency,
                status=view.status,
                end_reason=view.end_reason,
            )
        )
    return log


def sharing_off(camera: SharedCamera, local: time) -> bool:
    """Whether ``local`` (the force's time of day) falls in the owner's hours when sharing is off."""
    if not camera.off_from or not camera.off_until:
        return False
    start, end = time.fromisoformat(camera.off_from), time.fromisoformat(camera.off_until)
    return start <= local < end if start < end else (local >= start or local < end)


def approval_deadline(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(minutes=settings.registry.live_approval_minutes)
