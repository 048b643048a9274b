"""Integrated cameras, the officer's side: ask for or open a time-limited view of an owner's shared camera.

A view needs the ``registry`` capability with current training, a case the officer may reach and a purpose
(vigil.governance.access.authorise). On "ask me each time" terms the owner is emailed a one-time approval link and
no picture is read until they approve; on "emergency access" terms the view opens at once and the owner is emailed
a notice. A view lasts at most the owner's maximum; it ends then, when the officer closes it, or when the owner
pauses or stops sharing. Nothing is recorded: a recording of the period arrives only through a footage request the
owner answers (vigil.registry.requests), as case evidence like any other upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.db.registry_models import RegistryOwner
from vigil.db.share_models import SharedCamera, SharedView
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise, ensure_case, refuse
from vigil.governance.audit import PUBLIC_ACTOR, SYSTEM_ACTOR, AuditContext
from vigil.governance.camera_sources import unseal
from vigil.governance.mail import Email
from vigil.governance.outbox import enqueue
from vigil.governance.roles import Capability
from vigil.registry.links import link, link_base, new_token, token_hash, well_formed
from vigil.registry.owners import ACTIVE
from vigil.registry.requests import Sent, send_requests
from vigil.registry.sharing import (
    AWAITING,
    DECLINED,
    EMERGENCY,
    ENDED,
    EXPIRED,
    OPEN,
    SHARING,
    approval_deadline,
    sharing_off,
)
from vigil.registry.streams import check_stream, stream_policy
from vigil.settings import Settings

MAIL_SUBJECT = "shared_view"
INVALID_APPROVAL = "This approval link is not valid or has already been used."


@dataclass(frozen=True)
class Requested:
    view: SharedView
    message_id: int  # the owner's email (approval link or emergency notice), sent after the caller commits
    token: str  # the approval link's secret ("" for an emergency view)


def _usable_camera(
    db: Session, *, settings: Settings, user: User, context: AuditContext, camera_id: int, now: datetime
) -> SharedCamera:
    camera = db.get(SharedCamera, camera_id)
    owner = db.get(RegistryOwner, camera.owner_id) if camera is not None else None
    if camera is None or owner is None or owner.status != ACTIVE:
        raise refuse(
            db,
            actor=user.username,
            action="registry.live.view",
            reason=f"there is no shared camera {camera_id}",
            capability=Capability.REGISTRY.value,
            context=context,
        )
    if camera.status != SHARING:
        raise InvalidInput("the owner has paused sharing this camera")
    if sharing_off(camera, now.astimezone(settings.zone).time()):
        raise InvalidInput(f"the owner does not share this camera between {camera.off_from} and {camera.off_until}")
    return camera


def shared_camera(
    db: Session, *, settings: Settings, user: User, context: AuditContext, camera_id: int, now: datetime | None = None
) -> SharedCamera:
    """A shared camera's page (registry capability, training, case and purpose, as the map)."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REGISTRY, action="registry.live.camera", context=context, now=now)
    camera = db.get(SharedCamera, camera_id)
    if camera is None or camera.owner.status != ACTIVE:
        raise NotFound(f"there is no shared camera {camera_id}")
    return camera


def request_view(
    db: Session,
    *,
    settings: Settings,
    user: User,
    context: AuditContext,
    camera_id: int,
    minutes: float | None = None,
    now: datetime | None = None,
) -> Requested:
    """Ask the owner (one-time approval link) or, on emergency terms, open the view at once and tell the owner."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REGISTRY, action="registry.live.view", context=context, now=now)
    camera = _usable_camera(db, settings=settings, user=user, context=context, camera_id=camera_id, now=now)
    if minutes is not None and not (0 < minutes <= camera.max_view_minutes):
        raise InvalidInput(f"the owner allows views of at most {camera.max_view_minutes:g} minutes")
    case = ensure_case(db, reference=context.case_ref, user=user)
    _one_at_a_time(db, user=user, camera=camera)
    emergency = camera.terms == EMERGENCY
    token = "" if emergency else new_token()
    view = SharedView(
        camera_id=camera.id,
        owner_id=camera.owner_id,
        case_id=case.id,
        user_id=user.id,
        role=user.role,
        purpose=context.purpose,
        camera_label=camera.label,
        emergency=emergency,
        status=OPEN if emergency else AWAITING,
        approval_token_hash=token_hash(token) if token else None,
        approval_expires_at=None if emergency else approval_deadline(settings, now),
        minutes=minutes or camera.max_view_minutes,
        requested_at=now,
    )
    if emergency:
        view.started_at, view.ends_at = now, now + timedelta(minutes=view.minutes)
    db.add(view)
    db.flush()
    email = _owner_email(settings, camera, view, token)
    message = enqueue(db, email=email, subject_type=MAIL_SUBJECT, subject_id=view.id, now=now)
    audit.record(
        db,
        actor=user.username,
        action="registry.live.open" if emergency else "registry.live.ask",
        capability=Capability.REGISTRY.value,
        context=context,
        subject_type="shared_view",
        subject_id=view.id,
        details={"camera": camera.id, "role": user.role, "minutes": view.minutes, "emergency": emergency},
        now=now,
    )
    return Requested(view, message.id, token)


def _one_at_a_time(db: Session, *, user: User, camera: SharedCamera) -> None:
    """One open or awaiting view per officer and camera: no flood of approval emails or notices to an owner."""
    stmt = select(SharedView.id).where(
        SharedView.camera_id == camera.id, SharedView.user_id == user.id, SharedView.status.in_((AWAITING, OPEN))
    )
    if db.execute(stmt.limit(1)).first() is not None:
        raise InvalidInput("you already have a view of this camera open or waiting for the owner: use that one")


def _owner_email(settings: Settings, camera: SharedCamera, view: SharedView, token: str) -> Email:
    owner, zone = camera.owner, settings.zone
    case = view.case.reference if view.case else ""
    what = (
        f"Case reference: {case}\nPurpose: {view.purpose}\nViewer's role: {view.role}\n"
        f"Longest view: {view.minutes:g} minutes\n"
    )
    manage = link(link_base(settings), "/register/manage")
    if not token:
        started = view.requested_at.astimezone(zone).strftime("%d %B %Y %H:%M")
        body = (
            f"Dear {owner.name},\n\nUnder the emergency access you chose, an officer of {settings.force_name} "
            f"started viewing your camera '{camera.label}' live at {started}.\n\n{what}\n"
            f"You can pause or stop sharing at any time, which ends the view within seconds, and see every view of "
            f"your cameras, from your registration page:\n{manage}\n"
        )
        return Email(owner.email, f"{settings.force_name}: your camera '{camera.label}' is being viewed", body)
    url = link(link_base(settings), f"/register/live#{token}")
    until = view.approval_expires_at.astimezone(zone).strftime("%H:%M") if view.approval_expires_at else ""
    body = (
        f"Dear {owner.name},\n\nAn officer of {settings.force_name} asks to view your camera '{camera.label}' "
        f"live.\n\n{what}\nNothing is shown until you approve. To approve or refuse, open this one-time link "
        f"(it works until {until}):\n\n{url}\n\nIf you do nothing, the officer does not see your camera.\n"
    )
    return Email(owner.email, f"{settings.force_name}: may we view your camera '{camera.label}'?", body)


def _awaiting(db: Session, token: str, now: datetime, action: str) -> SharedView:
    view = None
    if well_formed(token):
        stmt = select(SharedView).where(SharedView.approval_token_hash == token_hash(token))
        view = db.execute(stmt).scalar_one_or_none()
    reason = ""
    if view is None or view.status != AWAITING:
        reason = "no view awaits approval with this link (forged, mistyped or used)"
    elif view.approval_expires_at is None or view.approval_expires_at <= now:
        reason = "the approval link expired"
    if reason:
        audit.record(
            db,
            actor=PUBLIC_ACTOR,
            action=action,
            outcome=audit.Outcome.REFUSED,
            subject_type="shared_view",
            subject_id=view.id if view is not None else None,
            details={"reason": reason},
            now=now,
        )
        db.commit()
        raise NotFound(INVALID_APPROVAL if view is None or view.status != AWAITING else "This approval link expired.")
    assert view is not None
    return view


def view_for_approval(db: Session, *, token: str, now: datetime | None = None) -> SharedView:
    """The view a one-time approval link asks about (for the owner's approval page)."""
    return _awaiting(db, token, now or utcnow(), "registry.live.approval_page")


def answer_view(db: Session, *, token: str, approve: bool, now: datetime | None = None) -> SharedView:
    """The owner approves (the view opens now, for its length) or refuses; the link then stops working."""
    now = now or utcnow()
    action = "registry.live.approve" if approve else "registry.live.refuse"
    view = _awaiting(db, token, now, action)
    camera = view.camera
    if approve and (camera is None or camera.status != SHARING):
        raise InvalidInput("this camera is not being shared any more, so the view cannot open")
    view.approval_token_hash = None
    if approve:
        view.status, view.started_at, view.ends_at = OPEN, now, now + timedelta(minutes=view.minutes)
    else:
        view.status, view.ended_at, view.end_reason = DECLINED, now, "the owner refused"
    db.flush()
    audit.record(db, actor=PUBLIC_ACTOR, action=action, subject_type="shared_view", subject_id=view.id, now=now)
    return view


def officer_view(
    db: Session, *, user: User, context: AuditContext, view_id: int, action: str = "registry.live.watch"
) -> SharedView:
    """A view of this officer for this case, or an audited refusal (crafted ids, another officer's or case's)."""
    view = db.get(SharedView, view_id, options=[selectinload(SharedView.case)])
    if view is None or view.user_id != user.id or view.case.reference != context.case_ref or not user.is_active:
        raise refuse(
            db,
            actor=user.username,
            action=action,
            reason=f"view {view_id} is not one of your views for case {context.case_ref}",
            capability=Capability.REGISTRY.value,
            context=context,
        )
    return view


def is_live(view: SharedView, *, settings: Settings, now: datetime) -> bool:
    """Whether pictures may be shown now: open, within its time, the camera still shared and not in off hours."""
    camera = view.camera
    return (
        view.status == OPEN
        and view.ends_at is not None
        and view.ends_at > now
        and camera is not None
        and camera.status == SHARING
        and not sharing_off(camera, now.astimezone(settings.zone).time())
    )


def stream_of(db: Session, *, settings: Settings, view: SharedView) -> str:
    """The unsealed stream URL of a live view, checked again (settings or addresses may have changed)."""
    if view.camera is None:
        raise InvalidInput("this camera is no longer shared")
    url = unseal(view.camera.sealed, stream_policy(settings).key)
    return check_stream(url, settings=settings).url


def end_view(
    db: Session, *, user: User, context: AuditContext, view_id: int, reason: str, now: datetime | None = None
) -> SharedView:
    """The officer closes a view (audited with its start and end)."""
    now = now or utcnow()
    view = officer_view(db, user=user, context=context, view_id=view_id, action="registry.live.close")
    if view.status in (OPEN, AWAITING):
        _close(view, status=ENDED if view.status == OPEN else DECLINED, reason=reason, now=now)
        _audit_end(db, view, actor=user.username, context=context, now=now)
    return view


def _close(view: SharedView, *, status: str, reason: str, now: datetime) -> None:
    view.status, view.end_reason, view.approval_token_hash = status, reason, None
    view.ended_at = min(now, view.ends_at) if view.ends_at is not None else now


def _audit_end(db: Session, view: SharedView, *, actor: str, context: AuditContext | None, now: datetime) -> None:
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="registry.live.end",
        capability=Capability.REGISTRY.value,
        context=context,
        subject_type="shared_view",
        subject_id=view.id,
        details={
            "viewer": view.user.username,
            "role": view.role,
            "case": view.case.reference,
            "started": view.started_at.isoformat() if view.started_at else None,
            "ended": view.ended_at.isoformat() if view.ended_at else None,
            "reason": view.end_reason,
        },
        now=now,
    )


def close_due(db: Session, *, settings: Settings, now: datetime | None = None) -> list[int]:
    """End open views past their limit or in the owner's off hours, expire unanswered asks; returns their ids."""
    now = now or utcnow()
    stmt = select(SharedView).where(SharedView.status.in_((OPEN, AWAITING)))
    closed = []
    for view in db.execute(stmt).scalars():
        if view.status == AWAITING:
            if view.approval_expires_at is not None and view.approval_expires_at <= now:
                _close(view, status=EXPIRED, reason="the owner did not answer in time", now=now)
                closed.append(view.id)
            continue
        if view.ends_at is not None and view.ends_at <= now:
            _close(view, status=ENDED, reason="the view reached its time limit", now=now)
        elif not is_live(view, settings=settings, now=now):
            _close(view, status=ENDED, reason="the owner's sharing is off now", now=now)
        else:
            continue
        _audit_end(db, view, actor=SYSTEM_ACTOR, context=None, now=now)
        closed.append(view.id)
    db.flush()
    return closed


def live_ids(db: Session, *, settings: Settings, view_ids: list[int], now: datetime | None = None) -> set[int]:
    """Which of these views may still show pictures (the reader watcher stops the others)."""
    if not view_ids:
        return set()
    now = now or utcnow()
    stmt = select(SharedView).where(SharedView.id.in_(view_ids)).options(selectinload(SharedView.camera))
    return {v.id for v in db.execute(stmt).scalars() if is_live(v, settings=settings, now=now)}


def request_recording(
    db: Session, *, settings: Settings, user: User, context: AuditContext, view_id: int, now: datetime | None = None
) -> Sent:
    """Ask the owner for a recording of a view's period: a footage request (``requests`` capability) whose upload
    arrives as case evidence like any other; vigil itself never records a shared camera."""
    now = now or utcnow()
    view = officer_view(db, user=user, context=context, view_id=view_id, action="requests.send")
    if view.started_at is None:
        raise InvalidInput("this view never opened, so there is no period to ask a recording of")
    end = view.ended_at or min(now, view.ends_at or now)
    message = (
        f"During an officer's live view of your camera '{view.camera_label}' (your approval or emergency access), "
        "something was seen that may be evidence. If your camera recorded this period, please upload it."
    )
    [sent] = send_requests(
        db,
        settings=settings,
        user=user,
        context=context,
        owner_ids=[view.owner_id],
        window_start=view.started_at,
        window_end=max(end, view.started_at + timedelta(seconds=1)),
        message=message,
        now=now,
    )
    return sent
