"""Live cameras as Ray actors on the loopback two-node cluster, recording a real RTSP server into PostgreSQL."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import make_settings, shared_data_dir
from tests.live.conftest import RECORDER, live_settings
from tests.support.builders import make_camera, make_user
from tests.support.ray_cluster import RayCluster
from tests.support.rtsp import camera_clip, rtsp_server, wait_for
from vigil.cluster.cameras import RESTARTED, RayCameras
from vigil.cluster.status import cluster_status, render
from vigil.db.live_models import LiveHealth
from vigil.db.models import CustodyEvent, Footage
from vigil.db.session import session_scope
from vigil.footage.custody import DUPLICATE_SUBMITTED
from vigil.live.sources import SettingsSources
from vigil.live.store import list_gaps, list_segments
from vigil.system import System, open_system, prepare

VTEST = shared_data_dir() / "pets09-s2l1" / "vtest.avi"
pytestmark = [
    pytest.mark.ray,
    pytest.mark.postgres,
    pytest.mark.data,
    pytest.mark.skipif(not VTEST.exists(), reason="shared PETS09 data not available"),
]


@pytest.fixture
def cluster_system(ray_cluster: RayCluster, postgres_url: str, tmp_path: Path) -> Iterator[System]:
    """A prepared system on a database of its own, recording cameras CAM-A and CAM-B from the RTSP server."""
    import psycopg

    clip = camera_clip(VTEST, tmp_path / "pets09-gop10.mp4")
    name = f"vigil_cam_{uuid.uuid4().hex[:12]}"
    server = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    with rtsp_server({"pets": clip}) as rtsp:
        cameras = {code: rtsp.url("pets") for code in ("CAM-A", "CAM-B")}
        settings = make_settings(
            tmp_path / "data",
            live=live_settings(tmp_path / "data", cameras).live,
            database_url=postgres_url.rsplit("/", 1)[0] + f"/{name}",
            engine="ray",
            ray={"address": ray_cluster.address, "node_ip_address": "127.0.0.1"},
        )
        system = open_system(settings)
        prepare(system)
        with session_scope(system.sessions) as db:
            make_user(db, RECORDER, "operator", trained_for=("analytics",))
            for code in cameras:
                make_camera(db, code)
        try:
            yield system
        finally:
            system.close()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def segments(system: System, code: str) -> int:
    with session_scope(system.sessions) as db:
        return len(list_segments(db, code))


def test_cameras_spread_over_both_nodes_and_a_killed_actor_is_restarted_with_its_gap_recorded(
    cluster_system: System,
) -> None:
    cameras = RayCameras(settings=cluster_system.settings, resolver=SettingsSources(cluster_system.settings))
    cameras.start()
    try:
        wait_for(lambda: all(w is not None for w in cameras.workers().values()), timeout=60, what="camera actors")
        placed = cameras.workers()
        assert len({where[0] for where in placed.values() if where}) == 2, "one camera on each node"
        status = cluster_status(cluster_system.settings)
        assert sorted(camera for node in status.nodes for camera in node.cameras) == ["CAM-A", "CAM-B"]
        assert all(len(node.cameras) == 1 for node in status.nodes)
        assert "1 camera(s): CAM-A" in render(status) and "1 camera(s): CAM-B" in render(status)
        wait_for(lambda: segments(cluster_system, "CAM-A") >= 1, timeout=90, what="a segment of CAM-A")
        before = segments(cluster_system, "CAM-A")
        killed = placed["CAM-A"]
        assert killed is not None
        os.kill(killed[1], signal.SIGKILL)
        wait_for(
            lambda: (cameras.workers().get("CAM-A") or (None, killed[1]))[1] != killed[1],
            timeout=60,
            what="a restarted camera actor",
        )
        wait_for(lambda: segments(cluster_system, "CAM-A") >= before + 2, timeout=90, what="recording resumed")
    finally:
        cameras.stop()
    with session_scope(cluster_system.sessions) as db:
        health = db.get(LiveHealth, "CAM-A")
        assert health is not None and health.restarts == 1
        gaps = list_gaps(db, "CAM-A")
        assert len(gaps) == 1 and gaps[0].reason == RESTARTED and gaps[0].ended_at is not None
        recorded = list_segments(db, "CAM-A") + list_segments(db, "CAM-B")
        assert db.query(Footage).count() == len(recorded), "no segment stored twice"
        assert not db.execute(select(CustodyEvent).where(CustodyEvent.action == DUPLICATE_SUBMITTED)).all()
        assert not list_gaps(db, "CAM-B"), "the other camera never stopped"
