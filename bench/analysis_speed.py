"""Analysis throughput: decode only, the naive pipeline and vigil's pipeline, in multiples of real time.

For each video (PETS09-S2L1 ``vtest.avi``; a 1440x1080 upscale of it made in /tmp with PyAV; Intel's mostly
empty ``one-by-one-person-detection.mp4``):

* **decode**: the analysis frame source alone (threaded PyAV decode + BGR conversion);
* **naive**: the same frame source, detector on every whole frame, the same tracker and records;
* **vigil**: motion gating, detection every 0.5 s (2 s in a calm scene) on crops around motion and live tracks.

Every run is a fresh subprocess (so peak RSS is that run's own) and all rows of a table come from one
invocation: other work on the machine slows all of them alike, so compare the ratios. CPU seconds of each run
(every thread of the process) are printed too: on a machine other jobs load, they move far less than wall time.
Usage::

    .venv/bin/python bench/analysis_speed.py [--videos vtest,1080p,one-by-one] [--detector centernet]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import peak_rss_mb, pets, run_analyser, setup_for, shared_data, table

UPSCALED = Path("/tmp/vigil-bench-vtest-1080p.mp4")
NAIVE = {"detect_interval_s": 0.0, "motion_gating": False, "regions": False}


def videos() -> dict[str, Path]:
    return {
        "vtest": pets() / "vtest.avi",
        "1080p": UPSCALED,
        "one-by-one": shared_data() / "intel-sample-videos" / "one-by-one-person-detection.mp4",
    }


def make_upscale(source: Path, target: Path, height: int = 1080) -> None:
    """Write ``source`` scaled to ``height`` lines (aspect kept) as H.264, unless it already exists."""
    if target.exists():
        return
    import av
    import cv2

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        src = inp.streams.video[0]
        width = round(src.width * height / src.height / 2) * 2
        stream = out.add_stream("libx264", rate=src.average_rate or 10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for frame in inp.decode(src):
            big = np.asarray(cv2.resize(frame.to_ndarray(format="bgr24"), (width, height)), dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(big, format="bgr24")))
        out.mux(stream.encode(None))


def probe(path: Path) -> tuple[int, int, float, int]:
    from vigil.footage.video import open_video

    with open_video(path) as video:
        width, height = video.size
        count = sum(1 for _ in video.container.demux(video.stream) if _.size)
        return width, height, video.fps, count


def one(video: str, mode: str, detector: str) -> dict[str, float]:
    """Run one configuration in this process and return its figures."""
    from vigil.analysis.pipeline import build_analyser, frames
    from vigil.settings import Settings

    path = videos()[video]
    width, height, fps, count = probe(path)
    if mode == "decode":
        cpu_start, start = time.process_time(), time.perf_counter()
        n = sum(1 for _ in frames(path, 0))
        seconds, calls, tracks = time.perf_counter() - start, 0, 0
    else:
        params: dict[str, object] = {"detector": detector, **(NAIVE if mode == "naive" else {})}
        analyser = build_analyser(Settings(), setup_for(width, height, fps, count, **params))
        analyser.detector.load()  # type: ignore[attr-defined]
        cpu_start = time.process_time()
        run = run_analyser(analyser, frames(path, 0))
        n, seconds, calls, tracks = run.frames, run.seconds, run.detector_calls, len(run.tracks)
    return {
        "frames": n,
        "fps": fps,
        "seconds": seconds,
        "cpu_s": time.process_time() - cpu_start,
        "x_realtime": n / fps / seconds,
        "calls": calls,
        "tracks": tracks,
        "rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", default="vtest,1080p,one-by-one")
    parser.add_argument("--detector", default="centernet")
    parser.add_argument("--one", nargs=2, metavar=("VIDEO", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.detector)))
        return
    make_upscale(videos()["vtest"], UPSCALED)
    rows, memory, cpu = [], [], []
    for video in args.videos.split(","):
        figures = {}
        for mode in ("decode", "naive", "vigil"):
            out = subprocess.run(
                [sys.executable, __file__, "--detector", args.detector, "--one", video, mode],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ,
            ).stdout
            figures[mode] = json.loads(out.strip().splitlines()[-1])
        d, n, v = figures["decode"], figures["naive"], figures["vigil"]
        rows.append(
            [
                video,
                int(d["frames"]),
                d["x_realtime"],
                n["x_realtime"],
                v["x_realtime"],
                v["x_realtime"] / d["x_realtime"],
                v["x_realtime"] / n["x_realtime"],
                f"{int(n['calls'])} / {int(v['calls'])}",
            ]
        )
        memory.append([video, d["rss_mb"], n["rss_mb"], v["rss_mb"]])
        cpu.append([video, d["cpu_s"], n["cpu_s"], v["cpu_s"], v["cpu_s"] / d["cpu_s"], int(v["tracks"])])
    print(f"Detector: {args.detector}; load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(
        table(
            [
                "video",
                "frames",
                "decode x RT",
                "naive x RT",
                "vigil x RT",
                "vigil / decode",
                "vigil / naive",
                "detector calls naive / vigil",
            ],
            rows,
        )
    )
    print()
    print(table(["video", "peak RSS decode MB", "peak RSS naive MB", "peak RSS vigil MB"], memory))
    print("\nCPU seconds (all threads of the process; steadier than wall time on a shared machine):\n")
    print(table(["video", "decode CPU s", "naive CPU s", "vigil CPU s", "vigil / decode CPU", "vigil tracks"], cpu))


if __name__ == "__main__":
    main()
