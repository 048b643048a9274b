"""Attacks on live facial recognition replayed through the web app (issue 10, F3 and F4).

F3: a refused start or end must change nothing: the deployment stays live with its watchlist's embeddings (what the
cameras' workers match on), a refused start leaves the other planned, the refusal is audited. F4: a deployment reads
only registered camera sources: no server path, no file, no internal address is ever opened or fetched, and a
source's credentials appear in no page, no database file and no log.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.faces.live_builders import face_video, grace_hopper
from tests.faces.live_support import CAMERA, enrolled_watchlist, file_camera, operator
from tests.support.analysed import analysed_footage
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import TestClient, csrf_of, log_in, notices, seed
from tests.web.conftest import client_for
from vigil.db.base import utcnow
from vigil.db.face_models import Deployment
from vigil.db.models import AuditEntry, CameraSource, Footage
from vigil.faces.watchlists import add_subjects, create_watchlist
from vigil.governance.camera_sources import source_policy
from vigil.vision.faces.recognizer import default_recognizer

SECRET = "hunter2-Zq9"


@contextlib.contextmanager
def internal_http_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server standing for an internal service; yields its base URL and the paths requested."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"internal secrets")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def _plan_form(client: TestClient, **changes: object) -> dict[str, object]:
    local = utcnow().astimezone(client.app.state.system.settings.zone)  # type: ignore[attr-defined]
    form: dict[str, object] = {
        "csrf_token": csrf_of(client.get("/fr/deployments").text),
        "name": "Penrith market day",
        "location": "Penrith, Market Square",
        "cameras": CAMERA,
        "window_start": (local - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "window_end": (local + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "watchlist": "penrith-2026-11-20",
        "threshold": "0.6",
        "authorising_officer": "Supt A. Example",
        "public_notice": "Live facial recognition is in use on Market Square today.",
    }
    return {**form, **changes}


def _seed_people(client: TestClient, video: Path | None) -> None:
    settings = client.app.state.system.settings  # type: ignore[attr-defined]
    recognizer = default_recognizer(threads=1)

    def build(db: Session) -> None:
        user = operator(db)
        enrolled_watchlist(db, settings, recognizer, user)
        create_watchlist(db, user=user, name="second-list", kind="deployment")
        add_subjects(db, user=user, watchlist_name="second-list", subject_refs=["WARRANT-0042"])
        make_user(db, "audrey", "auditor")
        make_user(db, "uma", "operator")  # no live FR training
        make_user(db, "adam", "admin")
        if video is not None:
            file_camera(db, video, sources=source_policy(settings))

    seed(client.app, build)  # type: ignore[arg-type]


def _as(client: TestClient, username: str) -> None:
    client.cookies.clear()
    assert log_in(client, username, PASSWORD) != "/login"


def _deployment(client: TestClient, deployment_id: int) -> tuple[str, int]:
    with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
        deployment = db.get(Deployment, deployment_id)
        assert deployment is not None
        refusals = db.execute(select(AuditEntry).where(AuditEntry.outcome == "refused")).scalars().all()
        return deployment.status, len(refusals)


def _matched(client: TestClient, deployment_id: int) -> bool:
    """Whether the cameras' workers match the deployment: it is live and its watchlist still holds embeddings."""
    with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
        deployment = db.get(Deployment, deployment_id)
        assert deployment is not None and deployment.watchlist is not None
        held = [e for e in deployment.watchlist.entries if e.embedding is not None]
        return deployment.status == "live" and bool(held)


def test_refused_end_and_start_change_nothing_and_are_audited(tmp_path: Path) -> None:
    (tmp_path / "video").mkdir()
    video = face_video(tmp_path / "video" / "street.mp4", portrait=grace_hopper(), present=range(0), frames=30)
    with client_for(tmp_path, faces={"allow_file_sources": True}) as client:
        _seed_people(client, video)
        _as(client, "olive")
        assert "planned" in notices(client.post("/fr/deployments", data=_plan_form(client)).text)[0]
        second = _plan_form(client, name="Second day", watchlist="second-list")
        assert "planned" in notices(client.post("/fr/deployments", data=second).text)[0]
        csrf = csrf_of(client.get("/fr/deployments").text)
        started = client.post("/fr/deployments/1/start", data={"csrf_token": csrf}, follow_redirects=False)
        assert started.status_code == 303 and _matched(client, 1)

        for attacker in ("audrey", "uma"):
            _as(client, attacker)
            csrf = csrf_of(client.get("/").text)
            status_before, refusals_before = _deployment(client, 1)
            ended = client.post("/fr/deployments/1/end", data={"csrf_token": csrf}, follow_redirects=False)
            assert ended.status_code == 403, (attacker, ended.status_code)
            assert _matched(client, 1), f"{attacker}'s refused end stopped the matching"
            assert _deployment(client, 1) == (status_before, refusals_before + 1) == ("live", refusals_before + 1)
            begun = client.post("/fr/deployments/2/start", data={"csrf_token": csrf}, follow_redirects=False)
            assert begun.status_code == 403 and _deployment(client, 2)[0] == "planned"
        with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
            refused = db.execute(select(AuditEntry).where(AuditEntry.outcome == "refused")).scalars().all()
            assert {(e.actor, e.action) for e in refused} >= {
                ("audrey", "fr.deployment.end"),
                ("audrey", "fr.deployment.start"),
                ("uma", "fr.deployment.end"),
                ("uma", "fr.deployment.start"),
            }

        _as(client, "olive")  # the deployment is still live and can be ended properly
        csrf = csrf_of(client.get("/fr/deployments/1/console").text)
        page = client.get("/fr/deployments/1/console").text
        assert 'data-camera="MKT-EAST"' in page and "no worker" in page  # no live supervisor runs in this app
        ended = client.post("/fr/deployments/1/end", data={"csrf_token": csrf})
        assert "The deployment has ended" in " ".join(notices(ended.text))
        assert not _matched(client, 1) and _deployment(client, 1)[0] == "ended"


def test_streams_must_be_registered_camera_sources_and_nothing_is_fetched(tmp_path: Path) -> None:
    with internal_http_server() as (internal, requests), client_for(tmp_path) as client:
        settings = client.app.state.system.settings  # type: ignore[attr-defined]
        _seed_people(client, None)
        footage_path = seed(client.app, lambda db: _other_case_footage(db, settings))  # type: ignore[arg-type]
        _as(client, "olive")
        for cameras, message in (
            (f"{internal}/internal", "no camera with code"),
            (str(footage_path), "no camera with code"),
            (f"file://{footage_path}", "no camera with code"),
            ("PEN-02", "no registered live source"),
        ):
            said = notices(client.post("/fr/deployments", data=_plan_form(client, cameras=cameras)).text)
            assert any(message in n for n in said), (cameras, said)
        legacy = _plan_form(client, cameras="", streams=f"east | {internal}/internal")  # the old free-text field
        assert any("choose at least one camera" in n for n in notices(client.post("/fr/deployments", data=legacy).text))
        assert "No deployments yet." in client.get("/fr/deployments").text

        _as(client, "adam")  # not even an administrator can register an internal address, a path or a file
        for url, message in (
            (f"{internal}/internal", "on the vigil server itself"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            (str(footage_path), "local files are not live sources"),
            ("file:///etc/passwd", "local files are not live sources"),
        ):
            form = {"csrf_token": csrf_of(client.get("/cameras/sources").text), "camera": "PEN-02", "url": url}
            said = notices(client.post("/cameras/sources", data=form).text)
            assert any(message in n for n in said), (url, said)
        with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
            assert db.execute(select(CameraSource)).first() is None
    assert requests == [], "the server fetched an internal address"


def _other_case_footage(db: Session, settings: object) -> Path:
    make_camera(db, "PEN-02")
    footage = analysed_footage(db, settings, camera_code="PEN-01")  # type: ignore[arg-type]
    stored = db.execute(select(Footage.stored_path).where(Footage.id == footage.id)).scalar_one()
    return Path(settings.data_dir) / stored  # type: ignore[attr-defined]


def test_a_sources_credentials_are_in_no_page_database_or_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with client_for(tmp_path) as client:
        _seed_people(client, None)
        seed(client.app, lambda db: make_camera(db, CAMERA))  # type: ignore[arg-type]
        _as(client, "adam")
        url = f"rtsp://viewer:{SECRET}@10.0.4.21:554/stream1"
        form = {"csrf_token": csrf_of(client.get("/cameras/sources").text), "camera": CAMERA.lower(), "url": url}
        page = client.post("/cameras/sources", data=form).text
        assert f"Camera {CAMERA}: live source set." in notices(page)
        assert "rtsp://***@10.0.4.21:554/stream1" in page and SECRET not in page and "viewer" not in page
        pages = [page, client.get("/audit").text]
        _as(client, "olive")
        deployments = client.get("/fr/deployments").text
        assert f'value="{CAMERA}"' in deployments, "the camera is offered in the deployment form"
        said = notices(client.post("/fr/deployments", data=_plan_form(client)).text)
        assert "Deployment Penrith market day planned." in said, said
        pages += [deployments, client.get("/fr/deployments").text, client.get("/fr/deployments/1/console").text]
        assert not any(SECRET in p for p in pages)
    data_dir = tmp_path / "data"
    stored = b"".join(p.read_bytes() for p in data_dir.glob("vigil.db*"))
    assert b"10.0.4.21:554" not in stored.replace(b"***@10.0.4.21:554", b""), "only the masked form is in clear"
    assert SECRET.encode() not in stored and b"viewer" not in stored
    assert SECRET not in caplog.text
