"""The web server anchors the audit chain (checkpoints at start, periodically, at shutdown) and the audit page
reports a chain rewritten behind its back (issue 10, F5)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_user
from tests.support.cli import move_head, owner_access
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from tests.web.conftest import client_for
from vigil.governance import audit


def _checkpoints(data_dir: Path) -> list[dict[str, object]]:
    path = data_dir / "audit-checkpoints.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _record(client: TestClient, action: str) -> int:
    return seed(client.app, lambda db: audit.record(db, actor="system", action=action).seq)  # type: ignore[arg-type]


def test_checkpoints_are_written_at_start_every_interval_and_at_shutdown(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with client_for(tmp_path, audit={"checkpoint_every_minutes": 0.01}) as client:  # every 0.6 s
        assert (data_dir / "audit-signing.key").stat().st_mode & 0o777 == 0o600
        assert len(_checkpoints(data_dir)) >= 1  # at start
        seq = _record(client, "test.periodic")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _checkpoints(data_dir)[-1]["seq"] != seq:
            time.sleep(0.2)
        assert _checkpoints(data_dir)[-1]["seq"] == seq
    with client_for(tmp_path) as client:  # the default interval (15 minutes): only start and shutdown
        seq = _record(client, "test.before-shutdown")
        assert _checkpoints(data_dir)[-1]["seq"] < seq
    assert _checkpoints(data_dir)[-1]["seq"] == seq


def test_the_audit_page_shows_the_checkpoints_and_reports_a_truncated_chain(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with client_for(tmp_path) as client:

        def build(db: Session) -> None:
            make_user(db, "aud", "auditor")
            for i in range(4):
                audit.record(db, actor="ivy", action=f"test.{i}")

        seed(client.app, build)
        log_in(client, "aud", PASSWORD)
        _record(client, "test.anchored")
        from vigil.governance.audit_anchor import checkpoint_now

        settings = client.app.state.system.settings  # type: ignore[attr-defined]
        seed(client.app, lambda db: checkpoint_now(db, settings=settings))
        page = client.get("/audit").text
        newest = _checkpoints(data_dir)[-1]
        assert f"entry {newest['seq']}" in page and "ed25519:" in page
        intact = client.post("/audit/verify", data={"csrf_token": page_csrf(client, "/audit")})
        assert any("matches all 2 signed checkpoints" in n for n in notices(intact.text))
        with owner_access(data_dir) as con:  # delete the tail down to below the checkpoint, move the head
            con.execute("DELETE FROM audit_entries WHERE seq > ?", (int(str(newest["seq"])) - 3,))
            move_head(con)
        broken = notices(client.post("/audit/verify", data={"csrf_token": page_csrf(client, "/audit")}).text)
        assert any(n.startswith("audit chain intact") for n in broken)  # the chain alone is fooled
        assert "The audit chain does NOT match its signed checkpoints outside the database:" in broken
        assert any(n.startswith("TRUNCATED") for n in broken), broken
        checks = seed(client.app, lambda db: list(audit.query_entries(db, action_prefix="audit.verify_anchors")))  # type: ignore[arg-type]
        assert (checks[-1].actor, checks[-1].outcome) == ("aud", "failed")  # (the "ok" one went with the tail)
        assert "TRUNCATED" in checks[-1].details
