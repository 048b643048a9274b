"""X-Forwarded-For is believed only from configured proxies (issue 10, F13).

The attacker runs on the server itself (loopback) and rotates the header to dodge the login rate limit and to
plant false addresses in the audit log. The app runs as `vigil serve` runs it (vigil.web.serving).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.support.webapp import csrf_of, free_port, seed
from tests.web.conftest import client_for
from vigil.governance import audit
from vigil.settings import SettingsError, load_settings
from vigil.web.serving import server_config


@contextlib.contextmanager
def vigil_serve(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn with `vigil serve`'s options, on a loopback port."""
    port = free_port()
    server = uvicorn.Server(server_config(app, app.state.system.settings, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _attempt(http: httpx.Client, forwarded: str) -> int:
    token = csrf_of(http.get("/login").text)
    response = http.post(
        "/login",
        data={"username": "nobody", "password": "guessing again", "csrf_token": token},
        headers={"X-Forwarded-For": forwarded},
    )
    return response.status_code


def _clients_audited(app: FastAPI) -> list[str]:
    entries = seed(app, lambda db: list(audit.query_entries(db, actor="nobody", action_prefix="login")))
    return [entry.details for entry in entries]


def test_rotating_forwarded_addresses_from_loopback_neither_dodge_the_limit_nor_reach_the_audit(
    tmp_path: Path,
) -> None:
    with client_for(tmp_path, web={"login_rate_per_minute": 3}) as client:
        app = client.app
        with vigil_serve(app) as base, httpx.Client(base_url=base) as http:  # type: ignore[arg-type]
            codes = [_attempt(http, f"198.51.100.{i}") for i in range(1, 6)]
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
        details = _clients_audited(app)  # type: ignore[arg-type]
        assert len(details) == 3 and all('"client":"127.0.0.1"' in d for d in details)
        assert not any("198.51.100" in d for d in details)


def test_a_configured_proxy_is_believed_for_the_right_most_address_it_added(tmp_path: Path) -> None:
    settings = {"login_rate_per_minute": 2, "trusted_proxies": ["127.0.0.0/8"]}
    with client_for(tmp_path, web=settings) as client:
        app = client.app
        with vigil_serve(app) as base, httpx.Client(base_url=base) as http:  # type: ignore[arg-type]
            assert _attempt(http, "203.0.113.7") == 401
            assert _attempt(http, "10.9.9.9, 203.0.113.8") == 401  # the left part was the client's own invention
            assert _attempt(http, "203.0.113.8") == 401  # a second attempt from .8 (the .8 above was the first)
            assert _attempt(http, "203.0.113.8") == 429  # its own limit, not everyone's behind the proxy
            assert _attempt(http, "203.0.113.9") == 401
            assert _attempt(http, "not-an-address") == 401  # malformed: the proxy itself is counted
        details = _clients_audited(app)  # type: ignore[arg-type]
        clients = [d.split('"client":"')[1].split('"')[0] for d in details]
        assert clients == ["203.0.113.7", "203.0.113.8", "203.0.113.8", "203.0.113.9", "127.0.0.1"]


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_WEB__TRUSTED_PROXIES", '["10.0.0.1", "10.1.0.0/16"]')
    assert load_settings().web.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    monkeypatch.setenv("VIGIL_WEB__TRUSTED_PROXIES", '["proxy.example"]')
    with pytest.raises(SettingsError, match=r"VIGIL_WEB__TRUSTED_PROXIES.*not an IP address or CIDR network"):
        load_settings()
