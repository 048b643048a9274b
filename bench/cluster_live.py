"""Live cameras on Ray: time for a track to be searchable, actor restart time (kill -9 to online again) and node
failover time (a whole node killed to its camera online on the other node).

Starts a throwaway PostgreSQL (the Ray engine refuses SQLite) and a loopback two-node Ray cluster (head + joined
node, 1 CPU each, tests/support/ray_cluster.py); the tests' RTSP server loops PETS09 (480x360, 10 fps, a keyframe a
second) as two cameras, both recorded and analysed at 5 fps by their Ray actors (0.5 CPU each, so either node can
take both). "Searchable": from a track's first frame to the moment the real search service first returns it
(polled every 0.5 s). "Restart": ``kill -9`` of a camera actor's process to its health row being ``online`` again
under a new process. "Failover": ``kill -9`` of the raylet of the node a camera runs on, and of everything under
it, to that camera online on the other node (Ray's GCS declares a node dead after 5 missed 3 s health checks).

    PYTHONPATH=src:. .venv/bin/python bench/cluster_live.py --seconds 40 --restarts 3
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live_analysis import CASE, health, searchable, shared_data
from tests.support.builders import make_camera, make_case, make_user
from tests.support.postgres import throwaway_postgres
from tests.support.ray_cluster import local_ray_cluster, stop_node, use_loopback
from tests.support.rtsp import camera_clip, rtsp_server, wait_for

from vigil.db.session import session_scope
from vigil.live.sources import SettingsSources
from vigil.settings import Settings
from vigil.system import System, open_system, prepare

CODES = ("CAM-R1", "CAM-R2")


def build_system(folder: Path, database_url: str, address: str, url: str) -> System:
    live = {
        "recorder_user": "recorder",
        "segment_seconds": 10,
        "health_every_seconds": 0.5,
        "checkpoint_seconds": 5,
        "tracks_every_seconds": 2,
        "analysis_fps": 5,
        "cameras": [{"code": code, "url": url} for code in CODES],
    }
    settings = Settings(
        data_dir=folder,
        secret_key="bench-secret",
        database_url=database_url,
        engine="ray",
        ray={"address": address, "node_ip_address": "127.0.0.1", "cpus_per_camera": 0.5},
        live=live,  # type: ignore[arg-type]
    )
    system = open_system(settings)
    prepare(system)
    with session_scope(system.sessions) as db:
        make_user(db, "recorder", "operator", trained_for=("analytics",))
        analyst = make_user(db, "analyst", "investigator", trained_for=("analytics",))
        make_case(db, CASE.case_ref, members=[analyst])
        for code in CODES:
            make_camera(db, code, pia_review=date.today() + timedelta(days=200))
    return system


def back_online(system: System, code: str, old_pid: int, *, node: str = "") -> float:
    """Seconds until ``code`` is online under a process other than ``old_pid`` (on ``node``, when given)."""
    began = time.monotonic()

    def online() -> bool:
        row = health(system, code)
        return row is not None and row.state == "online" and row.worker_pid != old_pid and row.node.endswith(node[:12])

    wait_for(online, timeout=180, every=0.1, what=f"{code} online again")
    return time.monotonic() - began


def run(system: System, seconds: float, restarts: int) -> None:
    import ray

    from vigil.cluster.cameras import RayCameras

    cameras = RayCameras(settings=system.settings, resolver=SettingsSources(system.settings))
    cameras.start()
    latencies: dict[tuple[str, int], float] = {}
    restart_s: list[float] = []
    try:
        wait_for(lambda: all((h := health(system, c)) and h.state == "online" for c in CODES), timeout=180)
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            searchable(system, list(CODES), latencies)
            time.sleep(0.5)
        for _ in range(restarts):
            where = cameras.workers()[CODES[0]]
            assert where is not None
            os.kill(where[1], signal.SIGKILL)
            restart_s.append(back_online(system, CODES[0], where[1]))
            time.sleep(3)
        survivor = ray.get_runtime_context().get_node_id()  # the driver's node (both are 127.0.0.1)
        placed = cameras.workers()
        [(code, (lost, pid))] = [(c, w) for c, w in placed.items() if w is not None and w[0] != survivor]
        stop_node(lost)
        failover = back_online(system, code, pid, node=survivor)
    finally:
        cameras.stop()
    seen = sorted(latencies.values())
    print(f"searchable, frame to search result: {len(seen)} tracks over {seconds:g} s, p50 "
          f"{statistics.median(seen):.1f} s, p95 {seen[min(len(seen) - 1, int(0.95 * len(seen)))]:.1f} s, "
          f"max {seen[-1]:.1f} s")  # fmt: skip
    print(f"actor restart, kill -9 to online: {', '.join(f'{s:.1f}' for s in restart_s)} s "
          f"(median {statistics.median(restart_s):.1f} s)")  # fmt: skip
    print(f"node failover, raylet killed to online on the other node: {failover:.1f} s")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40, help="how long searchability is measured")
    parser.add_argument("--restarts", type=int, default=3, help="kill -9 of a camera actor, this many times")
    args = parser.parse_args()
    video = shared_data() / "pets09-s2l1" / "vtest.avi"
    if not video.exists():
        print(f"skipped: {video} not found")
        return
    use_loopback()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-ray-live-") as work:
        clip = camera_clip(video, Path(work) / "pets09-gop10.mp4")
        with throwaway_postgres() as database_url, local_ray_cluster() as cluster, rtsp_server({"pets": clip}) as rtsp:
            system = build_system(Path(work) / "data", database_url, cluster.address, rtsp.url("pets"))
            try:
                run(system, args.seconds, args.restarts)
            finally:
                system.close()
            import ray

            ray.shutdown()


if __name__ == "__main__":
    main()
