"""Owners' live streams: checked, tested once, sealed; then read only while an officer's view is open.

An owner's stream address passes the force cameras' checks (vigil.governance.camera_sources: rtsp, rtsps, http or
https; never the vigil server, a loopback or link-local address; at most 500 characters) and one more: it may not
point inside the force's own networks (``registry.force_networks``), since an owner's camera is outside them and a
URL aimed inside would make vigil a door into the force. It is then opened once and must send a picture; only then
is it sealed (Fernet, the same key as force camera sources) and stored, masked everywhere it is shown.

A view reads the stream in a short-lived process of its own (``python -m vigil.registry.viewer``): it decodes
about ``registry.live_frames_per_second`` pictures a second into one JPEG file in the view's spool folder, never
records, and stops at its deadline, when its parent dies, or when the web app's watcher terminates it (the view
ended, was revoked or paused). The URL reaches it on its standard input, never on its command line.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import av
from av.container import InputContainer

from vigil.errors import InvalidInput
from vigil.governance.camera_sources import CheckedSource, SourcePolicy, check_source, source_key
from vigil.settings import Settings

MAX_SIDE = 640


def stream_policy(settings: Settings) -> SourcePolicy:
    """Owners' streams are network URLs only (never files); local hosts only where tests allow them."""
    return SourcePolicy(
        key=source_key(settings),
        data_dir=settings.data_dir,
        allow_files=False,
        allow_local_hosts=settings.registry.allow_local_streams,
    )


def check_stream(url: str, *, settings: Settings) -> CheckedSource:
    """The allow-list of force camera sources, plus: not a file, not inside the force's networks."""
    value = url.strip()
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if value and scheme in ("", "file"):
        raise InvalidInput("give your camera's stream address, starting rtsp://, rtsps://, http:// or https://")
    checked = check_source(value, policy=stream_policy(settings))
    if not settings.registry.allow_local_streams:
        host = urlsplit(checked.url).hostname or ""
        networks = [ipaddress.ip_network(n, strict=False) for n in settings.registry.force_networks]
        for address in _addresses(host):
            if any(address.version == n.version and address in n for n in networks):
                raise InvalidInput(f"{checked.masked}: this address is inside the force's own network, not a camera")
    return checked


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, 0, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    found = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    return [getattr(a, "ipv4_mapped", None) or a for a in found]


def open_stream(url: str, *, timeout_s: float) -> InputContainer:
    options = {"analyzeduration": "1000000"}
    if url.lower().startswith("rtsp"):
        options["rtsp_transport"] = "tcp"
    container = av.open(url, options=options, timeout=(timeout_s, timeout_s))
    assert isinstance(container, InputContainer)
    return container


def probe_stream(url: str, *, masked: str, timeout_s: float) -> None:
    """Open the stream once and decode one picture, or refuse with a message the owner can act on."""
    try:
        with open_stream(url, timeout_s=timeout_s) as container:
            if not container.streams.video:
                raise InvalidInput(f"{masked}: the stream sends no video")
            for _frame in container.decode(container.streams.video[0]):
                return
        raise InvalidInput(f"{masked}: the stream ended before it sent a picture")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{masked}: {describe(exc)}") from None


def describe(exc: BaseException) -> str:
    """Why a stream could not be read, in the owner's words (never repeating the credentials)."""
    text = str(exc).lower()
    if "401" in text or "403" in text or "unauthorized" in text or "forbidden" in text:
        return "the camera refused the user name or password; check them in your camera's settings"
    if "404" in text or "not found" in text:
        return "the camera has no stream at that path; check the address"
    if "timed out" in text or "timeout" in text or "refused" in text or "unreachable" in text:
        return "the camera could not be reached; check the address and that it accepts connections from outside"
    if "resolve" in text or "name or service" in text:
        return "the camera's host name cannot be found"
    return "the camera did not send a video picture vigil can read"
