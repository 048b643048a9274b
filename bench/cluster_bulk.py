"""Chunked bulk analysis of PETS09-S2L1 (795 frames, a keyframe a second, 4 chunks): local engine vs Ray with 1
and 2 workers.

Prints wall times, the speed-up of 2 Ray workers over 1 (the issue's target: >= 1.8x on a machine with two free
cores), Ray's overhead per task (an empty task's round trip) and per frame (Ray 1 worker against the same chunks
run in this process), and the accuracy of the chunked result against the sequential one. Starts its own loopback
clusters (tests/support/ray_cluster.py): head only (1 worker), then head + joined node (2 workers), 1 CPU each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import pets, pets_scores, table
from tests.support.ray_cluster import local_ray_cluster, use_loopback
from tests.support.rtsp import camera_clip

from vigil.analysis.chunks import InProcessChunks, join_chunks, keyframes, plan_chunks
from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.pipeline import build_analyser, frames
from vigil.domain.tracks import FinishedTrack
from vigil.settings import Settings

SOURCE = pets() / "vtest.avi"
VIDEO = Path("/tmp/vigil-bench-cluster/pets09-gop10.mp4")
"""PETS09 re-encoded with a keyframe a second (as CCTV cameras send; the original's every 25 s would make the
four chunks 250, 250, 250 and 45 frames long, so two workers could never halve the time)."""
SETUP = AnalysisSetup(
    footage_id=1, width=480, height=360, fps=10.0, frame_count=795, bearing_deg=None, params={"detector": "centernet"}
)
PARTS = 4


def sequential(settings: Settings) -> tuple[float, list[FinishedTrack]]:
    began = time.perf_counter()
    analyser = build_analyser(settings, SETUP)
    tracks = [t for frame in frames(VIDEO, 0) for t in analyser.process(frame)] + analyser.finish()
    return time.perf_counter() - began, tracks


def chunked(settings: Settings, chunk_map: object) -> tuple[float, list[FinishedTrack]]:
    began = time.perf_counter()
    overlap = round(settings.ray.chunk_overlap_s * SETUP.fps)
    plan = plan_chunks(keyframes(VIDEO), parts=PARTS, overlap_frames=overlap)
    results = list(chunk_map.run(settings, SETUP, VIDEO, plan, lambda _: None))  # type: ignore[attr-defined]
    tracks = build_analyser(settings, SETUP).summarise(join_chunks(results, plan))
    return time.perf_counter() - began, tracks


def empty_task_ms(ray: object, count: int = 40) -> float:
    def nothing() -> None:
        return None

    remote = ray.remote(num_cpus=1)(nothing)  # type: ignore[attr-defined]
    ray.get(remote.remote())  # type: ignore[attr-defined]  # a worker is warm
    began = time.perf_counter()
    ray.get([remote.remote() for _ in range(count)])  # type: ignore[attr-defined]
    return 1000 * (time.perf_counter() - began) / count


def on_ray(settings_dir: Path, *, joined: bool) -> tuple[float, list[FinishedTrack], float]:
    from vigil.cluster.engine import RayChunks

    with local_ray_cluster(joined=joined) as cluster:
        settings = Settings(data_dir=settings_dir, engine="ray", ray={"address": cluster.address})  # type: ignore[arg-type]
        chunk_map = RayChunks(settings)
        import ray

        overhead = empty_task_ms(ray)
        seconds, tracks = chunked(settings, chunk_map)
        ray.shutdown()
    return seconds, tracks, overhead


def main() -> None:
    if not SOURCE.exists():
        print(f"skipped: {SOURCE} not found")
        return
    VIDEO.parent.mkdir(parents=True, exist_ok=True)
    camera_clip(SOURCE, VIDEO, gop=10)
    use_loopback()
    settings = Settings(data_dir=Path("/tmp/vigil-bench-cluster"))
    local_s, local_tracks = sequential(settings)
    here_s, here_tracks = chunked(settings, InProcessChunks(count=PARTS))
    one_s, one_tracks, one_overhead = on_ray(settings.data_dir, joined=False)
    two_s, two_tracks, two_overhead = on_ray(settings.data_dir, joined=True)
    whole = pets_scores(local_tracks, 795)["full"]
    rows = []
    for name, seconds, tracks in (
        ("local engine (sequential)", local_s, local_tracks),
        ("4 chunks in this process", here_s, here_tracks),
        ("Ray, 1 worker", one_s, one_tracks),
        ("Ray, 2 workers", two_s, two_tracks),
    ):
        scores = pets_scores(tracks, 795)["full"]
        rows.append(
            [name, seconds, 795 / seconds, len(tracks), scores["mota"] - whole["mota"], scores["idf1"] - whole["idf1"]]
        )
    print(table(["run", "seconds", "frames/s", "tracks", "dMOTA", "dIDF1"], rows))
    print(f"2 Ray workers vs 1: {one_s / two_s:.2f}x; vs the local engine: {local_s / two_s:.2f}x")
    print(f"Ray overhead per empty task: {one_overhead:.1f} ms (1 node), {two_overhead:.1f} ms (2 nodes)")
    print(f"Ray overhead per frame (1 worker vs the same chunks here): {1000 * (one_s - here_s) / 795:.2f} ms")


if __name__ == "__main__":
    main()
