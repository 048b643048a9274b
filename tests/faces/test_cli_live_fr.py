"""`vigil fr deployment list|start|end`: the command line starts and ends a live deployment with the same checks and
audit as the console (the cameras' workers pick the change up from the database); a refused start or end changes
nothing and is audited."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.faces.live_builders import face_video, grace_hopper
from tests.faces.live_support import CAMERA, NOTICE, SOURCE_KEY, enrolled_watchlist, file_camera, operator
from tests.support.builders import make_user
from vigil.cli import app
from vigil.db.base import utcnow
from vigil.db.face_models import Deployment
from vigil.db.models import AuditEntry
from vigil.db.session import session_scope
from vigil.faces.live import DeploymentPlan, StreamSpec, plan_deployment
from vigil.governance.camera_sources import source_policy
from vigil.settings import load_settings
from vigil.system import open_system, prepare
from vigil.vision.faces.recognizer import default_recognizer


@pytest.fixture
def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("VIGIL_FACES__ALLOW_FILE_SOURCES", "true")
    monkeypatch.setenv("VIGIL_FACES__SOURCE_KEY", SOURCE_KEY.decode())
    for name in ("VIGIL_USER", "VIGIL_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _planned(tmp_path: Path) -> None:
    """olive (live FR operator), ivy (investigator), a deployment watchlist and a deployment planned on MKT-EAST."""
    video = face_video(tmp_path / "market.mp4", portrait=grace_hopper(), present=range(5, 25))
    settings = load_settings()
    system = open_system(settings)
    try:
        prepare(system)
        with session_scope(system.sessions) as db:
            olive = operator(db)
            make_user(db, "ivy", trained_for=("analytics",))
            enrolled_watchlist(db, settings, default_recognizer(threads=1), olive)
            policy = source_policy(settings)
            file_camera(db, video, sources=policy)
            now = utcnow()
            plan = DeploymentPlan(
                name="Penrith market day",
                location="Penrith, Market Square",
                streams=(StreamSpec(camera=CAMERA),),
                window_start=now - timedelta(minutes=5),
                window_end=now + timedelta(hours=2),
                watchlist="penrith-2026-11-20",
                threshold=0.6,
                authorising_officer="Supt A. Example",
                public_notice=NOTICE,
            )
            plan_deployment(db, user=olive, plan=plan, sources=policy)
    finally:
        system.close()


def _state() -> tuple[str, bool, list[tuple[str, str, str]]]:
    """The deployment's status, whether its watchlist holds embeddings, and the deployment audit entries."""
    system = open_system(load_settings())
    try:
        with session_scope(system.sessions) as db:
            deployment = db.execute(select(Deployment)).scalar_one()
            assert deployment.watchlist is not None
            held = any(entry.embedding is not None for entry in deployment.watchlist.entries)
            stmt = select(AuditEntry).where(AuditEntry.action.like("fr.deployment.%")).order_by(AuditEntry.seq)
            audit = [(e.actor, e.action, e.outcome) for e in db.execute(stmt).scalars()]
            return deployment.status, held, audit
    finally:
        system.close()


def test_a_deployment_is_started_and_ended_from_the_command_line_and_refusals_change_nothing(
    vigil: CliRunner, tmp_path: Path
) -> None:
    _planned(tmp_path)
    refused = vigil.invoke(app, ["fr", "deployment", "start", "1", "--as", "ivy"])
    assert refused.exit_code != 0 and "Traceback" not in refused.output and "live facial recognition" in refused.output
    status, held, audit = _state()
    assert (status, held) == ("planned", True) and ("ivy", "fr.deployment.start", "refused") in audit

    started = vigil.invoke(app, ["fr", "deployment", "start", "1", "--as", "olive"])
    assert started.exit_code == 0, started.output
    assert "is live" in started.output and "within seconds" in started.output
    assert _state()[:2] == ("live", True)
    listed = vigil.invoke(app, ["fr", "deployment", "list", "--as", "olive", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert (row["id"], row["status"], row["cameras"]) == (1, "live", [CAMERA])

    refused = vigil.invoke(app, ["fr", "deployment", "end", "1", "--as", "ivy"])
    assert refused.exit_code != 0 and _state()[:2] == ("live", True)
    again = vigil.invoke(app, ["fr", "deployment", "start", "1", "--as", "olive"])
    assert again.exit_code != 0 and "is live, not planned" in again.output

    ended = vigil.invoke(app, ["fr", "deployment", "end", "1", "--as", "olive"])
    assert ended.exit_code == 0 and "watchlist embeddings were deleted" in ended.output, ended.output
    status, held, audit = _state()
    assert (status, held) == ("ended", False)
    assert ("olive", "fr.deployment.start", "ok") in audit and ("olive", "fr.deployment.end", "ok") in audit
    assert ("ivy", "fr.deployment.end", "refused") in audit
    missing = vigil.invoke(app, ["fr", "deployment", "end", "99", "--as", "olive"])
    assert missing.exit_code != 0 and "no live deployment 99" in missing.output
