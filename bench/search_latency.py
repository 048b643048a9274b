"""Latency of attribute searches over 1,000,000 synthetic tracks in the embedded (SQLite) database.

    .venv/bin/python bench/search_latency.py [--tracks 1000000] [--runs 240] [--keep DIR]

Builds a SQLite file in a temporary folder with the real migrations (so the real indices), fills it with
synthetic tracks from realistic distributions (125 cameras in 15 towns, a year of time with a day/night
activity curve, people 65 %, cars 24 %, colours, carried objects, headings, speeds, sizes, dwell times, a
zone on some cameras) by bulk inserts, then times a mix of realistic attribute queries through
:func:`vigil.search.query.filters.find_tracks` (the service's query path: SQL, zone/line checks in Python, ORM
loading of the 60 result rows with their cameras and footage; not the audit entry). Each query kind runs with
fresh random parameters (cameras, days, colours) every time. Prints p50/p95/max per kind and overall.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vigil.analysis.columns import carried_mask, colour_mask
from vigil.db.migrate import upgrade
from vigil.db.session import make_engine
from vigil.domain.vocabulary import CARRIED_CLASSES, COMPASS, PALETTE
from vigil.search.query.filters import find_tracks
from vigil.search.query.track_query import MapArea, TrackQuery
from vigil.settings import Settings

ZONE = ZoneInfo("Europe/London")
END = datetime(2026, 11, 22, tzinfo=UTC)
START = END - timedelta(days=365)
TOWNS = 15
CAMERAS = 125
CLASSES = (("person", 0.65), ("car", 0.24), ("bicycle", 0.03), ("truck", 0.03), ("bus", 0.01))
CLASSES += (("motorcycle", 0.02), ("dog", 0.02))
COLOUR_WEIGHTS = dict(
    black=0.26, blue=0.15, grey=0.15, white=0.12, red=0.06, green=0.05, brown=0.06, pink=0.03, purple=0.02
)
COLOUR_WEIGHTS.update(yellow=0.04, orange=0.02)
CARRIED_RATES = {"backpack": 0.12, "handbag": 0.08, "umbrella": 0.03, "suitcase": 0.02}
HOURLY = np.array([1, 1, 1, 1, 1, 2, 4, 7, 9, 8, 8, 9, 10, 10, 9, 9, 10, 10, 9, 7, 5, 4, 3, 2], dtype=float)
FMT = "%Y-%m-%d %H:%M:%S.%f"


def build(path: Path, n: int, seed: int = 7) -> Engine:
    settings = Settings(data_dir=path, secret_key="bench-secret-key-0123456789")  # type: ignore[call-arg]
    engine = make_engine(settings)
    upgrade(engine)
    rng = np.random.default_rng(seed)
    raw = engine.raw_connection()
    cur = raw.cursor()
    for pragma in ("journal_mode=DELETE", "journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
        cur.execute(f"PRAGMA {pragma}")
    cur.execute("BEGIN")
    now = datetime.now(UTC).strftime(FMT)
    cur.execute(
        "INSERT INTO users (id, username, display_name, role, password_hash, is_active, must_change_password, "
        "failed_logins, created_at) VALUES (1, 'bench', 'Bench', 'investigator', 'x', 1, 0, 0, ?)",
        (now,),
    )
    for c in range(CAMERAS):
        town = c % TOWNS
        lat, lon = 54.3 + 0.05 * town + rng.normal(0, 0.004), -3.2 + 0.07 * town + rng.normal(0, 0.004)
        cur.execute(
            "INSERT INTO locations (id, name, address, latitude, longitude, created_at) VALUES (?, ?, '', ?, ?, ?)",
            (c + 1, f"Town {town} site {c}", lat, lon, now),
        )
        zones = json.dumps([{"name": "doorway", "polygon": [[0, 0], [50, 0], [50, 50]]}]) if c % 5 == 0 else "[]"
        cur.execute(
            "INSERT INTO cameras (id, code, name, location_id, bearing_deg, zones, is_active, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            (c + 1, _camera(c), f"Camera {c}", c + 1, None if c % 3 == 0 else 90.0 * (c % 4), zones, now),
        )
        cur.execute(
            "INSERT INTO footage (id, camera_id, original_name, stored_path, sha256, size_bytes, container, codec, "
            "width, height, fps, duration_s, start_time, start_time_source, ingested_at, ingested_by_id, source) "
            "VALUES (?, ?, 'x.mp4', 'x', ?, 1, 'mp4', 'h264', 1920, 1080, 25, 31536000, ?, 'operator', ?, 1, 'b')",
            (c + 1, c + 1, f"{c:064d}", START.strftime(FMT), now),
        )
        cur.execute(
            "INSERT INTO analysis_jobs (id, footage_id, status, params, total_frames, progress_frames, "
            "checkpoint_frame, tracks_written, created_by_id, created_at) "
            "VALUES (?, ?, 'done', '{}', 0, 0, 0, 0, 1, ?)",
            (c + 1, c + 1, now),
        )
    for first in range(0, n, 100_000):
        cur.executemany(_INSERT, _rows(rng, first, min(n, first + 100_000)))
    cur.execute("COMMIT")
    cur.execute("ANALYZE")
    cur.execute("PRAGMA journal_mode=WAL")
    raw.close()
    return engine


_COLUMNS = (
    "id, footage_id, camera_id, job_id, track_no, class_name, first_seen, last_seen, first_frame, last_frame, "
    "upper_colours, lower_colours, body_colours, carried, height_px, height_m, speed_px_s, speed_m_s, heading, "
    "heading_deg, dwell_s, zone_dwell, path, score, thumbnail_path, upper_mask, lower_mask, body_mask, "
    "carried_mask, start_minute"
)
_INSERT = f"INSERT INTO tracks ({_COLUMNS}) VALUES ({', '.join('?' * 30)})"


def _colours(rng: np.random.Generator, k: int) -> list[str]:
    names, weights = list(COLOUR_WEIGHTS), np.array(list(COLOUR_WEIGHTS.values()))
    picks = rng.choice(len(names), size=(k, 2), p=weights / weights.sum())
    two = rng.random(k) < 0.3
    return [names[a] + (f",{names[b]}" if t and a != b else "") for (a, b), t in zip(picks, two, strict=True)]


def _rows(rng: np.random.Generator, lo: int, hi: int) -> list[tuple[object, ...]]:
    k = hi - lo
    days = rng.integers(0, 365, k)
    hours = rng.choice(24, size=k, p=HOURLY / HOURLY.sum())
    seconds = days * 86400 + hours * 3600 + rng.integers(0, 3600, k)
    dwell = np.round(np.exp(rng.normal(2.0, 0.9, k)) + 1, 2)
    names, weights = [c for c, _ in CLASSES], np.array([w for _, w in CLASSES])
    classes = rng.choice(len(names), size=k, p=weights / weights.sum())
    cameras = rng.integers(0, CAMERAS, k)
    upper, lower, body = _colours(rng, k), _colours(rng, k), _colours(rng, k)
    carry = {name: rng.random(k) < rate for name, rate in CARRIED_RATES.items()}
    rows = []
    for i in range(k):
        cls, cam = names[classes[i]], int(cameras[i])
        first = START + timedelta(seconds=int(seconds[i]))
        person = cls == "person"
        carried = ",".join(c for c in CARRIED_CLASSES if person and carry[c][i])
        heading = _heading(rng, cam)
        height = float(rng.uniform(40, 400))
        zone = {"doorway": round(float(dwell[i]) / 2, 2)} if cam % 5 == 0 and rng.random() < 0.2 else {}
        up, low = (upper[i], lower[i]) if person else ("", "")
        bod = body[i] if not person else ""
        rows.append(
            (
                lo + i + 1, cam + 1, cam + 1, cam + 1, lo + i + 1, cls, first.strftime(FMT),
                (first + timedelta(seconds=float(dwell[i]))).strftime(FMT), 0, int(dwell[i] * 25), up, low, bod,
                carried, height, None, float(rng.uniform(0.1, 3.0)) * height, None, heading, None, float(dwell[i]),
                json.dumps(zone, sort_keys=True), "[[0.0, 10.0, 20.0], [1.0, 30.0, 25.0]]", 0.8, None,
                colour_mask(up.split(",")), colour_mask(low.split(",")), colour_mask(bod.split(",")),
                carried_mask(carried.split(",")), (first.astimezone(ZONE).hour * 60 + first.astimezone(ZONE).minute),
            )
        )  # fmt: skip
    return rows


def _heading(rng: np.random.Generator, camera: int) -> str:
    if rng.random() < 0.1:
        return "stationary"
    if camera % 3 == 0:
        return str(rng.choice(["left", "right", "up", "down", "up-left", "down-right"]))
    return str(rng.choice(COMPASS))


def _camera(index: int) -> str:
    return f"T{index % TOWNS:02d}-{index:03d}"


def _town_cameras(rng: random.Random) -> list[str]:
    return [_camera(c) for c in range(rng.randrange(TOWNS), CAMERAS, TOWNS)]


def _day(rng: random.Random) -> datetime:
    return START + timedelta(days=rng.randrange(1, 364))


def _colour(rng: random.Random) -> str:
    return rng.choice([p.value for p in PALETTE])


QUERIES: dict[str, Callable[[random.Random], TrackQuery]] = {
    "description (town, 90 min, colours, class)": lambda r: TrackQuery(
        cameras=_town_cameras(r),
        start=(d := _day(r)) + timedelta(hours=14),
        end=d + timedelta(hours=15, minutes=30),
        classes=["person"],
        upper_colours=[_colour(r)],
        lower_colours=["black", "grey", "blue"],
    ),
    "one camera, one day, carried": lambda r: TrackQuery(
        cameras=[_camera(r.randrange(CAMERAS))],
        start=(d := _day(r)),
        end=d + timedelta(days=1),
        carried=["backpack"],
    ),
    "vehicle colour, area, a week": lambda r: TrackQuery(
        area=MapArea(lat=54.3 + 0.05 * (t := r.randrange(TOWNS)), lon=-3.2 + 0.07 * t, radius_m=2000),
        start=(d := _day(r)),
        end=d + timedelta(days=7),
        classes=["car"],
        vehicle_colours=[_colour(r)],
    ),
    "time of day, any day, colour": lambda r: TrackQuery(
        time_from=datetime(2000, 1, 1, (h := r.randrange(24))).time(),
        time_to=datetime(2000, 1, 1, (h + 1) % 24).time(),
        classes=["person"],
        upper_colours=[_colour(r)],
    ),
    "rare: colour + suitcase + heading, all year": lambda r: TrackQuery(
        classes=["person"], upper_colours=[_colour(r)], carried=["suitcase"], headings=[r.choice(COMPASS)]
    ),
    "loitering in a zone, a month": lambda r: TrackQuery(
        cameras=[_camera(5 * r.randrange(CAMERAS // 5))],
        start=(d := _day(r)),
        end=d + timedelta(days=30),
        dwell_min=20,
        zone="doorway",
    ),
    "running at night, last week, town": lambda r: TrackQuery(
        cameras=_town_cameras(r),
        start=END - timedelta(days=7),
        end=END,
        time_from=datetime(2000, 1, 1, 22).time(),
        time_to=datetime(2000, 1, 1, 5, 59).time(),
        speed_min=1.5,
        speed_unit="heights/s",
    ),
    "a year, one camera, red top": lambda r: TrackQuery(cameras=[_camera(r.randrange(CAMERAS))], upper_colours=["red"]),
}


def measure(engine: Engine, runs: int, seed: int = 11) -> dict[str, list[float]]:
    rng = random.Random(seed)
    kinds = list(QUERIES)
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    counts: dict[str, list[int]] = {kind: [] for kind in kinds}
    cpu_times: dict[str, list[float]] = {kind: [] for kind in kinds}
    with Session(engine) as db:
        for kind in kinds:  # one warm-up run each (page cache, statement cache)
            find_tracks(db, QUERIES[kind](rng))
        for i in range(runs):
            kind = kinds[i % len(kinds)]
            query = QUERIES[kind](rng)
            db.expunge_all()
            began, cpu = time.perf_counter(), time.process_time()
            found = find_tracks(db, query)
            times[kind].append((time.perf_counter() - began) * 1000)
            cpu_times[kind].append((time.process_time() - cpu) * 1000)
            counts[kind].append(len(found.tracks))
    for kind in kinds:
        times[kind + " (mean results)"] = [statistics.fmean(counts[kind])]
        times[kind + " (cpu)"] = cpu_times[kind]
    return times


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=240)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="vigil-search-bench-"))
    began = time.perf_counter()
    if args.keep and (folder / "vigil.db").exists():
        engine = make_engine(Settings(data_dir=folder, secret_key="bench-secret-key-0123456789"))  # type: ignore[call-arg]
        print(f"reusing {folder / 'vigil.db'}")
    else:
        engine = build(folder, args.tracks)
        print(f"built {args.tracks:,} tracks in {time.perf_counter() - began:.0f} s ({folder})")
    times = measure(engine, args.runs)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; wall clock and this process's CPU time")
    print(f"\n{'query kind':46} {'runs':>5} {'results':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p95':>8}")
    overall: list[float] = []
    overall_cpu: list[float] = []
    for kind in QUERIES:
        t, c = times[kind], times[kind + " (cpu)"]
        overall, overall_cpu = overall + t, overall_cpu + c
        mean_results = times[kind + " (mean results)"][0]
        print(
            f"{kind:46} {len(t):5d} {mean_results:8.1f} {pct(t, 50):8.1f} {pct(t, 95):8.1f} {max(t):8.1f}"
            f" {pct(c, 95):8.1f}"
        )
    print(
        f"{'overall':46} {len(overall):5d} {'':8} {pct(overall, 50):8.1f} {pct(overall, 95):8.1f}"
        f" {max(overall):8.1f} {pct(overall_cpu, 95):8.1f}"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
