"""Live analysis cost and accuracy: camera workers recording and analysing 720p streams at 5 frames a second.

Cost. A 720p H.264 loop (PETS09 scaled up, 25 fps, 2 s keyframe interval) is served as N cameras (1, 2, 4 and 8
by default, one run) by the test RTSP server on loopback; the supervisor runs a worker per camera that records
(stream copy, 10 s segments, ingest), analyses (decode every packet, analyse 5 frames a second with the camera's
pipeline, write tracks) and runs two rules (a zone entry and a line crossing). Over the measured window it reports
the workers' CPU per stream and streams per core, the analysed frame rate each camera sustained (from its health),
the RSS per worker and in total, and "frame to searchable": how long after a track's first frame the real search
service first returns it (polled every 0.5 s); then each figure as a ratio to 1 camera, so how cost grows. In the
same run it measures decoding alone (PyAV decoding the same clip in-process at its real rate) and recording alone
(the same cameras with analysis off).

Accuracy. PETS09 S2.L1 is streamed once through the live path (RTSP, worker, 5 fps, tracks stored on the
recorded segments, read back from the database) and analysed as a file at the same rate (every second frame
of the same re-encoded clip); both are scored against the ground truth and the MOTA difference is printed.

    PYTHONPATH=src:. .venv/bin/python bench/live_analysis.py --streams 1 2 4 8 --seconds 40
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
from bench._common import pets, pets_scores
from bench._live import cpu_seconds, pets_stream
from sqlalchemy import select
from tests.support.builders import make_camera, make_case, make_user
from tests.support.live import health_of
from tests.support.rtsp import camera_clip, rtsp_server, wait_for

from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.pipeline import build_analyser, frames
from vigil.db.live_models import LiveCheckpoint, LiveSegment
from vigil.db.models import Camera, Footage, Track
from vigil.db.session import session_scope
from vigil.domain.detections import Frame
from vigil.domain.tracks import FinishedTrack, TrackObservations, TrackSummary
from vigil.footage.custody import footage_path
from vigil.governance.access import make_context
from vigil.governance.users import get_user
from vigil.live.rules.service import create_rule, parse_request
from vigil.search.query.service import run_search
from vigil.search.query.track_query import TrackQuery
from vigil.settings import Settings
from vigil.system import System, open_system, prepare

RULES: list[dict[str, Any]] = [
    {"kind": "zone_entry", "polygon": [[0.3, 0.45], [0.7, 0.45], [0.7, 0.8], [0.3, 0.8]]},
    {"kind": "line_crossing", "line": [[0.45, 0.3], [0.45, 1.0]]},
]
CASE = make_context("CUM-2026-000900", "benchmark of live analysis: follow people as they pass")
FPS = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build_system(folder: Path, codes: dict[str, str], *, analysis: bool, **live: object) -> System:
    options = {
        "recorder_user": "recorder",
        "segment_seconds": 10,
        "health_every_seconds": 1,
        "analysis_fps": FPS,
        "cameras": [{"code": code, "url": url, "analysis": analysis} for code, url in codes.items()],
        **live,
    }
    settings = Settings(data_dir=folder, secret_key="bench-secret", live=options)  # type: ignore[arg-type]
    system = open_system(settings)
    prepare(system)
    with session_scope(system.sessions) as db:
        make_user(db, "recorder", "operator", trained_for=("analytics",))
        analyst = make_user(db, "analyst", "investigator", trained_for=("analytics",))
        make_case(db, CASE.case_ref, members=[analyst])
        for code in codes:
            make_camera(db, code, pia_review=date.today() + timedelta(days=200))
            for rule in RULES if analysis else []:  # recording + analysis + rules: each camera runs two rules
                request = parse_request({"name": rule["kind"], "camera": code, "days": 1} | rule)
                create_rule(db=db, user=analyst, request=request, case=CASE.case_ref, purpose=CASE.purpose)
    return system


def searchable(system: System, codes: list[str], seen: dict[tuple[str, int], float]) -> None:
    """Note when each track (by camera and first-seen tenth of a second) is first returned by the search."""
    with session_scope(system.sessions) as db:
        analyst = get_user(db, "analyst")
        cards = run_search(db=db, user=analyst, context=CASE, query=TrackQuery(cameras=codes, limit=500)).cards
    now = time.time()
    for card in cards:
        key = (card.camera_code, int(card.first_seen.timestamp() * 10))
        seen.setdefault(key, now - card.first_seen.timestamp())


def measure(clip: Path, streams: int, seconds: float, work: Path, *, analysis: bool) -> dict[str, Any]:
    names = {f"cam{i}": clip for i in range(streams)}
    with rtsp_server(names) as server:
        codes = {f"CAM-{i:02d}": server.url(f"cam{i}") for i in range(streams)}
        system = build_system(work / f"{'a' if analysis else 'r'}{streams}", codes, analysis=analysis)
        system.live.start()
        latencies: dict[tuple[str, int], float] = {}
        try:
            wait_for(lambda: all((h := health_of(system, c)) and h.state == "online" for c in codes), timeout=120)
            time.sleep(5)  # past the connection burst and the model loading
            pids = [pid for pid in system.live.workers().values() if isinstance(pid, int)]
            before, start = sum(cpu_seconds(p) for p in pids), time.monotonic()
            fps_samples: dict[str, list[float]] = {code: [] for code in codes}
            while time.monotonic() - start < seconds:
                if analysis:
                    searchable(system, list(codes), latencies)
                    for code in codes:
                        if (h := health_of(system, code)) is not None:
                            fps_samples[code].append(h.analysed_fps)
                time.sleep(0.5)
            used, wall = sum(cpu_seconds(p) for p in pids) - before, time.monotonic() - start
            rss = [rss_mb(p) for p in pids]
        finally:
            system.live.stop()
            system.close()
    seen = sorted(latencies.values())
    each = [statistics.mean(samples) if samples else 0.0 for samples in fps_samples.values()]
    return {
        "streams": streams,
        "cpu": used / wall / streams,
        "rss": statistics.mean(rss),
        "rss_total": sum(rss),
        "analysed_fps": statistics.mean(each),
        "analysed_fps_each": each,
        "p50": statistics.median(seen) if seen else float("nan"),
        "p95": seen[min(len(seen) - 1, int(0.95 * len(seen)))] if seen else float("nan"),
        "tracks": len(seen),
        "load": os.getloadavg()[0],
    }


def decode_only(clip: Path, seconds: float) -> float:
    """CPU seconds per second of stream to decode the clip's first ``seconds`` (every frame, as a worker does)."""
    start_cpu, shown = time.process_time(), 0.0
    with av.open(str(clip)) as container:
        for picture in container.decode(video=0):
            if picture.pts is not None and picture.time_base is not None:
                shown = float(picture.pts * picture.time_base)
            if shown >= seconds:
                break
    return (time.process_time() - start_cpu) / max(shown, 1e-6)


# -- PETS accuracy ---------------------------------------------------------------------------------------------


def file_tracks(clip: Path, work: Path, first: int) -> list[FinishedTrack]:
    """File analysis of the clip at 5 fps from frame ``first``: every second frame, numbered as a 5 fps file's
    frames are (the schedule counts frames), then mapped back to the clip's frame numbers for scoring."""
    setup = AnalysisSetup(footage_id=1, width=480, height=360, fps=FPS, frame_count=795, bearing_deg=None, params={})
    analyser = build_analyser(Settings(data_dir=work / "file"), setup)
    kept = (frame for frame in frames(clip, first) if (frame.index - first) % 2 == 0)
    found = [t for k, frame in enumerate(kept) for t in analyser.process(Frame(frame.image, frame.timestamp, k))]
    return [
        FinishedTrack(
            track.track_no,
            replace(track.observations, frame_index=first + 2 * track.observations.frame_index),
            track.summary,
        )
        for track in found + analyser.finish()
    ]


def first_clip_frame(recorded: Path, clip: Path) -> int:
    """Which frame of the clip a recording starts with (the stream's first second goes to probing the connection)."""
    with av.open(str(recorded)) as container:
        head = next(container.decode(video=0)).to_ndarray(format="gray").astype(np.float32)
    with av.open(str(clip)) as container:
        errors = [
            float(np.mean((frame.to_ndarray(format="gray").astype(np.float32) - head) ** 2))
            for frame in itertools.islice(container.decode(video=0), 60)
        ]
    return int(np.argmin(errors))


def live_tracks(clip: Path, work: Path) -> tuple[list[FinishedTrack], int]:
    """The clip streamed once through a live camera; the stored tracks (final and still in view) read back."""
    with rtsp_server({"pets": clip}) as server:
        system = build_system(work / "pets-live", {"CAM-PETS": server.url("pets")}, analysis=True)
        system.live.start()
        wait_for(lambda: (h := health_of(system, "CAM-PETS")) is not None and h.state == "online", timeout=120)
        time.sleep(795 / 10 + 1)  # one loop of the clip (the server starts each connection at its first frame)
        system.live.stop()
    with session_scope(system.sessions) as db:
        # The first segment starts with the first frame the worker received: find which frame of the clip it is.
        opening = min(db.execute(select(LiveSegment)).scalars(), key=lambda segment: segment.started_at)
        start, footage = opening.started_at, db.get(Footage, opening.footage_id)
        assert footage is not None
        first = first_clip_frame(footage_path(system.settings, footage), clip)
        stored = db.execute(select(Track).join(Track.camera).where(Camera.code == "CAM-PETS")).scalars().all()
        tracks = []
        for number, track in enumerate(stored, start=1):
            footage = db.get(Footage, track.footage_id)
            assert footage is not None
            stream_t = np.array([(footage.start_time - start).total_seconds() + o.t for o in track.observations])
            index = np.round(stream_t * 10).astype(np.int64) + first
            keep = index < 795
            xyxy = np.array([[o.x0, o.y0, o.x1, o.y1] for o in track.observations], dtype=np.float32)[keep]
            score = np.array([o.score for o in track.observations], dtype=np.float32)[keep]
            if keep.any():
                observations = TrackObservations(index[keep], stream_t[keep], xyxy, score)
                tracks.append(FinishedTrack(number, observations, TrackSummary(class_name=track.class_name)))
        checkpoint = db.get(LiveCheckpoint, "CAM-PETS")
        analysed = checkpoint.next_index if checkpoint is not None else 0
        print(f"live path: {analysed} frames analysed of the {(795 - first + 1) // 2} from frame {first}")
    system.close()
    return tracks, first


def accuracy(work: Path) -> None:
    clip = camera_clip(pets() / "vtest.avi", work / "pets-small.mp4")
    live, first = live_tracks(clip, work)
    online = pets_scores(live, 795)
    offline = pets_scores(file_tracks(clip, work, first), 795)
    print(f"\nPETS09 S2.L1, 795 frames, 5 fps (every second frame from frame {first}, where the stream's recording")
    print("starts after the connection's probing), the same H.264 clip:")
    print("| path | MOTA full | MOTA cropped | IDF1 full | ID switches |")
    print("|---|---|---|---|---|")
    for name, scores in (("file", offline), ("live", online)):
        full, cropped = scores["full"], scores["cropped"]
        print(
            f"| {name} | {full['mota']:.3f} | {cropped['mota']:.3f} | {full['idf1']:.3f} | {full['num_switches']:.0f} |"
        )
    print(
        f"MOTA difference (live - file): full {online['full']['mota'] - offline['full']['mota']:+.3f}, "
        f"cropped {online['cropped']['mota'] - offline['cropped']['mota']:+.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("VIGIL_VISION__THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="vigil-live-analysis-bench-") as folder:
        work = Path(folder)
        if not args.skip_cost:
            cost(work, args.streams, args.seconds)
        if not args.skip_accuracy:
            accuracy(work)


def cost(work: Path, counts: list[int], seconds: float) -> None:
    """One run over every camera count: absolute figures, and each as a ratio to the first count (1 camera)."""
    clip = pets_stream(work / "pets-720p.mp4", seconds=30, size=(1280, 720), bitrate="2M")
    decode = decode_only(clip, 20)
    print(f"clip: 1280x720 H.264 25 fps, 2 s GOP; decode only: {decode * 100:.1f} % of a core per stream")
    header = "| cameras | analysed fps each (target 5) | CPU per stream | streams per core | x decode only "
    header += "| x recording only | RSS per worker MB | total RSS MB | searchable p50 s | p95 s | tracks | load |"
    print(header)
    print("|" + "---|" * 12, flush=True)
    rows: list[dict[str, Any]] = []
    base: dict[str, Any] | None = None
    for streams in counts:
        row = measure(clip, streams, seconds, work, analysis=True)
        if base is None:
            base = measure(clip, streams, seconds, work, analysis=False)
        rows.append(row)
        each = " ".join(f"{fps:.1f}" for fps in row["analysed_fps_each"])
        print(
            f"| {streams} | {each} | {row['cpu'] * 100:.0f} % | {1 / row['cpu']:.2f} "
            f"| {row['cpu'] / decode:.1f} | {row['cpu'] / base['cpu']:.1f} | {row['rss']:.0f} | {row['rss_total']:.0f} "
            f"| {row['p50']:.1f} | {row['p95']:.1f} | {row['tracks']} | {row['load']:.1f} |",
            flush=True,
        )
    assert base is not None
    print(f"recording only ({counts[0]} stream): {base['cpu'] * 100:.1f} % of a core, RSS {base['rss']:.0f} MB")
    print(f"\nhow cost grows, as a ratio to {counts[0]} camera(s) in the same run:")
    print("| cameras | CPU per stream | RSS per worker | total RSS | analysed fps (mean) | searchable p95 |")
    print("|---|---|---|---|---|---|")
    first = rows[0]
    for row in rows:
        ratios = [row[key] / first[key] if first[key] else float("nan") for key in RATIO_KEYS]
        print(f"| {row['streams']} | " + " | ".join(f"x{value:.2f}" for value in ratios) + " |")


RATIO_KEYS = ("cpu", "rss", "rss_total", "analysed_fps", "p95")


if __name__ == "__main__":
    main()
