"""Live rules cost and frame-to-alert latency on PETS09 S2L1 (795 frames, 480x360) played as a camera.

Five rules (one of each kind) are stored on SQLite; every frame goes through the analyser (bundled CenterNet) and
the rules observer exactly as in a camera worker. Per frame it times the analyser and the observer (rule engine,
snapshot JPEG, the alert's write and commit); for the frames that raised alerts, the frame-to-alert latency is
from the frame being handed to the analyser to the alert committed (readable by the console's next poll, which
adds at most half a second). Prints one table.

    PYTHONPATH=src:. .venv/bin/python bench/live_rules.py
"""

from __future__ import annotations

import itertools
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from bench._common import pets, setup_for, table
from tests.support.builders import make_camera, make_user

from vigil.analysis.pipeline import build_analyser, frames
from vigil.db.session import session_scope
from vigil.live.observers import LiveFrame
from vigil.live.rules.observer import RulesObserver
from vigil.live.rules.service import create_rule, parse_request
from vigil.settings import Settings
from vigil.system import open_system, prepare

ZONE = [[0.3, 0.45], [0.7, 0.45], [0.7, 0.8], [0.3, 0.8]]
RULES = [
    {"kind": "zone_entry", "polygon": ZONE},
    {"kind": "line_crossing", "line": [[0.45, 0.3], [0.45, 1.0]]},
    {"kind": "loitering", "polygon": ZONE, "seconds": 5},
    {"kind": "occupancy", "polygon": ZONE, "seconds": 2, "count": 2},
    {"kind": "left_behind", "seconds": 10},
]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "data", secret_key="bench-secret-key-0123456789")
        system = open_system(settings)
        prepare(system)
        with session_scope(system.sessions) as db:
            olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=["BENCH-1"])
            make_camera(db, "PETS")
            for rule in RULES:
                request = parse_request({"name": rule["kind"], "camera": "PETS", "days": 1} | rule)
                create_rule(db=db, user=olive, request=request, case="BENCH-1", purpose="benchmark of live rules")
        analyser = build_analyser(settings, setup_for(480, 360, 10.0, 795, detector="centernet"))
        observer = RulesObserver(settings=settings, sessions=system.sessions, camera_code="PETS")
        start = datetime.now(UTC)
        analysis, rules, latency = [], [], []
        for frame in itertools.islice(frames(pets() / "vtest.avi", 0), 795):
            began = time.perf_counter()
            analyser.process(frame)
            analysed = time.perf_counter()
            before = observer.raised
            observer.observe(
                LiveFrame("PETS", frame.image, start + timedelta(seconds=frame.timestamp), analyser.scene())
            )
            done = time.perf_counter()
            analysis.append(analysed - began)
            rules.append(done - analysed)
            if observer.raised > before:
                latency.append(done - began)
        system.close()
    ms = lambda values, q: f"{1000 * float(np.percentile(values, q)):.1f}"  # noqa: E731
    print(
        table(
            ["frames", "alerts", "analyser ms p50/p95", "rules ms p50/p95", "frame-to-alert ms p50/p95/max"],
            [
                [
                    len(analysis),
                    len(latency),
                    f"{ms(analysis, 50)} / {ms(analysis, 95)}",
                    f"{ms(rules, 50)} / {ms(rules, 95)}",
                    f"{ms(latency, 50)} / {ms(latency, 95)} / {ms(latency, 100)}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
