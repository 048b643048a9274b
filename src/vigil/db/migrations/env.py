"""Alembic environment: the engine is handed over by vigil.db.migrate, never read from a file."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine

from vigil.db import models  # noqa: F401  (registers the tables on Base.metadata)
from vigil.db.base import Base


def run_migrations() -> None:
    engine = context.config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("vigil migrations run through vigil.db.migrate, which supplies the engine")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename); with foreign keys enforced, dropping a table
            # that other rows reference fails. SQLite only honours this pragma outside a transaction, so it is set
            # on the driver connection before the migration's transaction begins, and checked afterwards.
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows with dangling references: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                _driver(connection).execute("PRAGMA foreign_keys=ON")


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


run_migrations()
