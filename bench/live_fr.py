"""Live facial recognition: frame-to-alert latency, and how many 720p streams at 5 fps one CPU core sustains.

    .venv/bin/python bench/live_fr.py [--seconds 30]

Latency: the Hamilton clip (``faces-face_recognition/examples/short_hamilton_clip.mp4``, 640x360, about 30 fps) is
replayed in real time by the newest-frame reader, as a camera would deliver it, to a matcher whose watchlist holds
Lin-Manuel Miranda (enrolled from ``lin-manuel-miranda.png``); the alert cooldown is off so every matching frame
raises an alert, which is written to a real SQLite database (crop file + row + audit entry) and published to a
subscriber. Latency = from the frame's arrival (decoded) to the alert published. Frames the matcher had no time for
are dropped by the reader (counted), never queued: that is what bounds the latency.

Capacity: the same clip upscaled to 1280x720, every frame through detect + align + embed + compare on one core
(process pinned to one CPU, ONNX Runtime with one thread). Streams at 5 fps one core sustains = 1 / (5 x mean
seconds per frame); faces per frame are reported since the cost grows with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import av
import cv2
import numpy as np
from vigil.faces.live_runtime import AlertBroker, alert_event

from vigil.db.base import utcnow
from vigil.db.face_models import Deployment, Subject, Watchlist, WatchlistEntry
from vigil.faces.live import record_alert
from vigil.faces.live_engine import LatestFrameReader, LiveMatcher, WatchlistVectors
from vigil.settings import load_settings
from vigil.system import System, open_system, prepare
from vigil.vision.faces.recognizer import default_recognizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import shared_data

EXAMPLES = Path("faces-face_recognition") / "examples"


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def _watchlist(photo: Path) -> WatchlistVectors:
    image = cv2.imread(str(photo))
    vector = default_recognizer(threads=1).analyse(image).embeddings[:1]
    return WatchlistVectors(np.array([1]), np.array([1]), vector, "mobilefacenet")


def _deployment_id(system_dir: Path) -> tuple[System, int]:
    """A real SQLite system with one live deployment row to hang the alerts on."""
    system = open_system(load_settings(data_dir=system_dir))
    prepare(system)
    with system.sessions() as db:
        now = utcnow()
        subject = Subject(
            reference="BENCH-1",
            category="wanted",
            reason="benchmark",
            authority="benchmark",
            expires_on=now.date() + timedelta(days=1),
            added_by_id=1,
        )
        watchlist = Watchlist(name="bench", kind="deployment", created_by_id=1)
        db.add_all([subject, watchlist])
        db.flush()
        db.add(WatchlistEntry(watchlist_id=watchlist.id, subject_id=subject.id, model="mobilefacenet", added_by_id=1))
        deployment = Deployment(
            name="bench",
            location="bench",
            streams="[]",
            window_start=now,
            window_end=now + timedelta(hours=1),
            threshold=0.6,
            authorising_officer="bench",
            status="live",
            created_by_id=1,
        )
        db.add(deployment)
        db.commit()
        return system, deployment.id


def latency(clip: Path, watchlist: WatchlistVectors, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        system, deployment_id = _deployment_id(Path(tmp))
        matcher = LiveMatcher(
            recognizer=default_recognizer(threads=2), watchlist=watchlist, threshold=0.6, cooldown_s=0
        )
        broker = AlertBroker()
        reader = LatestFrameReader(str(clip), realtime=True).start()
        processed, latencies, per_frame = 0, [], []
        began = time.monotonic()
        for frame in reader.frames():
            if time.monotonic() - began > seconds:
                break
            outcome = matcher.process(frame.image, frame.stream_s, frame.arrived)
            per_frame.append(time.monotonic() - frame.arrived)
            processed += 1
            for match in outcome.matches:
                with system.sessions() as db:
                    alert = record_alert(
                        db, deployment_id=deployment_id, match=match, camera="bench", data_dir=Path(tmp), at=utcnow()
                    )
                    db.commit()
                    broker.publish(
                        deployment_id, alert_event(alert.id, alert.subject_id, alert.score, alert.at, "bench")
                    )
                latencies.append(time.monotonic() - match.arrived)
        reader.stop()
        system.close()
    print(f"replayed {reader.decoded} frames in real time; matched {processed} (the rest dropped as stale)")
    for label, values in (
        ("frame -> result, every processed frame", per_frame),
        ("frame -> alert published", latencies),
    ):
        p50, p95 = (_percentile(values, q) * 1000 for q in (50, 95))
        print(f"{label} ({len(values)}): p50 {p50:.0f} ms, p95 {p95:.0f} ms")


def capacity(clip: Path, watchlist: WatchlistVectors, frames: int, max_side: int) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    recognizer = default_recognizer(threads=1, max_side=max_side)
    matcher = LiveMatcher(recognizer=recognizer, watchlist=watchlist, threshold=0.6)
    images = []
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= frames:
                break
            images.append(cv2.resize(frame.to_ndarray(format="bgr24"), (1280, 720), interpolation=cv2.INTER_LINEAR))
    matcher.process(images[0], 0.0)  # load the models
    faces, began = 0, time.perf_counter()
    for index, image in enumerate(images):
        faces += matcher.process(image, index / 5).faces
    spent = (time.perf_counter() - began) / len(images)
    print(
        f"720p, detector input {max_side} px, one core: {spent * 1000:.0f} ms per frame "
        f"({faces / len(images):.1f} faces per frame) "
        f"-> {1 / (5 * spent):.1f} streams at 5 fps"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="How long to replay for the latency run.")
    parser.add_argument("--frames", type=int, default=120, help="Frames timed for the capacity run.")
    args = parser.parse_args()
    clip, photo = (
        shared_data() / EXAMPLES / "short_hamilton_clip.mp4",
        shared_data() / EXAMPLES / "lin-manuel-miranda.png",
    )
    if not clip.is_file() or not photo.is_file():
        print(f"shared face data not found under {shared_data()}", file=sys.stderr)
        return 1
    print(f"machine: {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}")
    watchlist = _watchlist(photo)
    latency(clip, watchlist, args.seconds)
    for max_side in (1280, 640):
        capacity(clip, watchlist, args.frames, max_side)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
