"""Per-request database session: commits when the route succeeds, rolls back when it raises.

Services may commit on their own (audited refusals and failed logins must survive the rollback).
A page's work is committed just before its template renders (``commit_before_rendering``), so no lock is held
while templating. The session is closed before the response is sent (scope="function"), so a redirect never
races its own commit.

Requests queue for the database instead of failing: a request takes one of ``settings.web.db_slots``
slots (waiting without holding a worker thread) before it opens its session, and the connection pool holds a
connection for every slot, so no request ever waits for a connection while holding a thread. The commit (or
rollback) at the end runs on a thread of its own (a limiter with one token per slot), never queued behind other
requests' page work: a request holding SQLite's write lock releases it as soon as its route returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vigil.system import Services
from vigil.web.state import web_state

UNIT_OF_WORK = "vigil.db"  # the request's session, in the ASGI scope while the request holds it


async def get_db(request: Request) -> AsyncIterator[Session]:
    state = web_state(request)
    async with state.db_slots:
        db = state.system.sessions()
        request.scope[UNIT_OF_WORK] = db
        try:
            yield db
        except BaseException:
            request.scope.pop(UNIT_OF_WORK, None)
            with anyio.CancelScope(shield=True):  # a client hanging up must not leave the transaction open
                await anyio.to_thread.run_sync(_roll_back, db, limiter=state.db_finish)
            raise
        request.scope.pop(UNIT_OF_WORK, None)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_commit, db, limiter=state.db_finish)


def commit_before_rendering(request: Request) -> None:
    """Commit the request's work when its page is about to be rendered (called by ``render``).

    The route's work is done by then; committing first means SQLite's write lock (or PostgreSQL's row locks) is
    not held while the template renders. Reads a template makes afterwards run in a new, read-only transaction.
    """
    db = request.scope.get(UNIT_OF_WORK)
    if isinstance(db, Session) and db.in_transaction():
        db.commit()


def _commit(db: Session) -> None:
    try:
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


def _roll_back(db: Session) -> None:
    try:
        db.rollback()
    finally:
        db.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_services(request: Request) -> Services:
    """The system's long-lived models, index and registries (each built on first use, closed with the app)."""
    return web_state(request).system.services


AppServices = Annotated[Services, Depends(get_services)]
