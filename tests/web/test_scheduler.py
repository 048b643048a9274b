"""The retention scheduler runs in the app's lifespan, first after one interval, and stops on shutdown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.support.clock import ClockStopped, SteppedClock
from tests.support.webapp import TestClient, seed
from tests.web.conftest import client_for
from vigil.db.models import AuditEntry
from vigil.governance import audit
from vigil.web.scheduler import checkpoint_loop, retention_loop


def test_scheduler_runs_retention_after_each_interval_as_the_system(tmp_path: Path) -> None:
    with client_for(tmp_path, retention={"run_every_minutes": 0.01}) as client:  # every 0.6 s
        assert client.get("/login").status_code == 200
        deadline = time.monotonic() + 30
        runs: list[AuditEntry] = []
        while not runs and time.monotonic() < deadline:
            time.sleep(0.2)
            runs = seed(client.app, lambda db: list(audit.query_entries(db, action_prefix="retention.run")))  # type: ignore[arg-type]
        assert runs and runs[0].actor == "system"


def _retention_runs(client: TestClient) -> list[AuditEntry]:
    return seed(client.app, lambda db: list(audit.query_entries(db, action_prefix="retention.run")))  # type: ignore[arg-type]


def test_scheduler_waits_one_interval_before_the_first_run(tmp_path: Path) -> None:
    with client_for(tmp_path, retention={"run_every_minutes": 5}) as client:
        system = client.app.state.system  # type: ignore[attr-defined]
        before = SteppedClock(wakes=0)  # never wakes: the loop must not have run anything yet
        with pytest.raises(ClockStopped):
            asyncio.run(retention_loop(system, clock=before))
        assert before.slept == [300.0]
        assert _retention_runs(client) == []
        once = SteppedClock(wakes=1)  # one interval passes: one run, then it waits for the next
        with pytest.raises(ClockStopped):
            asyncio.run(retention_loop(system, clock=once))
        assert once.slept == [300.0, 300.0]
        runs = _retention_runs(client)
        assert len(runs) == 1 and runs[0].actor == "system"


def test_checkpoints_wait_their_interval_and_write_one_per_wake(tmp_path: Path) -> None:
    with client_for(tmp_path, audit={"checkpoint_every_minutes": 15}) as client:
        system = client.app.state.system  # type: ignore[attr-defined]
        path = system.settings.data_dir / "audit-checkpoints.jsonl"
        at_start = path.read_text().splitlines()
        seed(client.app, lambda db: audit.record(db, actor="system", action="test.periodic"))
        before = SteppedClock(wakes=0)
        with pytest.raises(ClockStopped):
            asyncio.run(checkpoint_loop(system, clock=before))
        assert before.slept == [900.0] and path.read_text().splitlines() == at_start
        once = SteppedClock(wakes=1)
        with pytest.raises(ClockStopped):
            asyncio.run(checkpoint_loop(system, clock=once))
        assert once.slept == [900.0, 900.0] and len(path.read_text().splitlines()) == len(at_start) + 1
