"""The live sources of force cameras: where a camera's live picture is read from.

Live facial recognition (and, later, live analytics) reads only from registered sources, never from a URL or path
typed by whoever plans a deployment. A source is an ``rtsp``, ``rtsps``, ``http`` or ``https`` URL whose host is
not the vigil server itself, a loopback, link-local (169.254.x.x, the cloud metadata address) or otherwise special
address; a local video file only where ``faces.allow_file_sources`` allows it (tests and demonstrations), and
never a file inside the data folder (stored footage belongs to cases). Administrators and supervisors set and clear
sources (audited with the masked URL).

The full URL, credentials included, is stored encrypted (Fernet) with a key kept outside the database
(``<data_dir>/source.key``, or ``VIGIL_FACES__SOURCE_KEY``); pages, logs and the audit log only ever see the masked
form, ``rtsp://***@host:554/path``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, CameraSource, User
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.cameras.register import get_camera
from vigil.governance.roles import Permission
from vigil.settings import Settings

SCHEMES = ("rtsp", "rtsps", "http", "https")
RECORDING_POLICIES = ("continuous", "motion", "off")
KEY_FILE = "source.key"
MAX_URL_CHARS = 500


@dataclass(frozen=True)
class SourcePolicy:
    """What a source may be, and the key that seals it (built from settings by :func:`source_policy`)."""

    key: bytes
    data_dir: Path
    allow_files: bool = False
    allow_local_hosts: bool = False


@dataclass(frozen=True)
class CheckedSource:
    """A source that passed the checks: its full URL or path (secret) and what may be shown of it."""

    kind: str  # "network" or "file"
    url: str
    masked: str


@dataclass(frozen=True)
class LiveSource:
    """A camera's source ready to read: the label shown on alerts and the (secret) URL or path."""

    camera: str
    url: str
    masked: str


def source_key(settings: Settings) -> bytes:
    """The configured Fernet key, or one generated once into the data folder (mode 0600)."""
    configured = settings.faces.source_key
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    path = settings.data_dir / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def source_policy(settings: Settings) -> SourcePolicy:
    return SourcePolicy(
        key=source_key(settings),
        data_dir=settings.data_dir,
        allow_files=settings.faces.allow_file_sources,
        allow_local_hosts=settings.faces.allow_local_sources,
    )


def mask(url: str) -> str:
    """The URL without credentials or query (``rtsp://***@host/path``); a file path as it is."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    who = "***@" if "@" in parts.netloc else ""
    query = "?***" if parts.query else ""
    return f"{parts.scheme.lower()}://{who}{host}{port}{parts.path}{query}"


def check_source(value: str, *, policy: SourcePolicy) -> CheckedSource:
    """Validate a source before it is stored or read; refuses with a message that never repeats credentials."""
    value = value.strip()
    if not value:
        raise InvalidInput("give the camera's live source URL (rtsp, rtsps, http or https)")
    if len(value) > MAX_URL_CHARS or any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise InvalidInput(f"a source URL is one line of at most {MAX_URL_CHARS} characters without spaces")
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme in ("", "file"):
        return _check_file(value.removeprefix("file://") if scheme else value, policy)
    if scheme not in SCHEMES:
        raise InvalidInput(f"a live source must be an rtsp, rtsps, http or https URL, not {scheme}://")
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InvalidInput(f"{mask_safely(value)} is not a valid URL") from None
    if not host:
        raise InvalidInput(f"{mask_safely(value)} names no host")
    masked = mask(value)
    if not policy.allow_local_hosts:
        _check_host(host, port, masked)
    return CheckedSource("network", value, masked)


def mask_safely(value: str) -> str:
    try:
        return mask(value)
    except ValueError:
        return "that URL"


def _check_file(value: str, policy: SourcePolicy) -> CheckedSource:
    if not policy.allow_files:
        raise InvalidInput(
            "local files are not live sources; a live source must be an rtsp, rtsps, http or https URL "
            "(files are allowed only for tests and demonstrations, VIGIL_FACES__ALLOW_FILE_SOURCES=true)"
        )
    path = Path(value)
    if not path.is_absolute():
        raise InvalidInput("a file source must be an absolute path")
    resolved = path.resolve()
    if resolved.is_relative_to(policy.data_dir.resolve()):
        raise InvalidInput("files in vigil's data folder (stored footage, exports) cannot be live sources")
    if not resolved.is_file():
        raise InvalidInput(f"{value} is not an existing video file")
    return CheckedSource("file", str(resolved), str(resolved))


def _addresses(host: str, port: int | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port or 0, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]


def _own_addresses() -> set[str]:
    own = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), 0):
            own.add(str(info[4][0]))
    except OSError:
        pass
    return own


def _check_host(host: str, port: int | None, masked: str) -> None:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        raise InvalidInput(f"{masked}: a live source cannot be on the vigil server itself")
    addresses = _addresses(host, port)
    if not addresses:
        raise InvalidInput(f"{masked}: the host {host!r} cannot be resolved")
    own = _own_addresses()
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if mapped.is_loopback or mapped.is_unspecified or str(mapped) in own:
            raise InvalidInput(f"{masked}: a live source cannot be on the vigil server itself")
        if mapped.is_link_local:
            raise InvalidInput(f"{masked}: link-local addresses (169.254.x.x, fe80::) are not camera sources")
        if mapped.is_multicast or mapped.is_reserved:
            raise InvalidInput(f"{masked}: {mapped} is not a camera's address")


def seal(url: str, key: bytes) -> str:
    return Fernet(key).encrypt(url.encode()).decode()


def unseal(token: str, key: bytes) -> str:
    try:
        return Fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise InvalidInput(
            "a camera source cannot be read with this server's source key (source.key changed?); set it again"
        ) from None


def check_recording(value: str) -> str:
    value = value.strip().lower()
    if value not in RECORDING_POLICIES:
        raise InvalidInput(f"a recording policy is one of {', '.join(RECORDING_POLICIES)}, not {value[:40]!r}")
    return value


def set_source(
    db: Session,
    *,
    user: User,
    camera_code: str,
    url: str,
    policy: SourcePolicy,
    recording: str | None = None,
    now: datetime | None = None,
) -> CameraSource:
    """Give a force camera its live source and recording policy (administrators and supervisors), replacing any
    earlier source; without ``recording`` an earlier source's policy is kept (a new one records continuously)."""
    now = now or utcnow()
    require_permission(db, user=user, permission=Permission.MANAGE_LOCATIONS, action="camera.source.set")
    camera = get_camera(db, camera_code)
    wanted = check_recording(recording) if recording is not None else None
    checked = check_source(url, policy=policy)
    source = db.execute(select(CameraSource).where(CameraSource.camera_id == camera.id)).scalar_one_or_none()
    if source is None:
        source = CameraSource(camera_id=camera.id, recording="continuous")
        db.add(source)
    source.kind, source.masked, source.sealed = checked.kind, checked.masked, seal(checked.url, policy.key)
    source.set_by_id, source.set_at, source.recording = user.id, now, wanted or source.recording
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="camera.source.set",
        subject_type="camera",
        subject_id=camera.code,
        details={"source": checked.masked, "kind": checked.kind, "recording": source.recording},
        now=now,
    )
    return source


def set_recording(
    db: Session, *, user: User, camera_code: str, recording: str, now: datetime | None = None
) -> CameraSource:
    """Change the recording policy of a camera's registered source (taken up when its worker next starts)."""
    require_permission(db, user=user, permission=Permission.MANAGE_LOCATIONS, action="camera.source.recording")
    camera = get_camera(db, camera_code)
    recording = check_recording(recording)
    source = db.execute(select(CameraSource).where(CameraSource.camera_id == camera.id)).scalar_one_or_none()
    if source is None:
        raise NotFound(f"camera {camera.code} has no live source")
    before, source.recording = source.recording, recording
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="camera.source.recording",
        subject_type="camera",
        subject_id=camera.code,
        details={"from": before, "to": recording},
        now=now,
    )
    return source


def clear_source(db: Session, *, user: User, camera_code: str, now: datetime | None = None) -> None:
    """Remove a camera's live source (administrators and supervisors)."""
    require_permission(db, user=user, permission=Permission.MANAGE_LOCATIONS, action="camera.source.clear")
    camera = get_camera(db, camera_code)
    source = db.execute(select(CameraSource).where(CameraSource.camera_id == camera.id)).scalar_one_or_none()
    if source is None:
        raise NotFound(f"camera {camera.code} has no live source")
    db.delete(source)
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="camera.source.clear",
        subject_type="camera",
        subject_id=camera.code,
        details={"source": source.masked},
        now=now,
    )


def registered_sources(db: Session) -> list[CameraSource]:
    """Every camera source, by camera code (masked only; callers authorise)."""
    stmt = select(CameraSource).join(Camera).options(selectinload(CameraSource.camera)).order_by(Camera.code)
    return list(db.execute(stmt).scalars())


def list_sources(db: Session, *, user: User) -> list[CameraSource]:
    """The source register for administrators and supervisors."""
    require_permission(db, user=user, permission=Permission.MANAGE_LOCATIONS, action="camera.source.list")
    return registered_sources(db)


def live_source(db: Session, *, camera_code: str, policy: SourcePolicy) -> LiveSource:
    """A camera's source, unsealed and checked again (settings or addresses may have changed since it was set)."""
    camera = get_camera(db, camera_code)
    source = db.execute(select(CameraSource).where(CameraSource.camera_id == camera.id)).scalar_one_or_none()
    if source is None:
        raise InvalidInput(f"camera {camera.code} has no registered live source; an administrator must set one")
    checked = check_source(unseal(source.sealed, policy.key), policy=policy)
    return LiveSource(camera=camera.code, url=checked.url, masked=checked.masked)
