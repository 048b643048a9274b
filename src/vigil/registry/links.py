"""Secret tokens for emailed links: 256 random bits, only their SHA-256 is stored, compared in constant time."""

from __future__ import annotations

import hashlib
import re
import secrets

from vigil.settings import Settings

TOKEN_BYTES = 32  # 256 bits
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def well_formed(token: str) -> bool:
    """Whether a string could be one of our tokens (anything else is refused without a database look-up)."""
    return bool(_TOKEN.match(token))


def link(base_url: str, path: str) -> str:
    """An absolute link for an email, from the configured public base URL."""
    return base_url.rstrip("/") + path


ALL_INTERFACES = ("0.0.0.0", "::", "")  # noqa: S104 (names of a wildcard bind, not a bind)


def link_base(settings: Settings) -> str:
    """Where emailed links point: ``mail.link_base_url`` if set, else the address vigil serves on (web host:port).

    The address a web request came in on is deliberately not used: its Host header is the client's to choose,
    and a forged one would send owners links (carrying their tokens) to another site.
    """
    if settings.mail.link_base_url:
        return settings.mail.link_base_url
    host = "localhost" if settings.web.host in ALL_INTERFACES else settings.web.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.web.port}"
