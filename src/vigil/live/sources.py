"""Where a camera's stream comes from: a small typed seam, so sources can come from settings today and from
the registered camera sources (credentials encrypted at rest) once they exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from vigil.settings import SECRET_MASK, Settings

RecordingPolicy = Literal["continuous", "off"]


@dataclass(frozen=True)
class StreamSource:
    """A live stream of one camera. ``url`` may hold credentials: never log or show it, use :attr:`shown`."""

    camera_code: str
    url: str = field(repr=False)
    recording: RecordingPolicy = "continuous"

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
            StreamSource(camera_code=c.code, url=c.url.get_secret_value(), recording=c.recording)
            for c in self.settings.live.cameras
        ]


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
