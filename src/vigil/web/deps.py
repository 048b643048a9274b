"""Per-request database session: commits when the route succeeds, rolls back when it raises.

Services may commit on their own (audited refusals and failed logins must survive the rollback).
The session is closed before the response is sent (scope="function"), so a redirect never races
its own commit.

Requests queue for the database instead of failing: a request takes one of ``settings.web.db_slots``
slots (waiting without holding a worker thread) before it opens its session, and the connection pool holds a
connection for every slot, so no request ever waits for a connection while holding a thread. The worker
threads outnumber the slots, so a request that holds SQLite's write lock always finds a thread to commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vigil.web.state import web_state


async def get_db(request: Request) -> AsyncIterator[Session]:
    state = web_state(request)
    async with state.db_slots:
        db = state.system.sessions()
        try:
            yield db
        except BaseException:
            with anyio.CancelScope(shield=True):  # a client hanging up must not leave the transaction open
                await run_in_threadpool(_roll_back, db)
            raise
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_commit, db)


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
