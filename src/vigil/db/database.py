"""What background work needs from the running system: the settings and a session factory.

:class:`vigil.system.System` satisfies :class:`Backend`; code below the assembly point (analysis jobs,
scheduled registry housekeeping) takes a ``Backend`` instead of importing the system upward. A process that
needs only the database (an analysis worker) opens a :class:`Database` of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.session import make_engine, make_session_factory
from vigil.settings import Settings


class Backend(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...


@dataclass(frozen=True)
class Database:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings) -> Database:
    engine = make_engine(settings)
    return Database(settings=settings, engine=engine, sessions=make_session_factory(engine))
