"""The retention scheduler runs in the app's lifespan, first after one interval, and stops on shutdown."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.webapp import seed
from tests.web.conftest import client_for
from vigil.db.models import AuditEntry
from vigil.governance import audit


def test_scheduler_runs_retention_after_each_interval_as_the_system(tmp_path: Path) -> None:
    with client_for(tmp_path, retention={"run_every_minutes": 0.01}) as client:  # every 0.6 s
        assert client.get("/login").status_code == 200
        deadline = time.monotonic() + 30
        runs: list[AuditEntry] = []
        while not runs and time.monotonic() < deadline:
            time.sleep(0.2)
            runs = seed(client.app, lambda db: list(audit.query_entries(db, action_prefix="retention.run")))  # type: ignore[arg-type]
        assert runs and runs[0].actor == "system"


def test_scheduler_waits_one_interval_before_the_first_run(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:  # the default interval is an hour
        time.sleep(0.3)
        app = client.app
    assert seed(app, lambda db: list(audit.query_entries(db, action_prefix="retention."))) == []  # type: ignore[arg-type]
