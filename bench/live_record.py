"""Live recording cost: how many camera streams one CPU core records by stream copy, ingest included.

A 1080p H.264 loop (PETS09 scaled up, made with PyAV, 2 s keyframe interval, ~4 Mbit/s) is served as N
cameras by the test RTSP server on loopback; `vigil`'s supervisor runs a worker process per camera, each
reading its stream, cutting segments and ingesting them as footage (SHA-256, probe, custody, audit).
The CPU time of the worker processes (from /proc, after they are online, so start-up is excluded) over the
measured wall time gives "streams per core" = N / (worker CPU seconds per wall second). The RTSP server's
own CPU is the cameras' and is not counted. Prints one table row per N.

    PYTHONPATH=src:. .venv/bin/python bench/live_record.py --streams 1 4 8 --seconds 40
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import av
from bench._live import cpu_seconds, pets_stream
from tests.support.builders import make_camera, make_user
from tests.support.rtsp import rtsp_server, wait_for

from vigil.db.live_models import LiveHealth
from vigil.db.session import session_scope
from vigil.live.store import list_segments
from vigil.settings import Settings
from vigil.system import open_system, prepare


def measure(clip: Path, streams: int, seconds: float, work: Path) -> dict[str, float]:
    names = {f"cam{i}": clip for i in range(streams)}
    with rtsp_server(names) as server:
        codes = {f"CAM-{i:02d}": server.url(f"cam{i}") for i in range(streams)}
        live = {
            "recorder_user": "recorder",
            "segment_seconds": 10,
            "health_every_seconds": 2,
            "cameras": [{"code": code, "url": url} for code, url in codes.items()],
        }
        settings = Settings(data_dir=work / f"n{streams}", secret_key="bench-secret", live=live)  # type: ignore[arg-type]
        system = open_system(settings)
        prepare(system)
        with session_scope(system.sessions) as db:
            make_user(db, "recorder", "operator", trained_for=("analytics",))
            for code in codes:
                make_camera(db, code)
        system.live.start()
        try:
            wait_for(lambda: all(_state(system, c) == "online" for c in codes), timeout=120, what="all online")
            pids = [pid for pid in system.live.workers().values() if pid]
            before, start = sum(cpu_seconds(p) for p in pids), time.monotonic()
            time.sleep(seconds)
            used, wall = sum(cpu_seconds(p) for p in pids) - before, time.monotonic() - start
            load = os.getloadavg()[0]
        finally:
            system.live.stop()
        with session_scope(system.sessions) as db:
            segments = sum(len(list_segments(db, code)) for code in codes)
        system.close()
    per_stream = used / wall / streams
    return {
        "streams": streams,
        "cpu_per_stream": per_stream,
        "per_core": 1 / per_stream,
        "segments": segments,
        "load": load,
    }


def _state(system: object, code: str) -> str:
    with session_scope(system.sessions) as db:  # type: ignore[attr-defined]
        row = db.get(LiveHealth, code)
        return row.state if row else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-live-bench-") as folder:
        work = Path(folder)
        clip = pets_stream(work / "pets-1080p.mp4", seconds=20, size=(1920, 1080), bitrate="4M")
        with av.open(str(clip)) as probe:
            video = probe.streams.video[0]
            rate = probe.bit_rate / 1e6 if probe.bit_rate else 0.0
            print(f"clip: {video.width}x{video.height} {video.codec_context.name} {rate:.1f} Mbit/s, 2 s GOP")
        print("| streams | worker CPU per stream | streams per core | segments ingested | load avg (1 min) |")
        print("|---|---|---|---|---|")
        for streams in args.streams:
            row = measure(clip, streams, args.seconds, work)
            print(
                f"| {row['streams']} | {row['cpu_per_stream'] * 100:.1f} % | {row['per_core']:.0f} "
                f"| {row['segments']} | {row['load']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
