"""Attacks on integrated cameras, replayed through the services: an officer without training or case, another
case's or another officer's view, crafted view and camera ids, forged, used and expired approval tokens, an owner
reaching another owner's camera. Each is refused, audited, and changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.registry.builders import active_owner
from tests.registry.live_support import PURPOSE
from tests.registry.smtp import Mailbox
from tests.support.builders import make_user
from tests.support.rtsp import RtspServer
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, User
from vigil.db.outbox_models import OutboxMessage
from vigil.db.registry_models import FootageRequest
from vigil.db.share_models import SharedCamera, SharedView
from vigil.errors import InvalidInput, NotFound, NotPermitted, VigilError
from vigil.governance.audit import AuditContext
from vigil.registry.live_views import (
    answer_view,
    end_view,
    officer_view,
    request_recording,
    request_view,
    shared_camera,
)
from vigil.registry.sharing import change_sharing, parse_site, share_site
from vigil.registry.streams import probe_stream
from vigil.settings import Settings

CASE = AuditContext("CUM-2026-000417", PURPOSE)
OTHER_CASE = AuditContext("CUM-2026-999999", PURPOSE)


def share_camera(
    db: Session, settings: Settings, mailbox: Mailbox, server: RtspServer, *, terms: str = "ask"
) -> tuple[SharedCamera, str]:
    """An owner shares 'shop' through the service (its stream really tested); returns it and the owner's token."""
    _, token = active_owner(db, settings, mailbox)
    site = {"site": "Main Street shop", "latitude": 54.6641, "longitude": -2.7527, "terms": terms}
    data = parse_site({**site, "cameras": [{"label": "shop", "url": server.url("shop")}]}, settings=settings)
    [camera] = share_site(
        db,
        settings=settings,
        token=token,
        data=data,
        probe=lambda url, masked: probe_stream(url, masked=masked, timeout_s=5),
    )
    return camera, token


def officer(db: Session, name: str = "olly", *, trained: bool = True, cases: tuple[str, ...] = ()) -> User:
    return make_user(db, name, trained_for=("registry",) if trained else (), cases=cases)


def refusals(db: Session, action: str) -> list[dict[str, object]]:
    stmt = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == "refused")
    return [json.loads(e.details) for e in db.execute(stmt).scalars()]


def count(db: Session, model: type) -> int:
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.parametrize(
    ("trained", "member", "context", "reason"),
    [
        (False, True, CASE, "no current training record for camera registry"),
        (True, False, CASE, f"you are not a member of case {CASE.case_ref}"),
        (True, True, AuditContext("CUM-2026-404404", PURPOSE), "there is no case CUM-2026-404404"),
    ],
)
def test_an_officer_without_training_or_the_case_cannot_view_and_nothing_is_asked(
    db: Session,
    live_settings: Settings,
    mailbox: Mailbox,
    camera_server: RtspServer,
    trained: bool,
    member: bool,
    context: AuditContext,
    reason: str,
) -> None:
    camera, _ = share_camera(db, live_settings, mailbox, camera_server, terms="emergency")
    officer(db, "sam", cases=(CASE.case_ref,))  # the case exists, with another member
    user = officer(db, trained=trained, cases=(CASE.case_ref,) if member else ())
    mails = count(db, OutboxMessage)
    with pytest.raises(NotPermitted, match=reason):
        request_view(db, settings=live_settings, user=user, context=context, camera_id=camera.id)
    db.rollback()
    assert count(db, SharedView) == 0 and count(db, OutboxMessage) == mails
    assert [reason in str(r["reason"]) for r in refusals(db, "registry.live.view")] == [True]
    with pytest.raises(NotPermitted, match=reason):  # nor see the camera's page
        shared_camera(db, settings=live_settings, user=user, context=context, camera_id=camera.id)
    assert len(refusals(db, "registry.live.camera")) == 1


def test_a_view_is_reached_only_by_its_officer_for_its_case_and_crafted_ids_are_refused(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    camera, _ = share_camera(db, live_settings, mailbox, camera_server, terms="emergency")
    olly = officer(db, cases=(CASE.case_ref, OTHER_CASE.case_ref))
    rita = officer(db, "rita", cases=(CASE.case_ref,))
    view = request_view(db, settings=live_settings, user=olly, context=CASE, camera_id=camera.id).view
    db.commit()
    attempts = [(olly, OTHER_CASE, view.id), (rita, CASE, view.id), (olly, CASE, 999_999), (olly, CASE, 0)]
    for user, context, view_id in attempts:
        with pytest.raises(NotPermitted, match="is not one of your views"):
            officer_view(db, user=user, context=context, view_id=view_id)
        db.rollback()
    with pytest.raises(NotPermitted):
        end_view(db, user=rita, context=CASE, view_id=view.id, reason="closing another officer's view")
    db.rollback()
    assert len(refusals(db, "registry.live.watch")) == 4 and len(refusals(db, "registry.live.close")) == 1
    db.refresh(view)
    assert view.status == "open" and view.ended_at is None  # nothing changed


def test_a_crafted_camera_id_is_refused_and_audited(db: Session, live_settings: Settings) -> None:
    user = officer(db, cases=(CASE.case_ref,))
    with pytest.raises(NotPermitted, match="there is no shared camera 424242"):
        request_view(db, settings=live_settings, user=user, context=CASE, camera_id=424242)
    db.rollback()
    assert count(db, SharedView) == 0 and len(refusals(db, "registry.live.view")) == 1


def test_forged_used_or_expired_approval_tokens_open_nothing(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    camera, _ = share_camera(db, live_settings, mailbox, camera_server)
    user = officer(db, cases=(CASE.case_ref,))
    asked = request_view(db, settings=live_settings, user=user, context=CASE, camera_id=camera.id)
    late = utcnow() + timedelta(minutes=live_settings.registry.live_approval_minutes + 1)
    for token, now in (("A" * 43, None), ("not-a-token", None), (asked.token[:-1] + "x", None), (asked.token, late)):
        with pytest.raises(NotFound):
            answer_view(db, token=token, approve=True, now=now)
        db.rollback()
    db.refresh(asked.view)
    assert asked.view.status == "awaiting" and asked.view.started_at is None
    answer_view(db, token=asked.token, approve=True)
    db.commit()
    with pytest.raises(NotFound, match="already been used"):
        answer_view(db, token=asked.token, approve=False)  # the used link cannot undo or redo anything
    db.rollback()
    db.refresh(asked.view)
    assert asked.view.status == "open"
    assert len(refusals(db, "registry.live.approve")) == 4 and len(refusals(db, "registry.live.refuse")) == 1


def test_an_owner_cannot_pause_or_stop_another_owners_camera(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    camera, _ = share_camera(db, live_settings, mailbox, camera_server)
    _, intruder = active_owner(db, live_settings, mailbox)
    for action in ("pause", "stop"):
        with pytest.raises(NotFound, match="not one of yours"):
            change_sharing(db, token=intruder, camera_id=camera.id, action=action)  # type: ignore[arg-type]
        db.rollback()
    db.refresh(camera)
    assert camera.status == "sharing" and len(refusals(db, "registry.share.stop")) == 1


def test_a_paused_camera_or_one_in_its_off_hours_cannot_be_viewed(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    camera, token = share_camera(db, live_settings, mailbox, camera_server, terms="emergency")
    user = officer(db, cases=(CASE.case_ref,))
    change_sharing(db, token=token, camera_id=camera.id, action="pause")
    with pytest.raises(InvalidInput, match="paused"):
        request_view(db, settings=live_settings, user=user, context=CASE, camera_id=camera.id)
    change_sharing(db, token=token, camera_id=camera.id, action="resume")
    local = utcnow().astimezone(live_settings.zone)
    camera.off_from = (local - timedelta(hours=1)).strftime("%H:%M")
    camera.off_until = (local + timedelta(hours=1)).strftime("%H:%M")
    with pytest.raises(VigilError, match="does not share this camera between"):
        request_view(db, settings=live_settings, user=user, context=CASE, camera_id=camera.id)
    assert count(db, SharedView) == 0


def test_a_recording_of_a_view_comes_only_as_a_footage_request_for_its_period(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    camera, _ = share_camera(db, live_settings, mailbox, camera_server, terms="emergency")
    olly = make_user(db, "olly", trained_for=("registry", "requests"), cases=(CASE.case_ref,))
    rita = officer(db, "rita", cases=(CASE.case_ref,))  # registry training only
    view = request_view(db, settings=live_settings, user=olly, context=CASE, camera_id=camera.id).view
    closed = end_view(db, user=olly, context=CASE, view_id=view.id, reason="the officer closed the view")
    with pytest.raises(NotPermitted):
        request_recording(db, settings=live_settings, user=rita, context=CASE, view_id=view.id)
    db.rollback()
    assert count(db, FootageRequest) == 0
    sent = request_recording(db, settings=live_settings, user=olly, context=CASE, view_id=view.id)
    assert sent.request.owner_id == camera.owner_id and sent.request.case.reference == CASE.case_ref
    assert sent.request.window_start == closed.started_at
    assert closed.ended_at is not None and sent.request.window_end >= closed.ended_at
    assert "live view of your camera 'shop'" in sent.request.message


def test_an_officer_cannot_flood_an_owner_with_requests_for_one_camera(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    camera, _ = share_camera(db, live_settings, mailbox, camera_server)
    user = officer(db, cases=(CASE.case_ref,))
    request_view(db, settings=live_settings, user=user, context=CASE, camera_id=camera.id)
    mails = count(db, OutboxMessage)
    with pytest.raises(InvalidInput, match="already have a view of this camera"):
        request_view(db, settings=live_settings, user=user, context=CASE, camera_id=camera.id)
    assert count(db, SharedView) == 1 and count(db, OutboxMessage) == mails
