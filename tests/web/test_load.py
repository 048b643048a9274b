"""A small version of bench/load.py on every test run: 50 signed-in officers searching and opening pages at once,
with anonymous visitors on the public pages, against the real app under uvicorn on a SQLite file.

It checks correctness under concurrency, not speed (speed lives in bench/load.py and BENCHMARKS.md): no request
fails (no 500, no "database is locked", no exhausted connection pool), every login and every audited search is
recorded, and the audit chain stays intact with no gap or fork.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.load import (
    Client,
    Tally,
    World,
    drive,
    http_client,
    officer_pages,
    public_pages,
    seed_world,
    sign_in,
)
from tests.support.webapp import seed, serve
from vigil.db.models import AuditEntry, LoginSession
from vigil.governance.audit import VerifyReport, verify
from vigil.web.app import create_app

OFFICERS, VISITORS, REQUESTS_EACH = 50, 30, 4


async def crowd(base_url: str, world: World) -> tuple[Tally, Tally]:
    officers, visitors = Tally(), Tally()
    officer_http = [http_client(base_url) for _ in world.usernames]
    visitor_http = [http_client(base_url) for _ in range(VISITORS)]
    try:
        await asyncio.gather(*(sign_in(http, name) for http, name in zip(officer_http, world.usernames, strict=True)))
        pages = functools.partial(officer_pages, world)
        clients = [Client(http, pages, officers) for http in officer_http]
        clients += [Client(http, functools.partial(public_pages, world), visitors) for http in visitor_http]
        await drive(clients, seconds=120, budget=REQUESTS_EACH)
    finally:
        await asyncio.gather(*(http.aclose() for http in officer_http + visitor_http))
    return officers, visitors


def test_fifty_officers_and_public_visitors_at_once_get_no_error(tmp_path: Path) -> None:
    # every officer logs in from the same loopback address: lift the per-address login rate limit
    settings = make_settings(tmp_path / "data", web={"login_rate_per_minute": 10 * OFFICERS})
    app = create_app(settings)
    world = seed(app, lambda db: seed_world(db, settings, users=OFFICERS, synthetic_tracks=100))
    with serve(app) as base_url:
        officers, visitors = asyncio.run(crowd(base_url, world))

    assert officers.outcomes == {"200": OFFICERS * REQUESTS_EACH}
    assert visitors.outcomes == {"200": VISITORS * REQUESTS_EACH}

    def recorded(db: Session) -> tuple[int | None, int | None, VerifyReport]:
        logins = db.scalar(select(func.count()).select_from(LoginSession))
        searches = db.scalar(select(func.count()).where(AuditEntry.action == "search.run"))
        return logins, searches, verify(db)

    logins, searches, chain = seed(app, recorded)
    assert logins == OFFICERS
    assert searches == officers.pages["/search/results"] > 0  # one chain entry per search run, none lost
    assert chain.ok, chain.describe()
