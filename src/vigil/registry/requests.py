"""Footage requests: an officer asks registered owners for footage of a case by email with a secure upload link.

The link's token (256 random bits) is stored only as its SHA-256 and is bound to one request, hence one owner
and one case. It expires (``settings.registry.link_days``), can be revoked, and stops accepting files once the
owner presses "finished" or declines. A reminder replaces the token (the stored hash is all we keep, so a
reminder carries a fresh link and the earlier one stops working).

Emails go through the mail outbox (vigil.governance.outbox): this module only queues them, in the caller's
transaction; the edge delivers them after it commits, and the requests page shows each one's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.analysis.review import latest_jobs
from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.db.outbox_models import OutboxMessage
from vigil.db.registry_models import FootageRequest, RegistryOwner
from vigil.errors import InvalidInput, NotFound, VigilError
from vigil.governance import audit
from vigil.governance.access import authorise, ensure_case
from vigil.governance.audit import PUBLIC_ACTOR, SYSTEM_ACTOR, AuditContext
from vigil.governance.mail import Email
from vigil.governance.outbox import enqueue, messages_about
from vigil.governance.roles import Capability
from vigil.registry.links import link, link_base, new_token, token_hash, well_formed
from vigil.registry.owners import ACTIVE
from vigil.settings import Settings

SENT, OPENED, UPLOADED, DECLINED, EXPIRED, REVOKED, FAILED = (
    "sent",
    "opened",
    "uploaded",
    "declined",
    "expired",
    "revoked",
    "failed",
)
MAX_OWNERS_PER_SEND = 50
MAX_WINDOW = timedelta(days=7)
MAX_MESSAGE_CHARS = 2000
INVALID_LINK = "This link is not valid. Check that you opened the whole link from the email."


class LinkNotUsable(VigilError):
    """An upload link that exists but can no longer be used (expired, withdrawn, finished or declined)."""

    status_code = 403


MAIL_SUBJECT = "footage_request"  # the outbox messages' subject type


@dataclass(frozen=True)
class Sent:
    request: FootageRequest
    token: str  # the secret of the emailed link; not stored anywhere (but in the queued email until it is sent)
    message_id: int  # the queued email (vigil.governance.outbox)


def _check_request_input(owner_ids: list[int], start: datetime, end: datetime, message: str, now: datetime) -> None:
    if not owner_ids:
        raise InvalidInput("choose at least one registered camera owner to ask")
    if len(owner_ids) > MAX_OWNERS_PER_SEND:
        raise InvalidInput(f"ask at most {MAX_OWNERS_PER_SEND} owners at once")
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("give the time window with its zone")
    if end <= start:
        raise InvalidInput("the end of the time window must be after its start")
    if end - start > MAX_WINDOW:
        raise InvalidInput("the time window may be at most 7 days long")
    if start > now:
        raise InvalidInput("the time window starts in the future")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"the message is limited to {MAX_MESSAGE_CHARS} characters")


def _active_owners(db: Session, owner_ids: list[int]) -> list[RegistryOwner]:
    """The registrations asked for, or a clear error naming those that are not active (deleted or unconfirmed)."""
    owners = list(db.execute(select(RegistryOwner).where(RegistryOwner.id.in_(owner_ids))).scalars())
    inactive = sorted(set(owner_ids) - {o.id for o in owners if o.status == ACTIVE})
    if inactive:
        raise InvalidInput(f"registration(s) {', '.join(map(str, inactive))} are not active (deleted or unconfirmed)")
    return owners


def send_requests(
    db: Session,
    *,
    settings: Settings,
    user: User,
    context: AuditContext,
    owner_ids: list[int],
    window_start: datetime,
    window_end: datetime,
    message: str,
    now: datetime | None = None,
) -> list[Sent]:
    """Create one request per owner for the context's case and queue each its upload link's email.

    The emails are sent after the caller commits (vigil.governance.outbox.deliver); their state is shown per
    request on the requests page.
    """
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REQUESTS, action="requests.send", context=context, now=now)
    message = message.strip()
    owner_ids = sorted(set(owner_ids))
    _check_request_input(owner_ids, window_start, window_end, message, now)
    owners = _active_owners(db, owner_ids)
    case = ensure_case(db, reference=context.case_ref, user=user)
    sent = []
    for owner in owners:
        token = new_token()
        request = FootageRequest(
            case_id=case.id,
            owner_id=owner.id,
            created_by_id=user.id,
            status=SENT,
            token_hash=token_hash(token),
            window_start=window_start,
            window_end=window_end,
            message=message,
            created_at=now,
            expires_at=now + timedelta(days=settings.registry.link_days),
        )
        db.add(request)
        db.flush()
        email = _link_email(settings, request, owner, token, reminder=False)
        queued = enqueue(db, email=email, subject_type=MAIL_SUBJECT, subject_id=request.id, now=now)
        sent.append(Sent(request, token, queued.id))
    audit.record(
        db,
        actor=user.username,
        action="requests.send",
        capability=Capability.REQUESTS.value,
        context=context,
        subject_type="case",
        subject_id=case.reference,
        details={
            "requests": [s.request.id for s in sent],
            "registrations": owner_ids,
            "emails_queued": [s.message_id for s in sent],
        },
        now=now,
    )
    return sent


def _link_email(
    settings: Settings, request: FootageRequest, owner: RegistryOwner, token: str, *, reminder: bool
) -> Email:
    """The email carrying a request's link (the token travels after ``#``, so it never reaches an access log)."""
    zone = settings.zone
    start = request.window_start.astimezone(zone).strftime("%A %d %B %Y %H:%M")
    end = request.window_end.astimezone(zone).strftime("%A %d %B %Y %H:%M")
    url = link(link_base(settings), f"/upload#{token}")
    intro = "A reminder: we" if reminder else "We"
    body = (
        f"Dear {owner.name},\n\n{intro} are investigating an incident (reference {request.case.reference}) and "
        f"your registered camera may have recorded something that helps.\n\n"
        f"Time asked for: {start} to {end} ({settings.timezone}).\n\n"
        + (f"Message from the officer:\n{request.message}\n\n" if request.message else "")
        + f"If you can, please upload the recordings with this secure link (it works until "
        f"{request.expires_at.astimezone(zone):%d %B %Y}):\n\n{url}\n\n"
        "The same page lets you tell us you have no footage. Do not forward this email: the link is for you.\n"
        + ("This link replaces the one in our earlier email.\n" if reminder else "")
    )
    subject = f"{settings.force_name}: request for camera footage ({request.case.reference})"
    return Email(owner.email, subject, body)


def request_for_token(db: Session, token: str, *, now: datetime, for_upload: bool = False) -> FootageRequest:
    """The request a link's token belongs to, refusing links that are forged, withdrawn, expired or closed."""
    request = None
    if well_formed(token):
        stmt = select(FootageRequest).where(FootageRequest.token_hash == token_hash(token))
        request = db.execute(stmt.options(selectinload(FootageRequest.case))).scalar_one_or_none()
    if request is None or request.status == FAILED:
        raise NotFound(INVALID_LINK)
    if request.revoked_at is not None:
        raise LinkNotUsable("This link has been withdrawn by the police. Nothing more is needed from you.")
    if request.expires_at <= now or request.status == EXPIRED:
        raise LinkNotUsable(
            f"This link expired on {request.expires_at:%d %B %Y}. If you still have footage, contact the police "
            f"quoting reference {request.case.reference}."
        )
    if for_upload and request.finished_at is not None:
        raise LinkNotUsable("You have told us you finished uploading for this request, so it takes no more files.")
    if for_upload and request.declined_at is not None:
        raise LinkNotUsable("You told us you have no footage for this request, so it takes no files.")
    return request


def open_request(db: Session, *, token: str, now: datetime | None = None) -> FootageRequest:
    """The request for its owner's upload page; the first opening is recorded (status ``opened``)."""
    now = now or utcnow()
    request = request_for_token(db, token, now=now)
    if request.opened_at is None:
        request.opened_at = now
        if request.status == SENT:
            request.status = OPENED
        audit.record(
            db, actor=PUBLIC_ACTOR, action="requests.open", subject_type="footage_request", subject_id=request.id
        )
        db.flush()
    return request


def decline_request(db: Session, *, token: str, now: datetime | None = None) -> FootageRequest:
    now = now or utcnow()
    request = request_for_token(db, token, now=now, for_upload=True)
    if request.first_upload_at is not None:
        raise InvalidInput("you have already sent files for this request: press 'finished' instead")
    request.status, request.declined_at = DECLINED, now
    audit.record(
        db, actor=PUBLIC_ACTOR, action="requests.decline", subject_type="footage_request", subject_id=request.id
    )
    db.flush()
    return request


def finish_request(db: Session, *, token: str, now: datetime | None = None) -> FootageRequest:
    now = now or utcnow()
    request = request_for_token(db, token, now=now, for_upload=True)
    if request.first_upload_at is None:
        raise InvalidInput("no file has been received yet: upload a file, or tell us you have no footage")
    request.finished_at = now
    audit.record(
        db, actor=PUBLIC_ACTOR, action="requests.finish", subject_type="footage_request", subject_id=request.id
    )
    db.flush()
    return request


def case_requests(
    db: Session, *, user: User, context: AuditContext, now: datetime | None = None
) -> list[FootageRequest]:
    """The footage requests of the context's case with their status (requests capability; audited)."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REQUESTS, action="requests.list", context=context, now=now)
    case = ensure_case(db, reference=context.case_ref, user=user)
    stmt = (
        select(FootageRequest)
        .where(FootageRequest.case_id == case.id)
        .options(selectinload(FootageRequest.owner), selectinload(FootageRequest.uploads))
        .order_by(FootageRequest.id)
    )
    requests = list(db.execute(stmt).scalars())
    audit.record(
        db,
        actor=user.username,
        action="requests.list",
        capability=Capability.REQUESTS.value,
        context=context,
        subject_type="case",
        subject_id=case.reference,
        details={"requests": len(requests)},
        now=now,
    )
    return requests


def analysis_status(db: Session, requests: list[FootageRequest]) -> dict[int, str]:
    """The status of the latest analysis job of each stored upload's footage (by footage id)."""
    footage_ids = [u.footage_id for r in requests for u in r.uploads if u.footage_id is not None]
    return {footage_id: job.status for footage_id, job in latest_jobs(db, footage_ids).items()}


def request_mail(db: Session, requests: list[FootageRequest]) -> dict[int, OutboxMessage]:
    """The latest email of each request (its link or reminder) with its delivery state, by request id."""
    return messages_about(db, subject_type=MAIL_SUBJECT, subject_ids=[r.id for r in requests])


def revoke_request(
    db: Session, *, user: User, context: AuditContext, request_id: int, now: datetime | None = None
) -> FootageRequest:
    """Withdraw a request's link (only within its own case)."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.REQUESTS, action="requests.revoke", context=context, now=now)
    request = db.get(FootageRequest, request_id)
    if request is None or request.case.reference != context.case_ref:
        raise NotFound(f"case {context.case_ref} has no footage request {request_id}")
    if request.revoked_at is None:
        request.revoked_at, request.status = now, REVOKED
        audit.record(
            db,
            actor=user.username,
            action="requests.revoke",
            capability=Capability.REQUESTS.value,
            context=context,
            subject_type="footage_request",
            subject_id=request.id,
            now=now,
        )
        db.flush()
    return request


@dataclass(frozen=True)
class Housekeeping:
    reminded: int
    expired: int


def remind_and_expire(db: Session, *, settings: Settings, now: datetime | None = None) -> Housekeeping:
    """Expire requests whose link has run out; queue one reminder (with a fresh link) to unanswered ones.

    The fresh link replaces the old one when the reminder is queued (only its hash is kept); the outbox retries
    the reminder until it is delivered.
    """
    now = now or utcnow()
    open_statuses = (SENT, OPENED)
    due = select(FootageRequest).where(FootageRequest.status.in_(open_statuses), FootageRequest.expires_at <= now)
    expired = list(db.execute(due).scalars())
    for request in expired:
        request.status = EXPIRED
    remind_before = now - timedelta(days=settings.registry.remind_after_days)
    stmt = (
        select(FootageRequest)
        .where(
            FootageRequest.status.in_(open_statuses),
            FootageRequest.reminded_at.is_(None),
            FootageRequest.revoked_at.is_(None),
            FootageRequest.created_at <= remind_before,
            FootageRequest.expires_at > now,
        )
        .options(selectinload(FootageRequest.owner), selectinload(FootageRequest.case))
    )
    reminded = 0
    for request in db.execute(stmt).scalars():
        token = new_token()
        email = _link_email(settings, request, request.owner, token, reminder=True)
        enqueue(db, email=email, subject_type=MAIL_SUBJECT, subject_id=request.id, now=now)
        request.token_hash, request.reminded_at = token_hash(token), now
        reminded += 1
    db.flush()
    if expired or reminded:
        audit.record(
            db,
            actor=SYSTEM_ACTOR,
            action="requests.housekeeping",
            details={"expired": [r.id for r in expired], "reminded": reminded},
            now=now,
        )
    return Housekeeping(reminded=reminded, expired=len(expired))
