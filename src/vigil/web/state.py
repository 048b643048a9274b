"""What the web app keeps between requests (on ``app.state.web``): nothing global, all built by create_app."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from vigil.system import System
from vigil.web.ratelimit import SlidingWindow


@dataclass
class SessionRevocations:
    """Ids of login sessions ended by sign-out, kept until they would have expired anyway.

    Session cookies are signed, not stored, so a copied cookie stays valid until it expires unless its
    id is listed here. The list is per process and forgotten on restart (documented limitation).
    """

    _until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def revoke(self, session_id: str, *, until: float) -> None:
        now = time.time()
        with self._lock:
            for stale in [sid for sid, end in self._until.items() if end <= now]:
                del self._until[stale]
            self._until[session_id] = until

    def is_revoked(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._until


@dataclass
class WebState:
    system: System
    templates: Jinja2Templates
    login_attempts: SlidingWindow
    revocations: SessionRevocations = field(default_factory=SessionRevocations)


def web_state(connection: HTTPConnection) -> WebState:
    state: WebState = connection.app.state.web
    return state
