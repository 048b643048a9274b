"""Live facial recognition deployments through the JSON API: planned, started, watched and ended with the same
checks and audit as the pages; a refused start or end changes nothing, a typed path is never a stream, and bad
tokens, crafted ids and bad plans get a clear 4xx."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.faces.live_support import CAMERA, enrolled_watchlist, file_camera, grace_video, operator
from tests.support.api import bearer
from tests.support.builders import make_user
from tests.support.webapp import TestClient, seed
from tests.web.conftest import client_for
from vigil.db.base import utcnow
from vigil.db.face_models import Deployment
from vigil.db.models import AuditEntry
from vigil.governance.camera_sources import source_policy
from vigil.governance.users import issue_token
from vigil.vision.faces.recognizer import default_recognizer

WATCHLIST = "penrith-2026-11-20"


def _world(client: TestClient, video: Path) -> dict[str, str]:
    """olive (live FR operator), ivy (investigator: no live FR), a deployment watchlist, camera MKT-EAST."""
    settings = client.app.state.system.settings  # type: ignore[attr-defined]
    recognizer = default_recognizer(threads=1)

    def build(db: Session) -> dict[str, str]:
        olive = operator(db)
        enrolled_watchlist(db, settings, recognizer, olive, name=WATCHLIST)
        file_camera(db, video, sources=source_policy(settings))
        ivy = make_user(db, "ivy", trained_for=("analytics",))
        return {"olive": issue_token(db, user=olive, name="t"), "ivy": issue_token(db, user=ivy, name="t")}

    return seed(client.app, build)  # type: ignore[arg-type]


def _plan(**changes: Any) -> dict[str, Any]:
    now = utcnow()
    plan = {
        "name": "Penrith market day",
        "location": "Penrith, Market Square",
        "streams": [{"camera": CAMERA}],
        "window_start": (now - timedelta(minutes=5)).isoformat(),
        "window_end": (now + timedelta(hours=4)).isoformat(),
        "watchlist": WATCHLIST,
        "threshold": 0.6,
        "authorising_officer": "Supt A. Example",
        "public_notice": "Live facial recognition is in use on Market Square today.",
    }
    return {**plan, **changes}


def _deployments(client: TestClient) -> list[tuple[str, Any]]:
    stmt = select(Deployment.status, Deployment.ended_at).order_by(Deployment.id)
    return [tuple(row) for row in seed(client.app, lambda db: db.execute(stmt).all())]  # type: ignore[arg-type]


def _outcomes(client: TestClient, actor: str, action: str) -> list[str]:
    stmt = select(AuditEntry.outcome).where(AuditEntry.actor == actor, AuditEntry.action == action)
    return list(seed(client.app, lambda db: db.execute(stmt.order_by(AuditEntry.seq)).scalars()))  # type: ignore[arg-type]


def test_a_deployment_is_planned_started_watched_and_ended_and_refusals_change_nothing(tmp_path: Path) -> None:
    with client_for(tmp_path, faces={"allow_file_sources": True}) as client:
        tokens = _world(client, grace_video(tmp_path / "video"))
        olive, ivy = bearer(tokens["olive"]), bearer(tokens["ivy"])
        assert client.post("/api/v1/faces/deployments", json=_plan(), headers=ivy).status_code == 403
        assert _deployments(client) == [] and _outcomes(client, "ivy", "fr.deployment.plan") == ["refused"]

        planned = client.post("/api/v1/faces/deployments", json=_plan(), headers=olive)
        assert planned.status_code == 201, planned.text
        deployment = planned.json()["id"]
        assert client.post(f"/api/v1/faces/deployments/{deployment}/start", headers=ivy).status_code == 403
        assert _deployments(client) == [("planned", None)]

        started = client.post(f"/api/v1/faces/deployments/{deployment}/start", headers=olive)
        assert started.status_code == 200, started.text
        assert started.json()["status"] == "live" and _deployments(client) == [("live", None)]
        assert client.post(f"/api/v1/faces/deployments/{deployment}/end", headers=ivy).status_code == 403
        assert _deployments(client) == [("live", None)], "the refused end changed nothing"
        assert _outcomes(client, "ivy", "fr.deployment.end") == ["refused"]

        console = client.get(f"/api/v1/faces/deployments/{deployment}/alerts", headers=olive)
        assert console.status_code == 200 and console.json()["deployment"]["status"] == "live"
        listed = client.get("/api/v1/faces/deployments", params={"limit": 1}, headers=olive).json()
        assert [d["id"] for d in listed["items"]] == [deployment] and listed["page"]["more"] is False

        ended = client.post(f"/api/v1/faces/deployments/{deployment}/end", headers=olive)
        assert ended.status_code == 200 and ended.json()["status"] == "ended"
        assert _deployments(client)[0][0] == "ended"
        for action in ("fr.deployment.plan", "fr.deployment.start", "fr.console.view", "fr.deployment.end"):
            assert "ok" in _outcomes(client, "olive", action), action


def test_bad_plans_typed_paths_crafted_ids_and_bad_tokens_get_a_clear_4xx(tmp_path: Path) -> None:
    with client_for(tmp_path, faces={"allow_file_sources": True}) as client:
        tokens = _world(client, grace_video(tmp_path / "video"))
        olive = bearer(tokens["olive"])
        for changes in (
            {"streams": [{"camera": "/etc/passwd"}]},
            {"streams": [{"camera": "http://127.0.0.1:22/"}]},
            {"streams": []},
            {"threshold": 1.5},
            {"public_notice": "too short"},
            {"window_end": (utcnow() + timedelta(days=3)).isoformat()},
            {"watchlist": "no such list"},
            {"url": "rtsp://elsewhere/stream"},
        ):
            reply = client.post("/api/v1/faces/deployments", json=_plan(**changes), headers=olive)
            assert 400 <= reply.status_code < 500 and reply.status_code != 401, (changes, reply.text)
            assert "detail" in reply.json()
        assert _deployments(client) == []
        for method, path in (
            ("POST", "/api/v1/faces/deployments/2147483647/start"),
            ("POST", "/api/v1/faces/deployments/2147483647/end"),
            ("GET", "/api/v1/faces/deployments/2147483647/alerts"),
        ):
            assert client.request(method, path, headers=olive).status_code == 404
        decided = client.post("/api/v1/faces/alerts/2147483647/decision", json={"outcome": "confirmed"}, headers=olive)
        assert decided.status_code == 404
        wrong = client.post("/api/v1/faces/alerts/1/decision", json={"outcome": "arrest"}, headers=olive)
        assert wrong.status_code == 422
        for headers in ({}, bearer("vgl_forged"), bearer(tokens["olive"] + "x")):
            assert client.get("/api/v1/faces/deployments", headers=headers).status_code == 401
            assert client.post("/api/v1/faces/deployments", json=_plan(), headers=headers).status_code == 401
        count = seed(client.app, lambda db: db.execute(select(func.count(Deployment.id))).scalar_one())  # type: ignore[arg-type]
        assert count == 0
