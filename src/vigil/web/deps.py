"""Per-request database session: commits when the route succeeds, rolls back when it raises.

Services may commit on their own (audited refusals and failed logins must survive the rollback).
The session is closed before the response is sent (scope="function"), so a redirect never races
its own commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vigil.db.session import session_scope
from vigil.web.state import web_state


def get_db(request: Request) -> Iterator[Session]:
    with session_scope(web_state(request).system.sessions) as db:
        yield db


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
