"""The running system: settings, database engine and session factory, built once by the CLI or web app."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.migrate import upgrade
from vigil.db.session import make_engine, make_session_factory, session_scope
from vigil.governance.users import bootstrap_admin
from vigil.live.sources import CameraSources, SourceResolver
from vigil.live.supervisor import LiveSupervisor
from vigil.settings import Settings


@dataclass(frozen=True)
class System:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    live: LiveSupervisor = field(repr=False)
    """The live-camera supervisor (started by the web app when ``settings.live.enabled``, or `vigil live run`)."""

    def close(self) -> None:
        self.live.stop()
        self.engine.dispose()


def open_system(settings: Settings, *, live_sources: SourceResolver | None = None) -> System:
    """Build the system; live streams come from ``live_sources`` (default: ``settings.live.cameras``, then the
    force cameras' registered sources)."""
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    resolver = live_sources if live_sources is not None else CameraSources(settings, sessions)
    live = LiveSupervisor(settings=settings, sessions=sessions, resolver=resolver)
    return System(settings=settings, engine=engine, sessions=sessions, live=live)


def prepare(system: System) -> str | None:
    """Create the data folder, apply migrations and create the first administrator if there are no users.

    Returns the first administrator's one-time password (to print once), or None if users exist.
    """
    system.settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(system.engine)
    with session_scope(system.sessions) as db:
        return bootstrap_admin(db)


def secret_key(settings: Settings) -> str:
    """The configured session-signing key, or one generated once into the data folder (mode 0600)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path: Path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
