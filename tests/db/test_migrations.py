from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from tests.conftest import make_settings
from vigil.db.base import Base
from vigil.db.migrate import MIGRATIONS_DIR, downgrade, upgrade
from vigil.db.session import make_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (a new SQLite file, or a new database on the test PostgreSQL server)."""
    if request.param == "sqlite":
        engine = make_engine(make_settings(tmp_path))
        yield engine
        engine.dispose()
        return
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_settings(tmp_path, database_url=server_url.rsplit("/", 1)[0] + f"/{name}"))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_creates_every_model_table_and_downgrade_removes_them(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    assert _tables(fresh_engine) == set(Base.metadata.tables)
    downgrade(fresh_engine, "base")
    assert _tables(fresh_engine) == set()
    upgrade(fresh_engine)
    assert _tables(fresh_engine) == set(Base.metadata.tables)


def test_migrations_match_the_models(fresh_engine: Engine) -> None:
    """Autogenerate against the migrated database finds nothing to do: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(fresh_engine)
    with fresh_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migration_files_have_dated_names() -> None:
    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert names, "no migrations found"
    for name in names:
        year, month, day = name.split("_")[:3]
        assert len(year) == 4 and len(month) == 2 and len(day) == 2 and year.isdigit(), name
