"""A request's database work and the locks it takes end before its page renders (vigil.web.deps).

An audited search appends to the audit chain (SQLite's write lock); the page is then rendered. Another writer
(here a thread appending to the chain while the template renders) must not wait for the rendering.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, log_in, page_csrf, seed
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, Location
from vigil.db.session import session_scope
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance import audit
from vigil.settings import SettingsError, load_settings
from vigil.web.app import create_app
from vigil.web.deps import DbSession
from vigil.web.forms import refusal_goes_to

CASE, PURPOSE = "CUM-2026-000912", "burglary at the post office: looking for a person in a blue top"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(make_settings(tmp_path / "data"))
    seed(app, lambda db: make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,)))
    yield app


def writes_during_rendering(app: FastAPI) -> list[bool]:
    """Make every page render try an audit append from another thread; whether each got through in time."""
    templates = app.state.web.templates
    original = templates.TemplateResponse
    outcomes: list[bool] = []

    def render_with_a_writer_waiting(*args: Any, **kwargs: Any) -> Any:
        def append() -> None:
            with session_scope(app.state.system.sessions) as db:
                audit.record(db, actor="system", action="test.during_render")

        writer = threading.Thread(target=append, daemon=True)
        writer.start()
        writer.join(timeout=10)  # before: the request held the write lock until after rendering (30 s, then fail)
        outcomes.append(not writer.is_alive())
        return original(*args, **kwargs)

    templates.TemplateResponse = render_with_a_writer_waiting
    return outcomes


def test_an_audited_search_page_renders_after_its_work_is_committed(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert log_in(client, "ivy", PASSWORD) == "/"
        token = page_csrf(client, "/context")
        client.post("/context", data={"case_ref": CASE, "purpose": PURPOSE, "next": "/", "csrf_token": token})
        outcomes = writes_during_rendering(app)
        page = client.get("/search/results?" + urlencode({"case": CASE, "upper": "blue", "class": "person"}))
    assert page.status_code == 200 and outcomes == [True]

    def actions(db: Any) -> list[str]:
        return [e.action for e in db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]

    recorded = seed(app, actions)
    assert recorded[-2:] == ["search.run", "test.during_render"]  # the search was committed before the page
    assert seed(app, audit.verify).ok


@pytest.mark.parametrize(("threads", "slots", "ok"), [(8, 8, False), (4, 16, False), (9, 8, True), (48, 24, True)])
def test_worker_threads_must_outnumber_database_slots(tmp_path: Path, threads: int, slots: int, ok: bool) -> None:
    web = {"threads": threads, "db_slots": slots}
    if ok:
        assert load_settings(data_dir=tmp_path, web=web).web.db_slots == slots
        return
    with pytest.raises(SettingsError, match=r"VIGIL_WEB: .*web\.threads .* must be larger than web\.db_slots"):
        load_settings(data_dir=tmp_path, web=web)


def _refusing_routes(app: FastAPI) -> None:
    """Two routes that write, then are refused: one as a form (flash and redirect), one as a page (403)."""

    def half_write(db: Session) -> None:
        db.add(Location(name="Half-written site", created_at=utcnow()))
        db.flush()

    @app.get("/test/refused-form")
    def refused_form(request: Request, db: DbSession) -> Response:
        with refusal_goes_to(request, "/login"):
            half_write(db)
            raise InvalidInput("the site needs a PIA first")
        return Response("not reached")

    @app.get("/test/refused-page")
    def refused_page(request: Request, db: DbSession) -> Response:
        with refusal_goes_to(request, "/login", shown_as_page=(NotPermitted,)):
            half_write(db)
            raise NotPermitted("only a supervisor may do this")
        return Response("not reached")


def test_a_refused_form_flashes_the_reason_redirects_and_keeps_nothing(app: FastAPI) -> None:
    _refusing_routes(app)
    with TestClient(app) as client:
        response = client.get("/test/refused-form", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login")
        assert "the site needs a PIA first" in client.get("/login").text  # the flash, shown once
        page = client.get("/test/refused-page", follow_redirects=False)
        assert page.status_code == 403 and "only a supervisor may do this" in page.text
    sites = seed(app, lambda db: db.execute(select(Location.name)).scalars().all())
    assert "Half-written site" not in sites
