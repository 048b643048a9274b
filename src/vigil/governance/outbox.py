"""The mail outbox: emails are written as rows in the transaction that decides to send them and delivered after
it commits, never inside an open write transaction (an SMTP server may take its full timeout to answer).

Each message has a visible state: ``queued`` (not yet delivered; ``last_error`` says why a try failed and
``next_attempt_at`` when the next one is), ``sent``, or ``failed`` (given up after ``MAX_ATTEMPTS``). A delivery
pass reads the due messages, ends its read, and then for each message talks to the SMTP server with no
transaction open and records the outcome in a short transaction of its own; a message is first claimed (so two
concurrent passes never send it twice). When the server cannot be reached,
the pass stops at the first failure (the rest stay queued), so a pass costs at most one timeout.

A sent message's body is blanked: it may hold a secret link, whose token is otherwise kept only as a hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.outbox_models import OutboxMessage
from vigil.governance.mail import Email, MailNotSent, send
from vigil.settings import MailSettings

QUEUED, SENT, FAILED = "queued", "sent", "failed"
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=2)
CLAIM_FOR = timedelta(minutes=10)  # longer than any SMTP timeout (mail.timeout_s is at most 300 s)


def enqueue(
    db: Session,
    *,
    email: Email,
    subject_type: str = "",
    subject_id: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Queue an email in the caller's transaction; it is delivered after the caller commits."""
    now = now or utcnow()
    message = OutboxMessage(
        recipient=email.to,
        subject=email.subject,
        body=email.body,
        status=QUEUED,
        attempts=0,
        subject_type=subject_type,
        subject_id=subject_id,
        created_at=now,
        next_attempt_at=now,
    )
    db.add(message)
    db.flush()
    return message


@dataclass(frozen=True)
class Delivery:
    sent: int
    queued: int  # still waiting (a try failed, or the pass stopped at an unreachable server)
    failed: int  # given up
    error: str  # the last failure's reason, "" when none

    @property
    def all_sent(self) -> bool:
        return self.queued == 0 and self.failed == 0


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after each failed try, at most two hours."""
    wait: timedelta = FIRST_RETRY * (2 ** max(0, attempts - 1))
    return min(wait, LONGEST_WAIT)


def deliver(
    db: Session,
    *,
    mail: MailSettings,
    sender_name: str,
    ids: Sequence[int] | None = None,
    due_only: bool = True,
    now: datetime | None = None,
) -> Delivery:
    """Send queued messages (those given by ``ids``, or every due one), committing each outcome on its own.

    Call it only after the work that queued the messages has committed (it commits the session).
    """
    now = now or utcnow()
    stmt = select(OutboxMessage).where(OutboxMessage.status == QUEUED).order_by(OutboxMessage.id)
    if ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(list(ids)))
    if due_only:
        stmt = stmt.where(OutboxMessage.next_attempt_at <= now)
    batch = [(m.id, m.next_attempt_at, Email(m.recipient, m.subject, m.body)) for m in db.execute(stmt).scalars()]
    db.commit()  # end the read before talking to the SMTP server
    sent = 0
    for index, (message_id, seen, email) in enumerate(batch):
        if not _claim(db, message_id=message_id, seen=seen, now=now):
            continue  # another delivery pass (the web app's loop, a request, the CLI) is sending it
        try:
            send(mail, email, sender_name=sender_name)
        except MailNotSent as exc:
            gave_up = _record_failure(db, message_id=message_id, reason=exc.message, now=now)
            db.commit()
            untried = len(batch) - index - 1
            return Delivery(sent=sent, queued=untried + (0 if gave_up else 1), failed=int(gave_up), error=exc.message)
        _record_sent(db, message_id=message_id, now=now)
        db.commit()
        sent += 1
    return Delivery(sent=sent, queued=0, failed=0, error="")


def _claim(db: Session, *, message_id: int, seen: datetime, now: datetime) -> bool:
    """Take a message for this pass (a short transaction): it moves its next attempt past the SMTP timeout, so a
    concurrent pass that read the same row finds it changed and leaves it alone; no email is sent twice."""
    claimed = db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at == seen)
        .values(next_attempt_at=now + CLAIM_FOR)
    )
    db.commit()
    return bool(getattr(claimed, "rowcount", 0) == 1)


def _record_sent(db: Session, *, message_id: int, now: datetime) -> None:
    message = db.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.sent_at, message.body, message.last_error = SENT, now, "", None
        message.attempts += 1
        db.flush()


def _record_failure(db: Session, *, message_id: int, reason: str, now: datetime) -> bool:
    """Keep the reason and when to try again; give up after the last try (returns whether it gave up)."""
    message = db.get(OutboxMessage, message_id)
    if message is None:
        return False
    message.attempts += 1
    message.last_error = reason
    if message.attempts >= MAX_ATTEMPTS:
        message.status, message.body = FAILED, ""
        db.flush()
        return True
    message.next_attempt_at = now + retry_delay(message.attempts)
    db.flush()
    return False


def messages_about(db: Session, *, subject_type: str, subject_ids: Sequence[int]) -> dict[int, OutboxMessage]:
    """The latest message about each subject (e.g. each footage request), for showing its mail state."""
    if not subject_ids:
        return {}
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.subject_type == subject_type, OutboxMessage.subject_id.in_(list(subject_ids)))
        .order_by(OutboxMessage.id)
    )
    return {m.subject_id: m for m in db.execute(stmt).scalars() if m.subject_id is not None}


def withdraw(db: Session, *, subject_type: str, subject_ids: Sequence[int], reason: str) -> int:
    """Stop queued messages about these subjects (e.g. a deleted registration) and blank their personal data."""
    if not subject_ids:
        return 0
    stmt = select(OutboxMessage).where(
        OutboxMessage.status == QUEUED,
        OutboxMessage.subject_type == subject_type,
        OutboxMessage.subject_id.in_(list(subject_ids)),
    )
    messages = list(db.execute(stmt).scalars())
    for message in messages:
        message.status, message.last_error, message.body, message.recipient = FAILED, reason, "", ""
    db.flush()
    return len(messages)
