"""Time to build a research dashboard for one camera-day and one camera-month over a synthetic database.

    .venv/bin/python bench/dashboard_speed.py [--tracks 100000] [--days 31] [--runs 5] [--keep DIR]

Builds a SQLite file in a temporary folder with the real migrations (so the real indices), fills it by bulk
inserts with ``--tracks`` tracks of one busy 1920x1080 camera spread over ``--days`` days with a day/night
activity curve (people 65 %, cars 25 %, bicycles 7 %, dogs 3 %), each with a 3-6 point path across the frame and
observations every 0.5 s of its dwell (2-60 s, log-normal), plus a second camera with a tenth of the tracks. Then
times :func:`vigil.search.dashboards.service.dashboard` (authorisation, the counts query, the path and dwell heatmaps,
the audit entry) for a day and for the whole month, and drawing the four pictures
(:class:`vigil.search.dashboards.charts.Charts`, without a background frame: the footage file is not real).
Prints the median and the worst of ``--runs`` runs of each.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vigil.db.migrate import upgrade
from vigil.db.models import User
from vigil.db.session import make_engine
from vigil.governance.audit import AuditContext
from vigil.search.dashboards.charts import Charts
from vigil.search.dashboards.service import HEATMAPS, Dashboard, Dataset, dashboard
from vigil.settings import Settings

ZONE = ZoneInfo("Europe/London")
START = datetime(2026, 10, 1, tzinfo=UTC)
CLASSES, CLASS_P = ("person", "car", "bicycle", "dog"), (0.65, 0.25, 0.07, 0.03)
HOURLY = np.array([1, 1, 1, 1, 1, 2, 4, 7, 9, 8, 8, 9, 10, 10, 9, 9, 10, 10, 9, 7, 5, 4, 3, 2], dtype=float)
FMT = "%Y-%m-%d %H:%M:%S.%f"
WIDTH, HEIGHT = 1920, 1080
CONTEXT = AuditContext(case_ref="BENCH-1", purpose="benchmark of the research dashboards")


def build(folder: Path, n: int, days: int, seed: int = 11) -> tuple[Settings, Engine, dict[str, int]]:
    settings = Settings(data_dir=folder, secret_key="bench-secret-key-0123456789")
    engine = make_engine(settings)
    upgrade(engine)
    rng = np.random.default_rng(seed)
    raw = engine.raw_connection()
    cur = raw.cursor()
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
        cur.execute(f"PRAGMA {pragma}")
    cur.execute("BEGIN")
    now = datetime.now(UTC).strftime(FMT)
    cur.execute(
        "INSERT INTO users (id, username, display_name, role, password_hash, is_active, must_change_password, "
        "failed_logins, created_at) VALUES (1, 'bench', 'Bench', 'investigator', 'x', 1, 0, 0, ?)",
        (now,),
    )
    today = date.today()
    cur.execute(
        "INSERT INTO training_records (user_id, capability, course, completed_on, expires_on, recorded_by_id, "
        "recorded_at) VALUES (1, 'analytics', 'bench', ?, ?, 1, ?)",
        (str(today - timedelta(days=1)), str(today + timedelta(days=30)), now),
    )
    counts = {"PEN-01": n, "PEN-02": n // 10}
    next_track, next_obs = 1, 1
    for c, (code, k) in enumerate(counts.items(), start=1):
        cur.execute("INSERT INTO locations (id, name, address, created_at) VALUES (?, ?, '', ?)", (c, code, now))
        cur.execute(
            "INSERT INTO cameras (id, code, name, location_id, zones, is_active, created_at) "
            "VALUES (?, ?, ?, ?, '[]', 1, ?)",
            (c, code, code, c, now),
        )
        cur.execute(
            "INSERT INTO footage (id, camera_id, original_name, stored_path, sha256, size_bytes, container, codec, "
            "width, height, fps, duration_s, start_time, start_time_source, ingested_at, ingested_by_id, source) "
            "VALUES (?, ?, 'x.mp4', 'missing.mp4', ?, 1, 'mp4', 'h264', ?, ?, 25, ?, ?, 'operator', ?, 1, 'b')",
            (c, c, f"{c:064d}", WIDTH, HEIGHT, days * 86400.0, START.strftime(FMT), now),
        )
        cur.execute(
            "INSERT INTO analysis_jobs (id, footage_id, status, params, total_frames, progress_frames, "
            "checkpoint_frame, tracks_written, created_by_id, created_at) "
            "VALUES (?, ?, 'done', '{}', 0, 0, 0, 0, 1, ?)",
            (c, c, now),
        )
        for tracks, observations in _rows(rng, camera=c, first_id=next_track, first_obs=next_obs, k=k, days=days):
            cur.executemany(_INSERT_TRACK, tracks)
            cur.executemany(_INSERT_OBS, observations)
            next_track += len(tracks)
            next_obs += len(observations)
    cur.execute("COMMIT")
    cur.execute("ANALYZE")
    cur.execute("PRAGMA journal_mode=WAL")
    raw.close()
    return settings, engine, {"tracks": next_track - 1, "observations": next_obs - 1}


_INSERT_TRACK = (
    "INSERT INTO tracks (id, footage_id, camera_id, job_id, track_no, class_name, first_seen, last_seen, "
    "first_frame, last_frame, upper_colours, lower_colours, body_colours, carried, height_px, speed_px_s, heading, "
    "dwell_s, zone_dwell, path, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', '', '', '', 100, 50, '', ?, '{}', "
    "?, 0.8)"
)
_INSERT_OBS = (
    "INSERT INTO observations (id, track_id, frame_index, t, x0, y0, x1, y1, score) VALUES (?,?,?,?,?,?,?,?,?)"
)


def _rows(
    rng: np.random.Generator, *, camera: int, first_id: int, first_obs: int, k: int, days: int
) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    """Tracks and their observations in batches of 20,000 tracks."""
    for lo in range(0, k, 20_000):
        size = min(20_000, k - lo)
        day = rng.integers(0, days, size)
        hour = rng.choice(24, size=size, p=HOURLY / HOURLY.sum())
        offset = day * 86400 + hour * 3600 + rng.integers(0, 3600, size)
        dwell = np.clip(np.exp(rng.normal(2.0, 0.8, size)), 2.0, 60.0).round(1)
        kinds = rng.choice(len(CLASSES), size=size, p=CLASS_P)
        tracks: list[tuple[object, ...]] = []
        observations: list[tuple[object, ...]] = []
        for i in range(size):
            track_id = first_id + lo + i
            points = _walk(rng)
            first = START + timedelta(seconds=int(offset[i]))
            path = "[" + ", ".join(f"[{t:.1f}, {x:.1f}, {y:.1f}]" for t, (x, y) in enumerate(points)) + "]"
            tracks.append(
                (track_id, camera, camera, camera, track_id, CLASSES[kinds[i]], first.strftime(FMT),
                 (first + timedelta(seconds=float(dwell[i]))).strftime(FMT), float(dwell[i]), path)
            )  # fmt: skip
            steps = max(2, int(dwell[i] * 2))
            along = np.linspace(0, len(points) - 1, steps)
            xs = np.interp(along, np.arange(len(points)), points[:, 0])
            ys = np.interp(along, np.arange(len(points)), points[:, 1])
            for j in range(steps):
                x, y, t = float(xs[j]), float(ys[j]), float(offset[i]) + j * 0.5
                observations.append(
                    (first_obs + len(observations), track_id, j * 12, t, x - 30, y - 160, x + 30, y, 0.8)
                )
        first_obs += len(observations)
        yield tracks, observations


def _walk(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(3, 7))
    start = rng.uniform([0, 400], [WIDTH, HEIGHT])
    steps = rng.normal(0, 250, (n - 1, 2))
    return np.clip(np.vstack([start, start + np.cumsum(steps, axis=0)]), 0, [WIDTH - 1, HEIGHT - 1])


def timed(label: str, runs: int, work: Callable[[], object]) -> None:
    """Wall-clock median and worst, and the median CPU time of this process (the figure that matters when the
    machine is shared: the database here is SQLite, in-process)."""
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    median, worst, on_cpu = (1000 * v for v in (statistics.median(wall), max(wall), statistics.median(cpu)))
    print(f"  {label:<42} median {median:7.0f} ms   worst {worst:7.0f} ms   cpu {on_cpu:7.0f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it (reused if there)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="vigil-dashboard-bench-"))
    began = time.perf_counter()
    if (folder / "vigil.db").exists():
        settings = Settings(data_dir=folder, secret_key="bench-secret-key-0123456789")
        engine = make_engine(settings)
        print(f"reusing the database in {folder} (built with its own --tracks/--days)")
    else:
        settings, engine, sizes = build(folder, args.tracks, args.days)
        print(
            f"built {sizes['tracks']:,} tracks and {sizes['observations']:,} observations on 2 cameras over "
            f"{args.days} days in {time.perf_counter() - began:.1f} s "
            f"(SQLite {(folder / 'vigil.db').stat().st_size / 1e6:.0f} MB)"
        )
    day = START + timedelta(days=args.days // 2)
    ranges = {"camera-day": (day, day + timedelta(days=1)), "camera-month": (START, START + timedelta(days=args.days))}
    charts = Charts(settings)
    with Session(engine) as db:
        user = db.get(User, 1)
        assert user is not None
        common = {"db": db, "user": user, "context": CONTEXT, "camera_codes": ["PEN-01"], "zone": ZONE}
        for name, (start, end) in ranges.items():

            def build_board(
                heatmaps: tuple[Dataset, ...] = HEATMAPS, start: datetime = start, end: datetime = end
            ) -> Dashboard:
                board = dashboard(**common, start=start, end=end, heatmaps=heatmaps)  # type: ignore[arg-type]
                db.commit()
                return board

            board = build_board()
            print(f"{name}: {board.total:,} tracks, {board.counts.size.value} buckets ({len(board.counts.buckets)})")
            timed("whole dashboard, both heatmaps (CLI)", args.runs, build_board)
            timed("page view: counts and busiest times only", args.runs, lambda: build_board(()))
            timed("path heatmap data only", args.runs, lambda: build_board((Dataset.PATHS,)))
            timed("dwell heatmap data only", args.runs, lambda: build_board((Dataset.DWELL,)))
            timed("drawing the four pictures (PNG)", args.runs, functools.partial(_draw, charts, board))
    engine.dispose()


def _draw(charts: Charts, board: Dashboard) -> None:
    charts.counts(board)
    charts.busiest(board)
    charts.heatmap(board, Dataset.PATHS, "PEN-01")
    charts.heatmap(board, Dataset.DWELL, "PEN-01")


if __name__ == "__main__":
    main()
