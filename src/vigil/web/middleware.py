"""ASGI middleware: security headers on every response, and a 500 page with an incident id for any crash."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.web.handlers import incident_response

log = logging.getLogger("vigil.web")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    )
)
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds the security headers; pages and API answers are never cached (static assets may be)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Cross-Origin-Resource-Policy": "same-origin",
        }
        if https:
            self.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class IncidentCatcher:
    """Catches any exception no handler dealt with: logs it with an incident id, answers with a 500 page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = secrets.token_hex(6)
            log.exception("incident %s: unhandled error on %s %s", incident, scope.get("method"), scope.get("path"))
            if started:
                raise
            response = incident_response(Request(scope, receive), incident)
            await response(scope, receive, send)


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """Takes the client address from ``X-Forwarded-For`` only when the peer is a configured trusted proxy.

    The address is the right-most one in the header that is not itself a trusted proxy (the left part is whatever
    the client chose to send). From any other peer, loopback included, the header is ignored.
    """

    def __init__(self, app: ASGIApp, *, trusted_proxies: Sequence[str]) -> None:
        self.app = app
        self.trusted: tuple[IpNetwork, ...] = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def forwarded_client(self, header: str) -> str | None:
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            try:
                address = str(ipaddress.ip_address(hop))
            except ValueError:
                return None  # a malformed chain: believe none of it
            if not self._is_trusted(address):
                return address
        return hops[0] if hops else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.trusted and scope["type"] in ("http", "websocket") and client and self._is_trusted(client[0]):
            values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for"]
            forwarded = self.forwarded_client(",".join(values)) if values else None
            if forwarded is not None:
                scope = {**scope, "client": (forwarded, 0)}
        await self.app(scope, receive, send)
