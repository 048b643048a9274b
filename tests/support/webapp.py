"""The web app for tests: helpers for TestClient sessions, a real uvicorn server on loopback, and a
headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from vigil.db.session import session_scope

if TYPE_CHECKING:
    from playwright.sync_api import Browser

with warnings.catch_warnings():  # starlette suggests httpx2 over httpx; both work for the tests
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as TestClient

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
T = TypeVar("T")


def seed(app: FastAPI, build: Callable[[Session], T]) -> T:
    """Run ``build`` (e.g. a builder from tests.support.builders) in a committed transaction of the app."""
    with session_scope(app.state.system.sessions) as db:
        return build(db)


def csrf_of(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "the page has no CSRF token"
    return str(match.group(1))


def page_csrf(client: TestClient, path: str = "/login") -> str:
    return csrf_of(client.get(path).text)


def log_in(client: TestClient, username: str, password: str, *, next_url: str = "/") -> str:
    """Post the login form as a browser would; return the path the browser ends on."""
    token = page_csrf(client, "/login")
    response = client.post(
        "/login", data={"username": username, "password": password, "next": next_url, "csrf_token": token}
    )
    return str(response.url.path)


def notices(html: str) -> list[str]:
    """Texts of the flash notices and error messages on a page."""
    return [m.strip() for m in re.findall(r'class="(?:notice [^"]*|error-message)"[^>]*>([^<]*)<', html)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: FastAPI, *, timeout_s: float = 20.0) -> Iterator[str]:
    """Run the app with uvicorn on a free loopback port in a background thread; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="vigil-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
