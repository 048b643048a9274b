"""Builders of the integrated-camera tests: an owner's camera (the real RTSP test server), a camera that refuses
its password (a real HTTP server answering 401), and logged-in owner and officer clients of the real app."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.footage.builders import make_video
from tests.registry.builders import active_owner
from tests.registry.smtp import Mailbox, links_in
from tests.support.builders import PASSWORD, make_user
from tests.support.registry_requests import CONTEXT
from tests.support.rtsp import camera_clip
from tests.support.webapp import log_in, page_csrf, seed
from vigil.db.models import AuditEntry
from vigil.db.share_models import SharedCamera, SharedView
from vigil.settings import Settings

PURPOSE = "see whether the suspect is still in the shop on Main Street"


def owner_clip(folder: Path) -> Path:
    """A 4-second H.264 clip with a keyframe a second, as an owner's camera would send (looped by the server)."""
    source = make_video(folder / "owner-source.mp4", seconds=4, size=(320, 240))
    return camera_clip(source, folder / "owner-camera.mp4")


class _Refuses(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="camera"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.contextmanager
def password_refusing_camera() -> Iterator[str]:
    """A real HTTP server on loopback that answers every request 401 (a camera refusing the password)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.system.settings
    return settings


def owner_client(app: FastAPI, base: str, mailbox: Mailbox, **overrides: object) -> tuple[httpx.Client, str]:
    """A client holding an active owner's self-service cookie (exchanged as the emailed link's page does)."""
    owner, token = seed(app, lambda db: active_owner(db, settings_of(app), mailbox, **overrides))
    email = owner.email
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=60)
    csrf = page_csrf(client, "/register/manage")
    opened = client.post("/register/manage/open", data={"token": token, "csrf_token": csrf})
    assert opened.status_code == 200 and opened.url.path == "/register/manage"
    return client, email


def share_form(cameras: dict[str, str], *, terms: str = "ask", minutes: str = "30", **fields: str) -> dict[str, str]:
    form = {"site": "Main Street shop", "latitude": "54.6641", "longitude": "-2.7527", "terms": terms}
    form.update(max_view_minutes=minutes, **fields)
    for index, (label, url) in enumerate(cameras.items()):
        form[f"camera_{index}_label"], form[f"camera_{index}_url"] = label, url
    return form


def share(client: httpx.Client, form: dict[str, str]) -> str:
    csrf = page_csrf(client, "/register/manage/live")
    response = client.post("/register/manage/live", data={**form, "csrf_token": csrf})
    return response.text


def officer_client(
    app: FastAPI, base: str, name: str = "olly", *, trained: bool = True, member: bool = True
) -> httpx.Client:
    seed(
        app,
        lambda db: make_user(
            db,
            name,
            trained_for=("registry", "requests") if trained else (),
            cases=(CONTEXT.case_ref, "CUM-2026-999999") if member else (),
        ),
    )
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=60)
    log_in(client, name, PASSWORD)
    state_purpose(client, CONTEXT.case_ref)
    return client


def state_purpose(client: httpx.Client, case_ref: str) -> None:
    csrf = page_csrf(client, "/context")
    client.post("/context", data={"case_ref": case_ref, "purpose": PURPOSE, "next": "/", "csrf_token": csrf})


def ask_to_view(client: httpx.Client, camera_id: int, case_ref: str = CONTEXT.case_ref, minutes: str = "") -> int:
    """The officer presses the camera page's button; returns the view id the browser is sent to."""
    csrf = page_csrf(client, f"/registry/live/{camera_id}?case={case_ref}")
    response = client.post(
        f"/registry/live/{camera_id}/views?case={case_ref}", data={"minutes": minutes, "csrf_token": csrf}
    )
    assert response.url.path.startswith("/registry/live/views/"), response.text[-2000:]
    return int(response.url.path.rsplit("/", 1)[1])


def cameras(app: FastAPI) -> list[SharedCamera]:
    return seed(app, lambda db: list(db.execute(select(SharedCamera).order_by(SharedCamera.id)).scalars()))


def views(app: FastAPI) -> list[SharedView]:
    return seed(app, lambda db: list(db.execute(select(SharedView).order_by(SharedView.id)).scalars()))


def count_rows(app: FastAPI, model: type) -> int:
    return seed(app, lambda db: int(db.execute(select(func.count()).select_from(model)).scalar_one()))


def approval_token(mailbox: Mailbox, email: str, index: int) -> str:
    link = links_in(mailbox.wait_for(email, index + 1)[index])[0]
    assert "/register/live#" in link
    return link.rsplit("#", 1)[1]


def audited(app: FastAPI, action: str, outcome: str | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    if outcome is not None:
        stmt = stmt.where(AuditEntry.outcome == outcome)
    return seed(app, lambda db: list(db.execute(stmt.order_by(AuditEntry.id)).scalars()))
