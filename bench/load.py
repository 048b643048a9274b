"""Many users at once: 50 signed-in officers, then 200 anonymous visitors, while an analysis job runs.

    PYTHONPATH=src:. .venv/bin/python bench/load.py [--postgres] [--officers 50] [--visitors 200] [--seconds 60]
                                                     [--think 1.0] [--idle 15]

Starts the real app (``vigil serve``, uvicorn, one process) on 127.0.0.1 on a temporary data folder (SQLite, or
with ``--postgres`` a throwaway PostgreSQL server like the tests'), seeds officers trained for analytics, a
camera with a current PIA and analysed footage with a few hundred tracks, and queues real analysis jobs (the shipped
detector) on the shared data's videos, which the server starts on launch. Then, each phase bounded in time:

1. idle: nobody browses for ``--idle`` seconds (the analysis speed alone);
2. officers: ``--officers`` signed-in officers search (audited), open the footage register, a footage's tracks
   and the home page, each waiting ``--think`` seconds (0.5x-1.5x, random) between pages; target p95 < 500 ms;
3. public: ``--visitors`` anonymous clients on the public pages (FR transparency, camera registration, login)
   with the same think time, while one signed-in officer opens pages; target: that officer's p95 < 1 s.

An error is any response other than a page or redirect, or a transport error or timeout (60 s). The analysis
speed is the frames the jobs record per second (their progress rows). Prints one table; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select
from tests.conftest import shared_data_dir
from tests.support.load import (
    CASE,
    PURPOSE,
    Client,
    Tally,
    World,
    drive,
    http_client,
    officer_pages,
    public_pages,
    seed_world,
    sign_in,
)
from tests.support.postgres import throwaway_postgres
from tests.support.scenes import crossing_scene, write_video
from tests.support.webapp import csrf_of, free_port

from vigil.db.models import AnalysisJob, User
from vigil.db.session import session_scope
from vigil.footage.ingest import ingest_footage
from vigil.settings import Settings
from vigil.system import open_system, prepare

SHARED = shared_data_dir()  # VIGIL_SHARED_DATA, or the folder beside the repository
VIDEOS = (
    "pets09-s2l1/vtest.avi",
    "intel-sample-videos/person-bicycle-car-detection.mp4",
    "intel-sample-videos/one-by-one-person-detection.mp4",
    "intel-sample-videos/car-detection.mp4",
)
SECRET = "load-bench-secret-key-0123456789"


@dataclass(frozen=True)
class Phase:
    name: str
    clients: int
    seconds: float
    tally: Tally
    frames_per_s: float


def environment(data_dir: Path, database_url: str | None, officers: int) -> dict[str, str]:
    env = dict(os.environ, VIGIL_DATA_DIR=str(data_dir), VIGIL_SECRET_KEY=SECRET)
    env["VIGIL_WEB__LOGIN_RATE_PER_MINUTE"] = str(10 * (officers + 2))  # all officers log in from 127.0.0.1
    if database_url:
        env["VIGIL_DATABASE_URL"] = database_url
    return env


def prepare_data(settings: Settings, *, officers: int, scratch: Path) -> tuple[World, list[int]]:
    """Officers, analysed footage and the footage to analyse during the run (the server is not running yet)."""
    system = open_system(settings)
    try:
        prepare(system)
        with session_scope(system.sessions) as db:
            world = seed_world(db, settings, users=officers + 2, synthetic_tracks=400)  # + watcher, analyst
        with session_scope(system.sessions) as db:
            user = db.execute(select(User).where(User.username == world.usernames[0])).scalar_one()
            to_analyse = []
            for k, video in enumerate(analysis_videos(scratch)):
                start = datetime(2024, 6, 1, 9, k, tzinfo=UTC)
                result = ingest_footage(
                    db, settings=settings, user=user, source_path=video, camera_code="PEN-01", start=start
                )
                to_analyse.append(result.footage.id)
        return world, to_analyse
    finally:
        system.close()


def analysis_videos(scratch: Path) -> list[Path]:
    """The first of the shared data's real videos; without them, a long generated scene (two figures crossing)."""
    found = [SHARED / name for name in VIDEOS if (SHARED / name).exists()]
    if found:
        return found[:1]  # one video analysed over and over, so the phases' speeds compare
    return [write_video(crossing_scene(2400, idle_before=10, idle_after=10), scratch / "crossing.mp4")]


@contextlib.contextmanager
def server(env: dict[str, str], log: Path, port: int) -> Iterator[str]:
    """``vigil serve`` in its own process group on 127.0.0.1; stopped (and its job worker with it) afterwards."""
    command = [sys.executable, "-m", "vigil.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process)
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def wait_until_up(base_url: str, process: subprocess.Popen[bytes], timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} (see its log)")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/login", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError("the server did not start in time")


class Progress:
    """Frames analysed so far: the highest progress seen on each job (a re-analysis replaces its job row, and SQLite
    may give the new row the old id, so a job is its id and creation time)."""

    def __init__(self, settings: Settings) -> None:
        self._system, self._seen = open_system(settings), dict[tuple[int, datetime], int]()

    def frames(self) -> int:
        with self._system.sessions() as db:
            rows = db.execute(select(AnalysisJob.id, AnalysisJob.created_at, AnalysisJob.progress_frames))
            for job_id, created, done in rows:
                self._seen[job_id, created] = max(done, self._seen.get((job_id, created), 0))
        return sum(self._seen.values())

    def running(self) -> bool:
        with self._system.sessions() as db:
            return bool(db.scalar(select(func.count()).where(AnalysisJob.status.in_(("queued", "running")))))

    def close(self) -> None:
        self._system.close()


async def keep_analysing(base_url: str, username: str, footage_ids: list[int], progress: Progress) -> None:
    """An analyst who re-runs the analysis of each footage in turn (through the web form), so one always runs."""
    async with http_client(base_url) as http:
        await sign_in(http, username)
        while True:
            for footage_id in footage_ids:
                token = csrf_of((await http.get("/footage")).text)
                form = {"csrf_token": token, "force": "1", "case": CASE, "purpose": PURPOSE}  # a re-run states both
                await http.post(f"/footage/{footage_id}/analyse", data=form)
                await asyncio.sleep(1.0)
                while await asyncio.to_thread(progress.running):
                    await asyncio.to_thread(progress.frames)  # sample often: a replaced job's last count is kept
                    await asyncio.sleep(1.0)


async def run_phase(
    name: str, groups: dict[str, tuple[Tally, list[Client]]], seconds: float, progress: Progress
) -> list[Phase]:
    """Run every group's clients together for ``seconds``; one row per group (a group shares one tally)."""
    before, start = await asyncio.to_thread(progress.frames), time.monotonic()
    clients = [client for _tally, members in groups.values() for client in members]
    if clients:
        await drive(clients, seconds=seconds)
    else:
        await asyncio.sleep(seconds)
    elapsed = time.monotonic() - start
    fps = (await asyncio.to_thread(progress.frames) - before) / elapsed
    if not groups:
        return [Phase(name, 0, elapsed, Tally(), fps)]
    return [Phase(f"{name}: {label}", len(members), elapsed, tally, fps) for label, (tally, members) in groups.items()]


def group(
    clients: list[httpx.AsyncClient], pages: Callable[[random.Random], str], think_s: float
) -> tuple[Tally, list[Client]]:
    tally = Tally()
    return tally, [Client(http, pages, tally, think_s) for http in clients]


async def sign_in_all(clients: list[httpx.AsyncClient], names: list[str]) -> list[Phase]:
    """Every officer logs in and states a purpose at once (one row); failures are retried one by one after."""
    tally, start = Tally(), time.monotonic()

    async def one(http: httpx.AsyncClient, name: str) -> bool:
        began = time.perf_counter()
        try:
            await sign_in(http, name)
        except (RuntimeError, httpx.HTTPError) as exc:
            tally.add("/login", time.perf_counter() - began, type(exc).__name__)
            return False
        tally.add("/login", time.perf_counter() - began, "200")
        return True

    done = await asyncio.gather(*(one(http, name) for http, name in zip(clients, names, strict=True)))
    row = Phase("0 sign in at once (login+purpose)", len(clients), time.monotonic() - start, tally, 0.0)
    for ok, http, name in zip(done, clients, names, strict=True):
        for _attempt in range(0 if ok else 5):
            with contextlib.suppress(RuntimeError, httpx.HTTPError):
                await sign_in(http, name)
                break
        else:
            if not ok:
                raise RuntimeError(f"{name} could not sign in after 5 more attempts")
    return [row]


async def scenario(
    base_url: str, world: World, footage_ids: list[int], args: argparse.Namespace, progress: Progress
) -> list[Phase]:
    officers = [http_client(base_url) for _ in range(args.officers)]
    watcher, visitors = http_client(base_url), [http_client(base_url) for _ in range(args.visitors)]
    try:
        phases = await sign_in_all([*officers, watcher], world.usernames[:-1])
        pages, public = functools.partial(officer_pages, world), functools.partial(public_pages, world)
        analyst = asyncio.create_task(keep_analysing(base_url, world.usernames[-1], footage_ids, progress))
        async with asyncio.timeout(300):  # the worker process loads its models first
            while await asyncio.to_thread(progress.frames) == 0:
                await asyncio.sleep(0.5)
        phases += await run_phase("1 analysis alone", {}, args.idle, progress)
        busy = {"officers": group(officers, pages, args.think)}
        phases += await run_phase("2 busy", busy, args.seconds, progress)
        mixed = {"1 officer": group([watcher], pages, args.think), "visitors": group(visitors, public, args.think)}
        phases += await run_phase("3 public", mixed, args.seconds, progress)
        analyst.cancel()
        return phases
    finally:
        await asyncio.gather(*(http.aclose() for http in [*officers, watcher, *visitors]))


def table(phases: list[Phase]) -> str:
    head = f"{'phase':<34}{'clients':>8}{'requests':>9}{'req/s':>7}{'errors':>7}{'p50 ms':>8}{'p95 ms':>8}"
    head += f"{'max ms':>8}{'analysis fps':>13}"
    lines = [head]
    for p in phases:
        t = p.tally
        rate = t.requests / p.seconds if p.seconds else 0.0
        lines.append(
            f"{p.name:<34}{p.clients:>8}{t.requests:>9}{rate:>7.1f}{t.errors:>7}{1000 * t.median():>8.0f}"
            f"{1000 * t.percentile(95):>8.0f}{1000 * max(t.seconds, default=0):>8.0f}{p.frames_per_s:>13.1f}"
        )
    outcomes = "; ".join(
        f"{p.name.strip()}: {dict(sorted(p.tally.outcomes.items()))}" for p in phases if p.tally.requests
    )
    return "\n".join([*lines, f"outcomes: {outcomes}", *by_page(phases)])


def by_page(phases: list[Phase]) -> list[str]:
    """Each kind of page's count, p50 and p95 in each phase: which pages make the tail."""
    lines = []
    for p in phases:
        for kind, seconds in sorted(p.tally.kinds.items()):
            ordered = sorted(seconds)
            p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            lines.append(
                f"  {p.name.strip()} {kind}: {len(ordered)} requests, p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms"
            )
    return lines


def incidents(log: str, most: int = 5) -> list[str]:
    """The distinct errors behind the server's 500s (each incident's route and its exception's last line)."""
    found: list[str] = []
    route = ""
    for line in log.splitlines():
        if "unhandled error on" in line:
            route = line.split("unhandled error on", 1)[1].strip()
        elif route and line and not line[0].isspace() and ("Error" in line or "Exception" in line):
            entry = f"{route}: {line[:300]}"
            if entry not in found:
                found.append(entry)
            route = ""
    return found[:most]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--postgres", action="store_true", help="Use a throwaway PostgreSQL server, not SQLite.")
    parser.add_argument("--officers", type=int, default=50, help="Signed-in officers in phase 2.")
    parser.add_argument("--visitors", type=int, default=200, help="Anonymous visitors in phase 3.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of phases 2 and 3.")
    parser.add_argument("--idle", type=float, default=15.0, help="Length of phase 1 (analysis alone).")
    parser.add_argument("--keep", type=Path, help="Build the data folder (and server.log) here and keep it.")
    parser.add_argument("--think", type=float, default=1.0, help="Mean seconds a client reads a page (0: none).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vigil-load-")))
        root.mkdir(parents=True, exist_ok=True)
        database_url = stack.enter_context(throwaway_postgres()) if args.postgres else None
        env = environment(root / "data", database_url, args.officers)
        os.environ.update({k: v for k, v in env.items() if k.startswith("VIGIL_")})
        settings = Settings()
        world, footage_ids = prepare_data(settings, officers=args.officers, scratch=root)
        base_url = stack.enter_context(server(env, root / "server.log", free_port()))
        progress = Progress(settings)
        stack.callback(progress.close)
        load_before = os.getloadavg()[0]
        phases = asyncio.run(scenario(base_url, world, footage_ids, args, progress))
        log = (root / "server.log").read_text(errors="replace")
        print(
            f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; think time {args.think} s; load average "
            f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after; nproc {os.cpu_count()}; "
            f"server incidents (500s) logged: {log.count('unhandled error')}"
        )
        print(table(phases))
        for line in incidents(log):
            print(f"server error: {line}")


if __name__ == "__main__":
    main()
