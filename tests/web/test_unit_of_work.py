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
from fastapi import FastAPI
from sqlalchemy import select

from tests.conftest import make_settings
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, log_in, page_csrf, seed
from vigil.db.models import AuditEntry
from vigil.db.session import session_scope
from vigil.governance import audit
from vigil.settings import SettingsError, load_settings
from vigil.web.app import create_app

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
