"""Delivering the mail outbox from the web app: right after a request's work has committed, and every
``settings.mail.retry_seconds`` for what is still queued (an asyncio task of the app's lifespan)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from fastapi import Request
from sqlalchemy.orm import Session

from vigil.governance.outbox import Delivery, deliver
from vigil.registry.housekeeping import send_queued_mail
from vigil.system import System
from vigil.web.auth import flash
from vigil.web.state import web_state

log = logging.getLogger("vigil.mail")


def deliver_now(request: Request, db: Session, ids: Sequence[int]) -> Delivery:
    """Commit the request's work, then try to send the given queued emails (no transaction held while sending)."""
    db.commit()
    settings = web_state(request).system.settings
    return deliver(db, mail=settings.mail, sender_name=settings.force_name, ids=ids, due_only=False)


async def outbox_loop(system: System) -> None:
    """Retry queued emails forever; a failed pass is logged and tried again next time."""
    while True:
        await asyncio.sleep(system.settings.mail.retry_seconds)
        try:
            delivery = await asyncio.to_thread(send_queued_mail, system)
        except Exception:
            log.exception("mail outbox delivery failed")
            continue
        if delivery.error:
            log.warning("mail outbox: %s sent, %s still queued: %s", delivery.sent, delivery.queued, delivery.error)


def queued_notice(delivery: Delivery) -> str:
    """What to tell a person whose emails are not all sent: the true state, and that they will be retried."""
    return (
        f"{delivery.sent} email(s) sent, {delivery.queued} queued: the mail server is unreachable "
        f"({delivery.error}). They will be retried automatically."
        + (f" {delivery.failed} could not be sent at all." if delivery.failed else "")
    )


def flash_delivery(request: Request, delivery: Delivery, *, sent: str, saved: str | None = None) -> None:
    """Tell the person how their emails went: ``sent`` when every one reached the mail server, else ``saved``
    (default ``sent``) with the true state of the queue (a warning, since they will only be retried)."""
    if delivery.all_sent:
        flash(request, sent, "ok")
    else:
        flash(request, f"{saved if saved is not None else sent} {queued_notice(delivery)}".strip(), "warn")
