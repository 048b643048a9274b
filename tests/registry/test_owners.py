from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.registry.builders import active_owner, camera, deliver_mail, registration_data, unique_email
from tests.registry.smtp import Mailbox, links_in
from tests.support.webapp import free_port
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.db.outbox_models import OutboxMessage
from vigil.db.registry_models import RegisteredCamera, RegistryOwner
from vigil.errors import InvalidInput, NotFound
from vigil.governance.outbox import FAILED, MAX_ATTEMPTS, QUEUED, SENT, _claim, deliver
from vigil.registry.links import token_hash
from vigil.registry.owners import (
    ACTIVE,
    DELETED,
    PENDING,
    by_manage_token,
    delete_registration,
    parse_registration,
    purge_unverified,
    register,
    update_registration,
    verify,
)
from vigil.settings import Settings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Name: String should have at least 2 characters"),
        ({"email": "not-an-address"}, "Email: enter an email address such as name@example.org"),
        ({"email": "a@b"}, "Email: enter an email address"),
        ({"phone": "call me"}, "Phone: a phone number may hold only digits"),
        ({"postcode": "CA11;DROP"}, "Postcode: a postcode holds only letters, digits and spaces"),
        ({"consent": False}, "Consent: you must agree to the consent text to register"),
        ({"consent_version": "1999-1"}, "Consent: the consent text has changed"),
        ({"kind": "council"}, "Registering as: Input should be 'resident' or 'business'"),
        ({"cameras": []}, "Cameras: List should have at least 1 item"),
        ({"cameras": [camera(lat=91.0)]}, "Camera 1 latitude: Input should be less than or equal to 90"),
        ({"cameras": [camera(), camera(lon=-181.0)]}, "Camera 2 longitude: Input should be greater than or equal"),
        ({"cameras": [camera(facing=360.0)]}, "Camera 1 facing direction: Input should be less than 360"),
        ({"cameras": [camera(days=0)]}, "Camera 1 days kept: Input should be greater than or equal to 1"),
        ({"cameras": [camera(kind="drone")]}, "Camera 1 kind: Input should be 'doorbell', 'cctv' or 'dashcam'"),
        ({"cameras": [{**camera(), "latitude": "north"}]}, "Camera 1 latitude: Input should be a valid number"),
        ({"website": "spam"}, "website: is not a field of this form"),
        ({"address": "1 Main\x00St"}, "Address: contains control characters"),
    ],
)
def test_registration_validation_names_the_bad_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_registration(registration_data(**overrides))
    assert message in caught.value.message


def test_a_valid_registration_parses_with_the_postcode_upper_cased() -> None:
    data = parse_registration(registration_data(postcode="ca11 7bx"))
    assert data.postcode == "CA11 7BX"
    assert data.cameras[0].retention_days == 30


def test_registration_stays_pending_until_the_emailed_link_is_opened(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    data = parse_registration(registration_data())
    registered = register(db, settings=settings, data=data)
    deliver_mail(db, settings)
    owner = registered.owner
    assert owner.status == PENDING
    assert owner.verify_token_hash == token_hash(registered.token)
    assert registered.token not in json.dumps([owner.verify_token_hash, owner.manage_token_hash])
    assert "Penrith" not in owner.consent_text and settings.force_name in owner.consent_text
    email = mailbox.wait_for(data.email)[0]
    assert email["Subject"] == "Confirm your camera registration"
    link = links_in(email)[0]
    assert link == f"https://vigil.example.org/register/verify#{registered.token}"

    activated = verify(db, settings=settings, token=registered.token)
    deliver_mail(db, settings)
    assert activated.owner.status == ACTIVE and activated.owner.verify_token_hash is None
    manage_email = mailbox.wait_for(data.email, 2)[1]
    assert links_in(manage_email)[0] == f"https://vigil.example.org/register/manage#{activated.token}"
    assert by_manage_token(db, activated.token).id == owner.id
    with pytest.raises(NotFound, match="already been used"):
        verify(db, settings=settings, token=registered.token)


def test_an_expired_confirmation_link_is_refused_and_purged(db: Session, settings: Settings) -> None:
    data = parse_registration(registration_data())
    registered = register(db, settings=settings, data=data)
    later = utcnow() + timedelta(hours=settings.registry.verify_hours + 1)
    with pytest.raises(InvalidInput, match="expired"):
        verify(db, settings=settings, token=registered.token, now=later)
    assert purge_unverified(db, now=later) >= 1
    assert db.get(RegistryOwner, registered.owner.id) is None


@pytest.mark.parametrize("token", ["", "x" * 43, "../../etc/passwd", "A" * 500])
def test_forged_confirmation_and_self_service_links_are_refused(db: Session, settings: Settings, token: str) -> None:
    with pytest.raises(NotFound):
        verify(db, settings=settings, token=token)
    with pytest.raises(NotFound):
        by_manage_token(db, token)


def test_an_unreachable_mail_server_leaves_the_email_queued_with_the_reason_and_a_retry_delivers_it(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    closed = settings.model_copy(update={"mail": settings.mail.model_copy(update={"port": free_port()})})
    data = parse_registration(registration_data())
    registered = register(db, settings=closed, data=data)
    db.commit()
    down = deliver(db, mail=closed.mail, sender_name=closed.force_name, ids=[registered.message_id], due_only=False)
    assert (down.sent, down.queued, down.all_sent) == (0, 1, False) and "could not be sent" in down.error
    message = db.get(OutboxMessage, registered.message_id)
    assert message is not None and message.status == QUEUED and message.attempts == 1
    assert message.last_error is not None and "could not be sent" in message.last_error
    assert message.next_attempt_at > utcnow()  # retried later, not hammered
    assert deliver(db, mail=settings.mail, sender_name=settings.force_name).sent == 0  # not due yet
    later = utcnow() + timedelta(minutes=2)
    up = deliver(db, mail=settings.mail, sender_name=settings.force_name, now=later)
    assert up.sent >= 1 and up.all_sent
    db.refresh(message)
    assert message.status == SENT and message.body == ""  # the link (a secret) is not kept once sent
    assert links_in(mailbox.wait_for(data.email)[0])[0].endswith("#" + registered.token)


def test_an_email_that_never_gets_through_is_marked_failed_after_the_last_try(db: Session, settings: Settings) -> None:
    closed = settings.model_copy(update={"mail": settings.mail.model_copy(update={"port": free_port()})})
    registered = register(db, settings=closed, data=parse_registration(registration_data()))
    db.commit()
    for _ in range(MAX_ATTEMPTS):
        result = deliver(db, mail=closed.mail, sender_name="x", ids=[registered.message_id], due_only=False)
    assert (result.failed, result.queued) == (1, 0)
    message = db.get(OutboxMessage, registered.message_id)
    assert message is not None and message.status == FAILED and message.body == ""


def test_the_owner_updates_their_cameras_with_the_self_service_link(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    owner, manage = active_owner(db, settings, mailbox)
    new = registration_data(email=owner.email, cameras=[camera(facing=None, kind="doorbell"), camera(days=7)])
    update_registration(db, token=manage, data=parse_registration(new))
    db.refresh(owner)
    assert [(c.kind, c.facing_deg, c.retention_days) for c in owner.cameras] == [
        ("doorbell", None, 30),
        ("cctv", 90.0, 7),
    ]


def test_deleting_a_registration_erases_its_personal_data(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    email = unique_email("erase")
    owner, manage = active_owner(db, settings, mailbox, name="Erin Erasable", email=email, phone="01768 123456")
    owner_id = owner.id
    delete_registration(db, token=manage)
    db.expire_all()
    row = db.get(RegistryOwner, owner_id)
    assert row is not None and row.status == DELETED
    assert (row.name, row.address, row.postcode, row.email, row.phone) == ("", "", "", "", "")
    assert row.manage_token_hash is None
    cameras = db.execute(select(RegisteredCamera).where(RegisteredCamera.owner_id == owner_id)).scalars().all()
    assert cameras == []
    entries = db.execute(select(AuditEntry).where(AuditEntry.subject_id == str(owner_id))).scalars().all()
    assert {e.action for e in entries} >= {"registry.register", "registry.verify", "registry.delete"}
    for entry in entries:
        text = json.dumps([entry.details, entry.purpose, entry.subject_id])
        assert "Erin" not in text and email not in text and "123456" not in text
    with pytest.raises(NotFound):
        by_manage_token(db, manage)


def test_two_delivery_passes_that_read_the_same_message_send_it_once(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    data = parse_registration(registration_data())
    registered = register(db, settings=settings, data=data)
    db.commit()
    message = db.get(OutboxMessage, registered.message_id)
    assert message is not None
    seen, now = message.next_attempt_at, utcnow()
    db.commit()
    assert _claim(db, message_id=message.id, seen=seen, now=now) is True  # the first pass takes it
    assert _claim(db, message_id=message.id, seen=seen, now=now) is False  # the second finds it taken
    assert deliver(db, mail=settings.mail, sender_name="x", due_only=True).sent == 0  # claimed: not due for a while
    assert deliver(db, mail=settings.mail, sender_name="x", ids=[message.id], due_only=False).sent == 1
    assert len(mailbox.wait_for(data.email)) == 1
