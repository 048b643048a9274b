"""Live facial recognition: frame-to-alert latency through the camera worker, and how many 720p streams at 5 fps
one CPU core sustains.

    .venv/bin/python bench/live_fr.py [--seconds 60]

Latency: the Hamilton clip (``faces-face_recognition/examples/short_hamilton_clip.mp4``, 640x360, about 30 fps),
re-encoded with a keyframe a second, is looped as a camera by the tests' RTSP server on 127.0.0.1; the live
supervisor runs the camera's real worker process, which decodes the stream once (at ``VIGIL_LIVE__ANALYSIS_FPS``, 5)
and hands the frames to the face watch of a live deployment whose watchlist holds Lin-Manuel Miranda (enrolled
from ``lin-manuel-miranda.png``; threshold 0.6). Each alert is stored by the worker (crop file, row, audit entry) in
a real SQLite database; the benchmark polls the database every 20 ms. Latency = from the frame's time (the stream
clock) to the alert being readable; the console adds up to its 0.5 s poll. The matcher's 10 s cooldown per subject
applies, so a minute gives a handful of alerts.

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
from datetime import date, timedelta
from pathlib import Path

import av
import cv2
import numpy as np
from sqlalchemy import select
from tests.support.builders import make_camera, make_user
from tests.support.rtsp import rtsp_server

from vigil.db.base import utcnow
from vigil.db.face_models import Alert
from vigil.db.live_models import LiveHealth
from vigil.db.session import session_scope
from vigil.faces.images import read_photo
from vigil.faces.live import DeploymentPlan, StreamSpec, plan_deployment
from vigil.faces.live_control import go_live
from vigil.faces.live_engine import LiveMatcher, WatchlistVectors
from vigil.faces.watchlists import SubjectForm, add_subjects, create_subject, create_watchlist, enrol_photos
from vigil.governance.camera_sources import set_source, source_policy
from vigil.settings import load_settings
from vigil.system import System, open_system, prepare
from vigil.vision.faces.recognizer import default_recognizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import shared_data

EXAMPLES = Path("faces-face_recognition") / "examples"
CAMERA = "BENCH-CAM"


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def _watchlist(photo: Path) -> WatchlistVectors:
    image = cv2.imread(str(photo))
    vector = default_recognizer(threads=1).analyse(image).embeddings[:1]
    return WatchlistVectors(np.array([1]), np.array([1]), vector, "mobilefacenet")


def _camera_clip(clip: Path, dest: Path) -> Path:
    """The clip as a camera sends it: H.264, a keyframe a second, no B-frames."""
    with av.open(str(clip)) as source, av.open(str(dest), "w") as sink:
        stream = sink.add_stream("libx264", rate=30)
        stream.codec_context.gop_size = 30
        stream.options = {"preset": "veryfast", "bf": "0", "sc_threshold": "0", "keyint_min": "30"}
        for index, frame in enumerate(source.decode(video=0)):
            image = frame.to_ndarray(format="bgr24")
            if index == 0:
                stream.height, stream.width = image.shape[:2]
                stream.pix_fmt = "yuv420p"
            sink.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        sink.mux(stream.encode(None))
    return dest


def _live_deployment(system: System, photo: Path, url: str) -> None:
    """An operator, the camera with its source, a watchlist with Lin-Manuel Miranda, a deployment started on it."""
    settings = system.settings
    with session_scope(system.sessions) as db:
        olive = make_user(db, "olive", "operator", trained_for=("live_fr",))
        admin = make_user(db, "adam", "admin")
        make_camera(db, CAMERA)
        policy = source_policy(settings)
        set_source(db, user=admin, camera_code=CAMERA, url=url, policy=policy, recording="off")
        form = SubjectForm("BENCH-1", "wanted", "Benchmark subject, wanted on warrant", "Warrant 1", date(2030, 1, 1))
        create_subject(db, user=olive, form=form)
        photos = [(photo.name, read_photo(photo, max_mb=20))]
        recognizer = default_recognizer(threads=1)
        enrol_photos(db, settings=settings, user=olive, recognizer=recognizer, subject_ref="BENCH-1", photos=photos)
        create_watchlist(db, user=olive, name="bench", kind="deployment")
        add_subjects(db, user=olive, watchlist_name="bench", subject_refs=["BENCH-1"])
        now = utcnow()
        plan = DeploymentPlan(
            name="bench",
            location="bench location",
            streams=(StreamSpec(camera=CAMERA),),
            window_start=now - timedelta(minutes=1),
            window_end=now + timedelta(hours=1),
            watchlist="bench",
            threshold=0.6,
            authorising_officer="bench officer",
            public_notice="Live facial recognition benchmark on the loopback camera.",
        )
        deployment = plan_deployment(db, user=olive, plan=plan, sources=policy)
        go_live(db, user=olive, deployment_id=deployment.id, sources=policy)


def latency(clip: Path, photo: Path, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        camera = _camera_clip(clip, Path(tmp) / "camera.mp4")
        with rtsp_server({"hamilton": camera}) as server:
            settings = load_settings(data_dir=Path(tmp) / "data", faces={"allow_local_sources": True})
            system = open_system(settings)
            prepare(system)
            _live_deployment(system, photo, server.url("hamilton"))
            system.live.start()
            seen: dict[int, float] = {}
            began = time.monotonic()
            try:
                while time.monotonic() - began < seconds:
                    with session_scope(system.sessions) as db:
                        for alert_id, at in db.execute(select(Alert.id, Alert.at)):
                            seen.setdefault(alert_id, time.time() - at.timestamp())
                    time.sleep(0.02)
                with session_scope(system.sessions) as db:
                    health = db.get(LiveHealth, CAMERA)
                    facts = f"{health.state}, {health.analysed_fps:g} frames/s to observers" if health else "none"
            finally:
                system.close()
    values = list(seen.values())
    print(f"{seconds:g} s of the looped clip; camera: {facts}")
    p50, p95 = (_percentile(values, q) * 1000 for q in (50, 95))
    print(
        f"frame (stream clock) -> alert stored by the worker ({len(values)} alerts): p50 {p50:.0f} ms, p95 {p95:.0f} ms"
    )


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
    parser.add_argument("--seconds", type=float, default=60.0, help="How long the latency run watches the camera.")
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
    latency(clip, photo, args.seconds)
    watchlist = _watchlist(photo)
    for max_side in (1280, 640):
        capacity(clip, watchlist, args.frames, max_side)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
