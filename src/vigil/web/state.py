"""What the web app keeps between requests (on ``app.state.web``): nothing global, all built by create_app."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from vigil.analysis.worker import JobExecutor
from vigil.footage.playable import CopyMaker
from vigil.registry.viewer_pool import ViewerPool
from vigil.system import System
from vigil.web.ratelimit import SlidingWindow


@dataclass
class WebState:
    system: System
    templates: Jinja2Templates
    login_attempts: SlidingWindow
    registrations: SlidingWindow  # camera registrations per client address and hour (the public form)
    db_slots: anyio.CapacityLimiter  # requests using the database at once (see vigil.web.deps)
    db_finish: anyio.CapacityLimiter  # threads for their commits: as many as slots, so a commit never queues
    executor: JobExecutor | None = None  # runs analysis jobs; set while the app's lifespan runs
    copies: CopyMaker | None = None  # makes playable copies of footage; set while the app's lifespan runs
    viewers: ViewerPool | None = None  # readers of integrated cameras' open views; set while the lifespan runs


def web_state(connection: HTTPConnection) -> WebState:
    state: WebState = connection.app.state.web
    return state
