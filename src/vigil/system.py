"""The running system: settings, database engine and session factory, built once by the CLI or web app."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.migrate import upgrade
from vigil.db.session import make_engine, make_session_factory, session_scope
from vigil.faces.live import LiveAlertRule
from vigil.faces.retention import RetroSearchRule
from vigil.governance.retention import ApiTokenRule, FootageRule, LoginSessionRule, RetentionRule
from vigil.governance.users import bootstrap_admin
from vigil.live.sources import CameraSources, SourceResolver
from vigil.live.supervisor import LiveSupervisor
from vigil.search.export.retention import ExportRule
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


def default_rules(settings: Settings) -> list[RetentionRule]:
    """Every retention rule, assembled here because some belong to capabilities above governance."""
    policy = settings.retention
    return [
        FootageRule(data_dir=settings.data_dir, days=policy.footage_days),
        ApiTokenRule(days_after=policy.api_token_days_after_expiry),
        LoginSessionRule(days_after=policy.login_session_days),
        LiveAlertRule(data_dir=settings.data_dir, hours=policy.live_fr_alert_hours),
        ExportRule(data_dir=settings.data_dir, days=policy.footage_days),
        RetroSearchRule(data_dir=settings.data_dir, days=policy.footage_days),
    ]
