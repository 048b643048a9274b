"""How ``vigil serve`` runs the app under uvicorn.

uvicorn would by default believe ``X-Forwarded-For`` from any loopback peer, so anyone on the server (or any
local process) could pick the client address that the login rate limit counts and the audit log records. It is
switched off here; the app's own :class:`~vigil.web.middleware.ClientAddress` believes the header only from the
proxies listed in ``settings.web.trusted_proxies``.
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from vigil.settings import Settings


def server_config(
    app: FastAPI, settings: Settings, *, host: str | None = None, port: int | None = None, log_level: str = "info"
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host or settings.web.host,
        port=port or settings.web.port,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,  # forwarded addresses are the app's business (trusted proxies only)
        lifespan="on",
    )
