"""Effective configuration: every path, limit and policy lives here.

Settings come from environment variables with the ``VIGIL_`` prefix; nested sections use ``__``
(``VIGIL_RETENTION__FOOTAGE_DAYS=31``). Nothing is read at import time: callers build a
:class:`Settings` (``load_settings()``) and pass it down.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigil.settings.sections import (
    LIVE_SCHEMES,
    SECRET_MASK,
    AnalysisSettings,
    AuditSettings,
    FaceSettings,
    LiveCameraSettings,
    LiveSettings,
    MailSettings,
    RaySettings,
    RegistrySettings,
    RetentionSettings,
    Section,
    VisionSettings,
    WebSettings,
)

__all__ = [
    "LIVE_SCHEMES",
    "SECRET_MASK",
    "AnalysisSettings",
    "AuditSettings",
    "FaceSettings",
    "LiveCameraSettings",
    "LiveSettings",
    "MailSettings",
    "RaySettings",
    "RegistrySettings",
    "RetentionSettings",
    "Section",
    "Settings",
    "SettingsError",
    "VisionSettings",
    "WebSettings",
    "load_settings",
]


class Settings(BaseSettings):
    """vigil's settings. The embedded default is a SQLite file and a data folder under ./vigil-data."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_nested_delimiter="__", extra="forbid", frozen=True)

    data_dir: Path = Field(Path("vigil-data"), description="Folder for footage, thumbnails and exports.")
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL; empty means the embedded SQLite file <data_dir>/vigil.db.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs session cookies; empty means one is generated into <data_dir>/secret.key.",
    )
    force_name: str = Field("Cumbria Constabulary", description="Force name shown on pages and emails.")
    timezone: str = Field(
        "Europe/London",
        description="IANA time zone of the force: times of day in searches and on pages are local to it.",
    )
    web: WebSettings = Field(default_factory=WebSettings, description="Web server and login policy.")
    audit: AuditSettings = Field(
        default_factory=AuditSettings,
        description="Signed checkpoints that anchor the audit chain outside the database.",
    )
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings, description="How long each class of data is kept."
    )
    vision: VisionSettings = Field(default_factory=VisionSettings, description="Model runtime options.")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings, description="Analysis jobs.")
    faces: FaceSettings = Field(default_factory=FaceSettings, description="Facial recognition.")
    registry: RegistrySettings = Field(
        default_factory=RegistrySettings, description="Camera registry and footage requests."
    )
    mail: MailSettings = Field(default_factory=MailSettings, description="Outgoing email (SMTP).")
    live: LiveSettings = Field(default_factory=LiveSettings, description="Live cameras: stream ingest and recording.")
    engine: Literal["local", "ray"] = Field(
        "local",
        description="Where analysis runs: 'local' (worker processes on this machine) or 'ray' (a Ray cluster; "
        "needs PostgreSQL and a footage store every node can read).",
    )
    ray: RaySettings = Field(default_factory=RaySettings, description="The Ray cluster (when engine is 'ray').")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The force's time zone."""
        return ZoneInfo(self.timezone)

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def audit_signing_key_file(self) -> Path:
        return self.audit.signing_key_file or self.data_dir / "audit-signing.key"

    @property
    def audit_checkpoint_file(self) -> Path:
        return self.audit.checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    @property
    def live_spool_dir(self) -> Path:
        return self.live.spool_dir or self.data_dir / "live-spool"

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'vigil.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def masked(self) -> dict[str, Any]:
        """Settings as plain JSON-able data, with secrets (and database passwords) masked."""
        data: dict[str, Any] = json.loads(self.model_dump_json())
        data["database_url"] = _mask_url(self.effective_database_url)
        data["secret_key"] = SECRET_MASK if self.secret_key is not None else "(generated in data_dir)"
        data["mail"]["password"] = SECRET_MASK if self.mail.password is not None else None
        data["faces"]["source_key"] = SECRET_MASK if self.faces.source_key is not None else "(generated in data_dir)"
        for camera in data["live"]["cameras"]:
            camera["url"] = SECRET_MASK
        return data


def _mask_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:{SECRET_MASK}@{host}"


class SettingsError(ValueError):
    """The configuration is invalid; the message names each bad field."""


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and keyword overrides), naming the bad field on error."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = "VIGIL_" + "__".join(str(part).upper() for part in error["loc"])
            problems.append(f"{field}: {error['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(problems)) from None
