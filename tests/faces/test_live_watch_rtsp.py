"""Live FR on the camera workers' frames, with nothing stood in: the tests' RTSP server loops a video in which Grace
Hopper (on the deployment's watchlist) walks past, the web server's live supervisor runs the camera's real worker
process, and the operator's console stream (Server-Sent Events, read over HTTP from the real server) receives the
alert the worker stored. The camera is read over exactly one RTSP connection, whatever the deployments; a deployment
that has ended raises nothing more while a later one on the same camera still does. And the same when the workers
run in another process, `vigil live run`, with the deployment started in the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.faces.live_builders import face_video, grace_hopper
from tests.faces.live_support import NOTICE, enrolled_watchlist, operator
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.rtsp import rtsp_server, wait_for
from tests.support.webapp import csrf_of, log_in, seed, serve
from vigil.db.base import utcnow
from vigil.db.face_models import Alert, Deployment
from vigil.db.live_models import LiveHealth
from vigil.db.models import AuditEntry, User
from vigil.db.session import session_scope
from vigil.faces.live import DeploymentPlan, StreamSpec, plan_deployment
from vigil.faces.live_control import go_live
from vigil.faces.watchlists import add_subjects, create_watchlist
from vigil.governance.camera_sources import set_source, source_policy
from vigil.settings import Settings
from vigil.system import open_system, prepare
from vigil.vision.faces.recognizer import default_recognizer
from vigil.web.app import create_app

CAMERA = "MKT-EAST"
WAIT_S = 120.0


def _grace_stream(folder: Path) -> Path:
    """Six seconds at 10 fps, Grace Hopper's face in view from 1 s to 4 s, a keyframe a second (as cameras send)."""
    folder.mkdir(parents=True, exist_ok=True)
    return face_video(folder / "grace.mp4", portrait=grace_hopper(), present=range(10, 40), frames=60, gop=10)


def _plan(name: str, watchlist: str) -> DeploymentPlan:
    now = utcnow()
    return DeploymentPlan(
        name=name,
        location="Penrith, Market Square",
        streams=(StreamSpec(camera=CAMERA),),
        window_start=now - timedelta(minutes=5),
        window_end=now + timedelta(hours=2),
        watchlist=watchlist,
        threshold=0.5,
        authorising_officer="Supt A. Example",
        public_notice=NOTICE,
    )


def _world(settings: Settings, url: str) -> object:
    def build(db: Session) -> None:
        olive = operator(db)
        enrolled_watchlist(db, settings, default_recognizer(threads=1), olive, name="first")
        create_watchlist(db, user=olive, name="second", kind="deployment")
        add_subjects(db, user=olive, watchlist_name="second", subject_refs=["WARRANT-0042"])
        make_camera(db, CAMERA)
        admin = make_user(db, "adam", "admin")
        policy = source_policy(settings)
        set_source(db, user=admin, camera_code=CAMERA, url=url, policy=policy, recording="off")
        plan_deployment(db, user=olive, plan=_plan("Market day", "first"), sources=policy)
        plan_deployment(db, user=olive, plan=_plan("Market evening", "second"), sources=policy)

    return build


def rtsp_clients(port: int) -> int:
    """Established TCP connections to ``port`` on this machine (the client ends), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port, state = int(fields[2].split(":")[1], 16), fields[3]
        count += remote_port == port and state == "01"
    return count


def _post(client: httpx.Client, path: str) -> httpx.Response:
    token = csrf_of(client.get("/fr/deployments").text)
    return client.post(path, data={"csrf_token": token}, follow_redirects=False)


def _first_alert(client: httpx.Client, deployment_id: int) -> tuple[dict[str, object], float]:
    """The first alert event the console stream pushes, and when it arrived (epoch seconds)."""
    with client.stream("GET", f"/fr/deployments/{deployment_id}/events", timeout=httpx.Timeout(30.0)) as events:
        kind = ""
        deadline = time.monotonic() + WAIT_S
        for line in events.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "alert":
                return json.loads(line.removeprefix("data: ")), time.time()
            assert time.monotonic() < deadline, "no alert was pushed to the console"
    raise AssertionError("the console stream ended without an alert")


def _health(app: object) -> str:
    row = seed(app, lambda db: db.get(LiveHealth, CAMERA))  # type: ignore[arg-type]
    return f"camera {row.state}: {row.reason}, analysis {row.analysis}" if row is not None else "no camera health"


def _alerts(app: object, deployment_id: int) -> list[Alert]:
    stmt = select(Alert).where(Alert.deployment_id == deployment_id)
    return list(seed(app, lambda db: list(db.execute(stmt).scalars())))  # type: ignore[arg-type]


def test_a_watched_face_on_the_camera_is_pushed_to_the_console_and_an_ended_deployment_raises_nothing(
    tmp_path: Path,
) -> None:
    clip = _grace_stream(tmp_path / "video")
    with rtsp_server({"market": clip}) as server:
        settings = make_settings(
            tmp_path / "data",
            faces={"allow_local_sources": True},
            live={"enabled": True, "connect_timeout_seconds": 5, "backoff_initial_seconds": 0.5},
        )
        app = create_app(settings)
        seed(app, _world(settings, server.url("market")))  # type: ignore[arg-type]
        with serve(app) as base, httpx.Client(base_url=base, timeout=30.0, follow_redirects=True) as client:
            assert log_in(client, "olive", PASSWORD) != "/login"  # type: ignore[arg-type]
            wait_for(lambda: rtsp_clients(server.port) == 1, timeout=60, what="the camera's worker to connect")

            assert _post(client, "/fr/deployments/1/start").status_code == 303
            wait_for(lambda: _alerts(app, 1), timeout=WAIT_S, what=f"an alert ({_health(app)})")
            event, received = _first_alert(client, 1)
            [alert] = _alerts(app, 1)
            assert (event["id"], event["camera"], event["subject_id"]) == (alert.id, CAMERA, alert.subject_id)
            assert float(event["score"]) >= 0.5 and (settings.data_dir / str(alert.crop_path)).is_file()
            latency = received - alert.at.timestamp()
            print(f"frame-to-console latency: {latency:.2f} s")
            assert 0 <= latency < 30
            assert rtsp_clients(server.port) == 1, "the deployment opened no second connection to the camera"

            assert _post(client, "/fr/deployments/1/end").status_code == 303
            assert _post(client, "/fr/deployments/2/start").status_code == 303
            _first_alert(client, 2)  # the face came round again after the first deployment's end was committed
            assert len(_alerts(app, 1)) == 1, "the ended deployment raised nothing more"
            assert rtsp_clients(server.port) == 1
            assert _post(client, "/fr/deployments/2/end").status_code == 303

        def facts(db: Session) -> tuple[list[int], list[str]]:
            seen = [d.faces_seen for d in db.execute(select(Deployment).order_by(Deployment.id)).scalars()]
            raised = select(AuditEntry.actor).where(AuditEntry.action == "fr.alert.raise")
            return seen, list(db.execute(raised).scalars())

        seen, raisers = seed(app, facts)
        assert all(count >= 1 for count in seen), "each deployment counted the faces it saw"
        assert raisers and set(raisers) == {"system"}, "each alert is audited as raised by the system"


def test_vigil_live_run_in_another_process_matches_a_deployment_started_in_the_database(tmp_path: Path) -> None:
    clip = _grace_stream(tmp_path / "video")
    with rtsp_server({"market": clip}) as server:
        settings = make_settings(tmp_path / "data", faces={"allow_local_sources": True})
        system = open_system(settings)
        try:
            prepare(system)
            with session_scope(system.sessions) as db:
                _world(settings, server.url("market"))(db)  # type: ignore[operator]
                olive = db.execute(select(User).where(User.username == "olive")).scalar_one()
                go_live(db, user=olive, deployment_id=1, sources=source_policy(settings))
            env = {
                **os.environ,
                "VIGIL_DATA_DIR": str(settings.data_dir),
                "VIGIL_SECRET_KEY": settings.secret_key.get_secret_value(),
                "VIGIL_FACES__ALLOW_LOCAL_SOURCES": "true",
            }
            env.pop("VIGIL_LIVE__CAMERAS", None)
            command = [sys.executable, "-m", "vigil.cli", "live", "run"]  # only the registered source, no settings
            run = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
            try:
                wait_for(lambda: _stored(system.sessions), timeout=WAIT_S, what="an alert from `vigil live run`")
                assert rtsp_clients(server.port) == 1
                run.send_signal(signal.SIGTERM)
                assert run.wait(60) == 0
            finally:
                if run.poll() is None:
                    run.kill()
            assert run.stderr is not None and "supervising 1 live camera" in run.stderr.read().decode()
        finally:
            system.close()


def _stored(sessions: object) -> bool:
    with session_scope(sessions) as db:  # type: ignore[arg-type]
        return db.execute(select(Alert).where(Alert.deployment_id == 1)).first() is not None
