"""Latency of "cameras near an incident" over 100,000 registered cameras, on SQLite and PostgreSQL + PostGIS.

    .venv/bin/python bench/registry_near.py [--cameras 100000] [--runs 300] [--backend sqlite|postgres|both]

Builds each database with the real migrations (so the real indexes: the latitude/longitude index used by the
bounding-box prefilter, and on PostgreSQL the PostGIS GiST index of ``registry_geo.camera_points``), fills it
with 20,000 active owners holding 100,000 cameras (60 % around 15 Cumbrian towns, the rest spread over the
county) and 300 force cameras, then times :func:`vigil.registry.nearby.cameras_near` (the whole service:
authorisation, registered and force cameras, facing/retention, sorting, both audit entries and the owners'
contact details) for incidents at random places in the towns, radius 300 m and 1 km. PostgreSQL runs on a
throwaway server started like the tests' (tests/support/postgres.py). Prints p50/p95/max per backend and radius.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.builders import make_user
from tests.support.postgres import throwaway_postgres

from vigil.db.migrate import upgrade
from vigil.db.models import Camera, Location
from vigil.db.registry_models import RegisteredCamera, RegistryOwner
from vigil.db.session import make_engine
from vigil.governance.audit import AuditContext
from vigil.registry.nearby import NearQuery, cameras_near, postgis_schema
from vigil.settings import Settings

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TOWNS = [
    (54.8925, -2.9329),  # Carlisle
    (54.6641, -2.7527),  # Penrith
    (54.3280, -2.7463),  # Kendal
    (54.5469, -3.5875),  # Whitehaven
    (54.6436, -3.5430),  # Workington
    (54.1109, -3.2265),  # Barrow-in-Furness
    (54.6013, -3.1347),  # Keswick
    (54.1960, -3.0930),  # Ulverston
    (54.4291, -2.9634),  # Windermere
    (54.6605, -3.3618),  # Cockermouth
    (54.7143, -3.4947),  # Maryport
    (54.9497, -2.7355),  # Brampton
    (54.5770, -2.4890),  # Appleby
    (54.8256, -3.1590),  # Wigton
    (54.4337, -2.9617),  # Ambleside
]
COUNTY = (54.05, 55.15, -3.65, -2.25)  # south, north, west, east
CONTEXT = AuditContext("CUM-2026-000001", "benchmark of the cameras-near-incident search")


def random_point(rng: random.Random) -> tuple[float, float]:
    if rng.random() < 0.6:
        lat, lon = rng.choice(TOWNS)
        return rng.gauss(lat, 0.012), rng.gauss(lon, 0.02)  # about 1.3 km either way
    south, north, west, east = COUNTY
    return rng.uniform(south, north), rng.uniform(west, east)


def fill(engine: Engine, cameras: int, rng: random.Random) -> None:
    owners = max(1, cameras // 5)
    with engine.begin() as conn:
        conn.execute(
            insert(RegistryOwner),
            [
                {
                    "kind": "resident",
                    "status": "active",
                    "name": f"Owner {i}",
                    "address": f"{i} High Street",
                    "postcode": "CA11 7BX",
                    "email": f"owner{i}@example.org",
                    "phone": "",
                    "consent_version": "2026-1",
                    "consent_text": "bench",
                    "created_at": NOW - timedelta(days=rng.uniform(0, 700)),
                }
                for i in range(owners)
            ],
        )
        rows = []
        for i in range(cameras):
            lat, lon = random_point(rng)
            rows.append(
                {
                    "owner_id": i % owners + 1,
                    "label": "",
                    "kind": rng.choice(("doorbell", "doorbell", "cctv", "dashcam")),
                    "latitude": lat,
                    "longitude": lon,
                    "facing_deg": rng.choice((None, rng.uniform(0, 360))),
                    "retention_days": rng.choice((7, 14, 30, 31)),
                    "created_at": NOW,
                }
            )
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(RegisteredCamera), rows[start : start + 10_000])
    with Session(engine) as db:
        for i in range(300):
            lat, lon = random_point(rng)
            site = Location(name=f"Site {i}", address="", latitude=lat, longitude=lon, created_at=NOW)
            db.add(site)
            db.flush()
            db.add(Camera(code=f"CAM-{i:03d}", name=f"Camera {i}", location_id=site.id, created_at=NOW))
        make_user(db, "bench", trained_for=("registry", "requests"))
        db.commit()


def measure(
    engine: Engine, settings: Settings, runs: int, radius: float, rng: random.Random
) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per search (the CPU time is what the search costs when
    other work competes for the processors; on PostgreSQL it leaves out the server's own time)."""
    timings, cpu, found = [], [], []
    with Session(engine) as db:
        from vigil.governance.users import get_user

        user = get_user(db, "bench")
        for _ in range(runs):
            lat, lon = rng.choice(TOWNS)
            query = NearQuery(rng.gauss(lat, 0.01), rng.gauss(lon, 0.015), radius, NOW - timedelta(days=3))
            started, started_cpu = time.perf_counter(), time.process_time()
            results = cameras_near(db, settings=settings, user=user, context=CONTEXT, query=query, now=NOW)
            db.commit()
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            found.append(len(results))
    print(f"    cameras found per search: median {statistics.median(found):.0f}, max {max(found)}")
    return timings, cpu


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    print(f"  {label}: p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms")


@contextmanager
def database(backend: str, folder: Path) -> Iterator[tuple[Engine, Settings]]:
    if backend == "sqlite":
        settings = Settings(data_dir=folder, secret_key="bench-secret-key-0123456789")  # type: ignore[call-arg]
        yield make_engine(settings), settings
        return
    with throwaway_postgres() as url:
        settings = Settings(data_dir=folder, secret_key="bench-secret-key-0123456789", database_url=url)  # type: ignore[call-arg]
        yield make_engine(settings), settings


def run(backend: str, cameras: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp, database(backend, Path(tmp)) as (engine, settings):
        upgrade(engine)
        started = time.perf_counter()
        fill(engine, cameras, random.Random(7))
        with Session(engine) as db:
            method = "PostGIS GiST (ST_DWithin)" if postgis_schema(db) else "bounding box + haversine"
        print(f"{backend}: {cameras:,} cameras loaded in {time.perf_counter() - started:.0f} s; query by {method}")
        for radius in (300.0, 1000.0):
            rng = random.Random(11)
            measure(engine, settings, 20, radius, rng)  # warm-up
            wall, cpu = measure(engine, settings, runs, radius, rng)
            report(f"radius {radius:g} m, {runs} searches, wall clock", wall)
            report(f"radius {radius:g} m, {runs} searches, process CPU", cpu)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run(backend, args.cameras, args.runs)


if __name__ == "__main__":
    main()
