"""Concurrent users against a running vigil server, for tests/web/test_load.py and bench/load.py.

:func:`seed_world` makes the records (users with analytics training, a camera with a current PIA, analysed footage
with real and synthetic tracks); :func:`sign_in` logs a browser-like client in and states a case and purpose;
:func:`drive` runs clients against the server, each opening pages in a loop until its request budget or the
deadline, and returns every request's status and time. Loopback only; everything is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import httpx
from sqlalchemy.orm import Session

from tests.support.analysed import analysed_footage, make_track
from tests.support.builders import PASSWORD, make_camera, make_user
from vigil.db.base import utcnow
from vigil.db.models import Footage
from vigil.settings import Settings

CASE, PURPOSE = "CUM-2026-004411", "robbery on Market Square: tracing the suspect in a red top"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
COLOURS = ("red", "blue", "black", "white", "grey", "green", "yellow")
PUBLIC_PAGES = ("/transparency/facial-recognition", "/register", "/login")


@dataclass(frozen=True)
class World:
    usernames: list[str]
    footage_ids: list[int]


def seed_world(db: Session, settings: Settings, *, users: int, synthetic_tracks: int = 200) -> World:
    """``users`` investigators trained for analytics, footage of PEN-01 analysed, plus synthetic tracks."""
    names = [f"officer{k:03d}" for k in range(users)]
    for name in names:
        make_user(db, name, trained_for=("analytics",), cases=(CASE,))
    make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=200))
    footage = analysed_footage(db, settings)
    rng = random.Random(7)
    for k in range(synthetic_tracks):
        make_track(
            db,
            footage,
            offset_s=rng.uniform(0, 8),
            upper=rng.choice(COLOURS),
            lower=rng.choice(COLOURS),
            heading=rng.choice(("left", "right", "towards", "away")),
            class_name="person" if k % 4 else "car",
        )
    db.commit()
    return World(usernames=names, footage_ids=[f.id for f in db.query(Footage).all()])


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> None:
    """Log in with the form and state the working case and purpose, as an officer's browser would."""
    token = _csrf((await client.get("/login")).text)
    await client.post("/login", data={"username": username, "password": password, "next": "/", "csrf_token": token})
    token = _csrf((await client.get("/context")).text)
    response = await client.post(
        "/context", data={"case_ref": CASE, "purpose": PURPOSE, "next": "/", "csrf_token": token}
    )
    if response.status_code != 200 or "/login" in str(response.url):
        raise RuntimeError(f"{username} could not sign in and state a purpose (HTTP {response.status_code})")


def _csrf(page: str) -> str:
    match = CSRF.search(page)
    if match is None:
        raise RuntimeError("the page has no CSRF token")
    return match.group(1)


def officer_pages(world: World, rng: random.Random) -> str:
    """One page an investigator opens: searches (audited), the footage register, a footage's tracks, home."""
    case = {"case": CASE}
    roll = rng.random()
    if roll < 0.45:
        query = {**case, "class": "person", "upper": rng.choice(COLOURS)}
        if rng.random() < 0.5:
            query["lower"] = rng.choice(COLOURS)
        return "/search/results?" + urlencode(query)
    if roll < 0.6:
        return "/search?" + urlencode({**case, "q": f"man in a {rng.choice(COLOURS)} top walking right"})
    if roll < 0.8:
        return f"/footage/{rng.choice(world.footage_ids)}/tracks?" + urlencode(case)
    if roll < 0.9:
        return "/footage"
    return "/"


def public_pages(_world: World, rng: random.Random) -> str:
    return rng.choice(PUBLIC_PAGES)


@dataclass
class Tally:
    """Every request's time and outcome (status code, or the transport error's name)."""

    seconds: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)  # requests per path (without the query)
    kinds: dict[str, list[float]] = field(default_factory=dict)  # seconds per kind of page (ids left out)

    def add(self, path: str, seconds: float, outcome: str) -> None:
        self.seconds.append(seconds)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        page = path.split("?", 1)[0]
        self.pages[page] = self.pages.get(page, 0) + 1
        kind = "/".join("N" if part.isdigit() else part for part in page.split("/"))
        self.kinds.setdefault(kind, []).append(seconds)

    @property
    def requests(self) -> int:
        return len(self.seconds)

    @property
    def errors(self) -> int:
        """Server errors, transport errors and timeouts: anything but a page or a redirect."""
        return sum(n for outcome, n in self.outcomes.items() if not outcome.startswith(("2", "3")))

    def percentile(self, p: float) -> float:
        if not self.seconds:
            return 0.0
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else 0.0


@dataclass(frozen=True)
class Client:
    """A browser: its cookies (signed in or anonymous), the pages it opens, and how long it reads each one."""

    http: httpx.AsyncClient
    pages: Callable[[random.Random], str]
    tally: Tally
    think_s: float = 0.0


async def _browse(client: Client, *, deadline: float, budget: int, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(budget):
        if time.monotonic() >= deadline:
            return
        path = client.pages(rng)
        start = time.perf_counter()
        try:
            response = await client.http.get(path)
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        client.tally.add(path, time.perf_counter() - start, outcome)
        if client.think_s:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * client.think_s)


async def drive(clients: Sequence[Client], *, seconds: float, budget: int = 1_000_000) -> None:
    """Run every client at once until ``seconds`` have passed or each has made ``budget`` requests."""
    deadline = time.monotonic() + seconds
    runs: list[Awaitable[None]] = [
        _browse(client, deadline=deadline, budget=budget, seed=k) for k, client in enumerate(clients)
    ]
    await asyncio.gather(*runs)


def http_client(base_url: str, *, timeout_s: float = 60.0) -> httpx.AsyncClient:
    """A loopback client that follows redirects and never leaves the server it was made for.

    Each request has its own connection: when the machine is loaded, a reused keep-alive connection can be closed
    by the server's idle timeout just as the client sends on it, a client-side failure that is not the server's.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        follow_redirects=True,
        timeout=timeout_s,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
    )
