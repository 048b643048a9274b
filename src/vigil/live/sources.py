"""Where a camera's stream comes from: a small typed seam. Sources are listed in settings
(``VIGIL_LIVE__CAMERAS``) or registered on force cameras by an administrator (URL and credentials encrypted at rest,
see :mod:`vigil.governance.camera_sources`); :class:`CameraSources` gives both, settings first, each with its
recording policy (continuous, motion or off)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from vigil.db.session import session_scope
from vigil.errors import VigilError
from vigil.governance.camera_sources import live_source, registered_sources, source_policy
from vigil.settings import SECRET_MASK, Settings

log = logging.getLogger("vigil.live")

RecordingPolicy = Literal["continuous", "motion", "off"]
RECORDING_POLICIES: tuple[RecordingPolicy, ...] = ("continuous", "motion", "off")


@dataclass(frozen=True)
class StreamSource:
    """A live stream of one camera. ``url`` may hold credentials: never log or show it, use :attr:`shown`."""

    camera_code: str
    url: str = field(repr=False)
    recording: RecordingPolicy = "continuous"
    analysis: bool = True
    """Analyse the stream live (on for registered force cameras)."""

    @property
    def shown(self) -> str:
        """The address with any user name and password masked, safe to print and log."""
        return mask_url(self.url)


class SourceResolver(Protocol):
    def sources(self) -> list[StreamSource]: ...


@dataclass(frozen=True)
class SettingsSources:
    """The streams listed in ``settings.live.cameras``."""

    settings: Settings

    def sources(self) -> list[StreamSource]:
        return [
            StreamSource(camera_code=c.code, url=c.url.get_secret_value(), recording=c.recording, analysis=c.analysis)
            for c in self.settings.live.cameras
        ]


@dataclass(frozen=True)
class CameraSources:
    """The streams in ``settings.live.cameras`` and then every force camera's registered source (recorded as its
    source's policy says). A registered source is unsealed and checked again each time; one that no longer passes (a
    changed key or policy) is left out with a warning that names the camera, never its address."""

    settings: Settings
    sessions: sessionmaker[Session]

    def sources(self) -> list[StreamSource]:
        listed = SettingsSources(self.settings).sources()
        seen = {source.camera_code for source in listed}
        policy = source_policy(self.settings)
        with session_scope(self.sessions) as db:
            for registered in registered_sources(db):
                code = registered.camera.code
                if code in seen:
                    continue
                try:
                    checked = live_source(db, camera_code=code, policy=policy)
                except VigilError as error:
                    log.warning("camera %s: its registered source is not used: %s", code, error)
                    continue
                recording = registered.recording if registered.recording in RECORDING_POLICIES else "continuous"
                listed.append(StreamSource(camera_code=code, url=checked.url, recording=recording))
        return listed


def mask_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return SECRET_MASK
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc=f"{SECRET_MASK}@{host}{port}").geturl()


def camera_codes(settings: Settings, db: Session) -> list[str]:
    """The codes of the live cameras, settings first, without unsealing or checking any source (cheap enough for
    the camera wall's every picture request; the supervisor's :class:`CameraSources` checks each source)."""
    codes = [camera.code for camera in settings.live.cameras]
    codes += [s.camera.code for s in registered_sources(db) if s.camera.code not in codes]
    return codes
