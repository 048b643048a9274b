"""A whole node of the loopback cluster stops (its raylet and everything under it killed, as when a machine dies):
its camera continues on the other node within 30 s, online again, recording, with the outage recorded as a gap.

This file stops the joined node of the session's cluster, so it runs after the other tests of tests/cluster (file
order); a node joined later would not move the running cameras back.
"""

from __future__ import annotations

import time

import pytest

from tests.cluster.conftest import ClusterSystem
from tests.support.live import health_of, segments_of
from tests.support.ray_cluster import stop_node
from tests.support.rtsp import wait_for
from vigil.cluster.cameras import RESTARTED, RayCameras
from vigil.db.session import session_scope
from vigil.live.sources import SettingsSources
from vigil.live.store import list_gaps

pytestmark = [pytest.mark.ray, pytest.mark.postgres, pytest.mark.data]
FAILOVER_S = 30.0


def test_a_stopped_node_moves_its_camera_to_the_other_node_within_30_s_with_the_gap_recorded(
    cluster_system: ClusterSystem,
) -> None:
    import ray

    # Half a CPU a camera: each node can take the other's camera when one is lost (with 1 CPU per camera on 1-CPU
    # nodes the lost camera would have nowhere to go).
    system = cluster_system(("CAM-A", "CAM-B"), ray={"cpus_per_camera": 0.5})
    cameras = RayCameras(settings=system.settings, resolver=SettingsSources(system.settings))
    cameras.start()
    try:
        wait_for(lambda: all(w is not None for w in cameras.workers().values()), timeout=60, what="camera actors")
        placed = cameras.workers()
        # Both nodes are 127.0.0.1, so this test's driver is attached to either raylet: stop the other one (a real
        # driver, the web server or `vigil live run`, runs on a machine of its own, usually the head).
        survivor = ray.get_runtime_context().get_node_id()
        [(moved, (lost, old_pid))] = [(code, w) for code, w in placed.items() if w is not None and w[0] != survivor]
        [stayed] = [code for code in placed if code != moved]
        wait_for(lambda: len(segments_of(system, moved)) >= 1, timeout=90, what=f"a segment of {moved}")
        before = len(segments_of(system, moved))

        stop_node(lost)
        began = time.monotonic()

        def online_on_survivor() -> bool:
            row = health_of(system, moved)
            return (
                row is not None
                and row.state == "online"
                and row.worker_pid != old_pid
                and row.node == f"127.0.0.1 {survivor[:12]}"
            )

        wait_for(online_on_survivor, timeout=90, what=f"{moved} online on the surviving node")
        failover = time.monotonic() - began
        print(f"failover of {moved}: {failover:.1f} s from kill -9 of its node to online on the other")
        assert failover < FAILOVER_S, f"{moved} took {failover:.1f} s to come back on the other node"
        assert (cameras.workers()[moved] or ("", 0))[0] == survivor
        wait_for(lambda: len(segments_of(system, moved)) >= before + 1, timeout=60, what="recording resumed")
    finally:
        cameras.stop()
    with session_scope(system.sessions) as db:
        gaps = list_gaps(db, moved)
        assert len(gaps) == 1 and gaps[0].reason == RESTARTED and gaps[0].ended_at is not None
        assert not list_gaps(db, stayed), "the camera on the surviving node never stopped"
    row = health_of(system, moved)
    assert row is not None and row.restarts == 1
