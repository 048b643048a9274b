"""Per-request database session: commits when the route succeeds, rolls back when it raises.

Services may commit on their own (audited refusals and failed logins must survive the rollback).
The session is closed before the response is sent (scope="function"), so a redirect never races
its own commit.

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

from vigil.web.state import web_state


async def get_db(request: Request) -> AsyncIterator[Session]:
    state = web_state(request)
    async with state.db_slots:
        db = state.system.sessions()
        try:
            yield db
        except BaseException:
            with anyio.CancelScope(shield=True):  # a client hanging up must not leave the transaction open
                await anyio.to_thread.run_sync(_roll_back, db, limiter=state.db_finish)
            raise
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_commit, db, limiter=state.db_finish)


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
