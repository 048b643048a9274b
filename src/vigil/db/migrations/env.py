"""Alembic environment: the engine is handed over by vigil.db.migrate, never read from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from vigil.db import models  # noqa: F401  (registers the tables on Base.metadata)
from vigil.db.base import Base


def run_migrations() -> None:
    engine = context.config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("vigil migrations run through vigil.db.migrate, which supplies the engine")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
