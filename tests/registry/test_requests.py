from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.registry.builders import active_owner, deliver_mail
from tests.registry.smtp import Mailbox, body_of, links_in
from tests.support.builders import make_user
from tests.support.registry_requests import CONTEXT, officer, send_one
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.db.registry_models import FootageRequest
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.registry.links import token_hash
from vigil.registry.owners import delete_registration
from vigil.registry.requests import (
    DECLINED,
    EXPIRED,
    OPENED,
    REVOKED,
    SENT,
    LinkNotUsable,
    case_requests,
    decline_request,
    open_request,
    remind_and_expire,
    request_for_token,
    revoke_request,
    send_requests,
)
from vigil.settings import Settings

CASES = (CONTEXT.case_ref, "CUM-2026-999999", "CUM-2026-000999")  # the officers are members of each


def test_a_request_emails_a_secure_link_whose_token_is_stored_only_as_a_hash(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    request = sent.request
    assert request.status == SENT and request.case.reference == CONTEXT.case_ref
    assert len(sent.token) == 43  # 32 random bytes, URL-safe base64
    assert request.token_hash == token_hash(sent.token)
    row = db.execute(select(FootageRequest).where(FootageRequest.id == request.id)).scalar_one()
    assert sent.token not in json.dumps([str(getattr(row, c.key)) for c in FootageRequest.__table__.columns])
    email = mailbox.wait_for(request.owner.email, 3)[2]
    assert CONTEXT.case_ref in email["Subject"]
    assert links_in(email) == [f"https://vigil.example.org/upload#{sent.token}"]
    assert "front door camera" in body_of(email)
    assert request.expires_at - request.created_at == timedelta(days=14)


def test_opening_the_link_marks_the_request_opened_once(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    assert open_request(db, token=sent.token).status == OPENED
    opened_at = sent.request.opened_at
    assert open_request(db, token=sent.token).opened_at == opened_at


@pytest.mark.parametrize(
    "forged",
    ["", "not-a-token", "A" * 43, "../../../etc/passwd", "%00" * 20],
)
def test_forged_tokens_are_refused(db: Session, settings: Settings, mailbox: Mailbox, forged: str) -> None:
    send_one(db, settings, mailbox, officer(db))
    with pytest.raises(NotFound, match="not valid"):
        request_for_token(db, forged, now=utcnow())


def test_an_expired_link_is_refused_and_expiry_housekeeping_marks_it(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    later = sent.request.expires_at + timedelta(seconds=1)
    with pytest.raises(LinkNotUsable, match="expired"):
        request_for_token(db, sent.token, now=later)
    assert remind_and_expire(db, settings=settings, now=later).expired >= 1
    assert sent.request.status == EXPIRED


def test_a_revoked_link_is_refused(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    user = officer(db)
    sent = send_one(db, settings, mailbox, user)
    revoke_request(db, user=user, context=CONTEXT, request_id=sent.request.id)
    assert sent.request.status == REVOKED
    with pytest.raises(LinkNotUsable, match="withdrawn"):
        open_request(db, token=sent.token)


def test_a_request_can_be_revoked_only_from_its_own_case(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    user = officer(db)
    sent = send_one(db, settings, mailbox, user)
    other = AuditContext("CUM-2026-999999", "a different investigation altogether, not this one")
    with pytest.raises(NotFound, match="has no footage request"):
        revoke_request(db, user=user, context=other, request_id=sent.request.id)


def test_deleting_the_registration_revokes_its_open_requests(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    owner, manage = active_owner(db, settings, mailbox)
    now = utcnow()
    [sent] = send_requests(
        db,
        settings=settings,
        user=officer(db),
        context=CONTEXT,
        owner_ids=[owner.id],
        window_start=now - timedelta(hours=3),
        window_end=now - timedelta(hours=2),
        message="",
    )
    delete_registration(db, token=manage)
    with pytest.raises(LinkNotUsable, match="withdrawn"):
        open_request(db, token=sent.token)


def test_declining_closes_the_link_for_uploads(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    assert decline_request(db, token=sent.token).status == DECLINED
    with pytest.raises(LinkNotUsable, match="no footage"):
        request_for_token(db, sent.token, now=utcnow(), for_upload=True)


def test_one_reminder_carries_a_fresh_link_and_the_old_one_stops_working(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    email = sent.request.owner.email
    later = sent.request.created_at + timedelta(days=settings.registry.remind_after_days, minutes=1)
    assert remind_and_expire(db, settings=settings, now=later).reminded >= 1
    deliver_mail(db, settings)
    reminder = mailbox.wait_for(email, 4)[3]
    assert "A reminder" in body_of(reminder)
    fresh = links_in(reminder)[0].rsplit("#", 1)[1]
    assert request_for_token(db, fresh, now=later).id == sent.request.id
    with pytest.raises(NotFound):
        request_for_token(db, sent.token, now=later)
    remind_and_expire(db, settings=settings, now=later + timedelta(days=1))
    deliver_mail(db, settings)
    assert len(mailbox.to(email)) == 4  # only one reminder


@pytest.mark.parametrize(
    ("owners", "start_h_ago", "end_h_ago", "text", "message"),
    [
        (False, 48, 47, "", "at least one"),
        (True, 47, 48, "", "after its start"),
        (True, 24 * 10, 1, "", "at most 7 days"),
        (True, -1, -2, "", "in the future"),
        (True, 48, 47, "x" * 2001, "2000 characters"),
    ],
)
def test_bad_requests_are_refused(
    db: Session,
    settings: Settings,
    mailbox: Mailbox,
    owners: bool,
    start_h_ago: float,
    end_h_ago: float,
    text: str,
    message: str,
) -> None:
    owner, _ = active_owner(db, settings, mailbox)
    now = utcnow()
    with pytest.raises(InvalidInput, match=message):
        send_requests(
            db,
            settings=settings,
            user=officer(db),
            context=CONTEXT,
            owner_ids=[owner.id] if owners else [],
            window_start=now - timedelta(hours=start_h_ago),
            window_end=now - timedelta(hours=end_h_ago),
            message=text,
        )


def test_sending_needs_the_requests_capability(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    owner, _ = active_owner(db, settings, mailbox)
    registry_only = make_user(
        db, "rita", trained_for=("registry",), cases=(CONTEXT.case_ref, "CUM-2026-999999", "CUM-2026-000999")
    )
    now = utcnow()
    with pytest.raises(NotPermitted, match="requests"):
        send_requests(
            db,
            settings=settings,
            user=registry_only,
            context=CONTEXT,
            owner_ids=[owner.id],
            window_start=now - timedelta(hours=2),
            window_end=now - timedelta(hours=1),
            message="",
        )
    refusal = db.execute(select(AuditEntry).where(AuditEntry.actor == "rita")).scalars().one()
    assert (refusal.action, refusal.outcome, refusal.case_ref) == ("requests.send", "refused", CONTEXT.case_ref)


def test_the_case_lists_its_requests_with_their_status(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    user = officer(db)
    first = send_one(db, settings, mailbox, user)
    second = send_one(db, settings, mailbox, user)
    decline_request(db, token=second.token)
    listed = case_requests(db, user=user, context=CONTEXT)
    assert [(r.id, r.status) for r in listed] == [(first.request.id, SENT), (second.request.id, DECLINED)]


def test_a_non_member_sees_no_request_and_no_owner_email(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    """F6: bob has the requests capability but is not a member of the case: refused, audited, nothing returned."""
    sent = send_one(db, settings, mailbox, officer(db))
    bob = make_user(db, "bob", trained_for=("registry", "requests"), cases=("CUM-2026-000555",))
    with pytest.raises(NotPermitted, match=f"not a member of case {CONTEXT.case_ref}") as refused:
        case_requests(db, user=bob, context=CONTEXT)
    assert sent.request.owner.email not in str(refused.value)
    with pytest.raises(NotPermitted, match="not a member"):
        revoke_request(db, user=bob, context=CONTEXT, request_id=sent.request.id)
    assert sent.request.status == SENT  # the refused revocation took no effect
    refusals = db.execute(select(AuditEntry).where(AuditEntry.actor == "bob")).scalars().all()
    assert [(e.action, e.outcome, e.case_ref) for e in refusals] == [
        ("requests.list", "refused", CONTEXT.case_ref),
        ("requests.revoke", "refused", CONTEXT.case_ref),
    ]
