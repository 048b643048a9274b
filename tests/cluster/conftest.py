"""The Ray cluster of these tests: head + one joined node on 127.0.0.1, one CPU each (see tests/support/ray_cluster),
and prepared systems on a PostgreSQL database of their own whose cameras stream from the RTSP test server."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import make_settings, shared_data_dir
from tests.live.conftest import RECORDER, live_settings
from tests.support.builders import make_camera, make_case, make_user
from tests.support.ray_cluster import RAY, RayCluster, local_ray_cluster, use_loopback
from tests.support.rtsp import camera_clip, rtsp_server
from vigil.db.session import session_scope
from vigil.system import System, open_system, prepare

VTEST = shared_data_dir() / "pets09-s2l1" / "vtest.avi"
ANALYST_CASE = "CUM-2026-000600"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    if not RAY.exists():
        pytest.skip("Ray is not installed (pip install 'vigil[cluster]')")
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is needed for the node that cannot read the store")
    use_loopback()
    with local_ray_cluster() as cluster:
        yield cluster
        import ray

        ray.shutdown()


ClusterSystem = Callable[..., System]
"""``build(cameras, analysed=(), small=(), ray={...}, **live)``: a prepared system recording ``cameras`` (codes)
from the RTSP server looping PETS09 (the ``small`` ones a 30 s 240x180 copy, light to record); ``analysed``
cameras get a current PIA (the basis live analysis needs), the others none."""


@pytest.fixture
def cluster_system(ray_cluster: RayCluster, postgres_url: str, tmp_path: Path) -> Iterator[ClusterSystem]:
    import psycopg

    if not VTEST.exists():
        pytest.skip("shared PETS09 data not available")
    clip = camera_clip(VTEST, tmp_path / "pets09-gop10.mp4")
    small = camera_clip(VTEST, tmp_path / "pets09-small.mp4", size=(240, 180), max_frames=300)
    server = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    databases: list[str] = []
    with contextlib.ExitStack() as stack:
        rtsp = stack.enter_context(rtsp_server({"pets": clip, "small": small}))

        def build(
            cameras: tuple[str, ...],
            *,
            analysed: tuple[str, ...] = (),
            small: tuple[str, ...] = (),
            ray: dict[str, object] | None = None,
            **live: object,
        ) -> System:
            name = f"vigil_cam_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
            databases.append(name)
            urls: dict[str, str | dict[str, str]] = {
                code: rtsp.url("small" if code in small else "pets") for code in cameras
            }
            settings = make_settings(
                tmp_path / "data",
                live=live_settings(tmp_path / "data", urls, **live).live,
                database_url=postgres_url.rsplit("/", 1)[0] + f"/{name}",
                engine="ray",
                ray={"address": ray_cluster.address, "node_ip_address": "127.0.0.1", **(ray or {})},
            )
            system = stack.enter_context(contextlib.closing(open_system(settings)))
            prepare(system)
            with session_scope(system.sessions) as db:
                make_user(db, RECORDER, "operator", trained_for=("analytics",))
                analyst = make_user(db, "analyst", "investigator", trained_for=("analytics",))
                make_case(db, ANALYST_CASE, members=[analyst])
                for code in cameras:
                    make_camera(db, code, pia_review=date.today() + timedelta(days=200) if code in analysed else None)
            return system

        yield build
    for name in databases:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
