"""Footage upload through the web app in tests: a client with people and cameras, signed in, PUT uploads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.footage.builders import make_video
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import TestClient, log_in, page_csrf, seed
from vigil.analysis.worker import ThreadExecutor
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, Footage
from vigil.governance import audit
from vigil.web.app import create_app

CASE, PURPOSE = "CUM-2026-000417", "identify the cyclist in the robbery on Market Square"


def footage_client(tmp_path: Path, **overrides: object) -> TestClient:
    """A client of an app whose analysis jobs run in a background thread (use as a context manager)."""
    settings = make_settings(tmp_path / "data", **overrides)
    return TestClient(create_app(settings, executor=ThreadExecutor(settings)))


def register_people_and_cameras(client: TestClient) -> None:
    """ivy (trained in analytics), ned (not trained), camera PEN-01 with a current PIA and KES-02 without."""

    def build(db: Session) -> None:
        make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        make_user(db, "ned", cases=(CASE,))
        make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=200))
        make_camera(db, "KES-02")

    seed(client.app, build)  # type: ignore[arg-type]


def signed_in(client: TestClient, username: str = "ivy") -> TestClient:
    register_people_and_cameras(client)
    assert log_in(client, username, PASSWORD) == "/"
    return client


def put_upload(client: TestClient, body: bytes | Iterator[bytes], **params: str) -> httpx.Response:
    """Send a file as the footage page's script does: the raw body, the CSRF token in a header."""
    headers = {"x-csrf-token": page_csrf(client, "/"), "content-type": "application/octet-stream"}
    query = {"camera": "PEN-01", "name": "market-square.mp4", **params}
    return client.put("/footage/upload", params=query, content=body, headers=headers)


def wait_for_job(client: TestClient, job_id: int, timeout_s: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/footage/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


def entries(client: TestClient, **filters: Any) -> list[AuditEntry]:
    return seed(client.app, lambda db: list(audit.query_entries(db, **filters)))  # type: ignore[arg-type]


def stored_files(client: TestClient) -> list[Path]:
    root = client.app.state.system.settings.data_dir / "footage"  # type: ignore[attr-defined]
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def footage_rows(client: TestClient) -> list[Footage]:
    return seed(client.app, lambda db: list(db.execute(select(Footage)).scalars()))  # type: ignore[arg-type]


def small_video(tmp_path: Path) -> bytes:
    """An H.264 MP4: browsers play it as it is, so no playable copy is made."""
    return make_video(tmp_path / "clip.mp4", codec="libx264", size=(64, 48), seconds=2, fps=10).read_bytes()
