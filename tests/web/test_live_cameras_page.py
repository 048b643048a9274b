"""The /live page: each configured camera's health as its worker last reported it, for roles that may view
cameras; every view is audited; a visitor who is not signed in sees nothing and nothing is audited."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_user
from tests.support.rtsp import free_port, wait_for
from tests.support.webapp import log_in, seed
from tests.web.conftest import client_for
from vigil.db.live_models import LiveHealth
from vigil.db.models import AuditEntry
from vigil.db.session import session_scope
from vigil.live.store import write_health
from vigil.system import System

CAMERAS = [
    {"code": "CAM-1", "url": "rtsp://viewer:hunter2@10.0.0.5:554/stream1"},
    {"code": "CAM-2", "url": "rtsp://10.0.0.6/stream1"},
    {"code": "CAM-3", "url": "https://10.0.0.7/video.mjpg", "recording": "off"},
]


def _health(db: Session) -> None:
    make_user(db, "watcher", "operator")
    seen = datetime(2026, 12, 5, 9, 30, 5, tzinfo=UTC)
    write_health(
        db,
        camera_code="CAM-1",
        state="online",
        codec="h264",
        width=1920,
        height=1080,
        fps=25.0,
        last_frame_at=seen,
        analysis="on",
        analysed_fps=4.96,
        tracks=12,
    )
    write_health(db, camera_code="CAM-2", state="offline", reason="unreachable: connection refused by rtsp://10.0.0.6")


def _views(db: Session) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == "live.status")).scalars())


def test_the_live_page_lists_every_camera_with_its_health_and_the_view_is_audited(tmp_path: Path) -> None:
    client = client_for(tmp_path, live={"cameras": CAMERAS})
    seed(client.app, _health)  # type: ignore[arg-type]
    anonymous = client.get("/live", follow_redirects=False)
    assert anonymous.status_code in (303, 307) and "/login" in anonymous.headers["location"]
    assert not seed(client.app, _views)  # type: ignore[arg-type]

    assert log_in(client, "watcher", PASSWORD) == "/"
    page = client.get("/live")
    assert page.status_code == 200
    rows = page.text.split('<tr data-camera="')[1:]
    assert [row.split('"', 1)[0] for row in rows] == ["CAM-1", "CAM-2", "CAM-3"]
    assert "online" in rows[0] and "h264 1920×1080 at 25.0 fps" in rows[0] and "2026-12-05 09:30:05 GMT" in rows[0]
    assert "5.0 frames/s analysed, 12 track(s) so far" in rows[0]
    assert "offline" in rows[1] and "connection refused" in rows[1] and "analysed" not in rows[1]
    assert "unknown" in rows[2] and "not connected" in rows[2]  # configured, but no worker has reported yet
    assert "hunter2" not in page.text and "viewer" not in page.text  # stream addresses are never shown
    assert 'href="/live"' in page.text
    views = seed(client.app, _views)  # type: ignore[arg-type]
    assert [(v.actor, v.outcome) for v in views] == [("watcher", "ok")]
    assert '"via":"web"' in views[0].details


def test_the_web_app_supervises_live_cameras_when_enabled_and_stops_them_with_it(tmp_path: Path) -> None:
    unreachable = f"rtsp://127.0.0.1:{free_port()}/stream1"
    live = {"enabled": True, "cameras": [{"code": "CAM-9", "url": unreachable, "recording": "off"}]}
    with client_for(tmp_path, live=live) as client:
        system = client.app.state.system  # type: ignore[attr-defined]
        wait_for(lambda: _state(system, "CAM-9")[0] == "offline", timeout=60, what="CAM-9 reported offline")
        assert "connection refused" in _state(system, "CAM-9")[1]
        pid = system.live.workers()["CAM-9"]
        assert pid is not None and pid != os.getpid()  # a worker process, not a thread of the web server
    assert _state(system, "CAM-9")[0] == "stopped"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _state(system: System, code: str) -> tuple[str, str]:
    with session_scope(system.sessions) as db:
        row = db.get(LiveHealth, code)
        return (row.state, row.reason) if row else ("", "")
