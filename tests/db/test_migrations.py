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


def test_existing_cases_stay_open_with_their_opener_as_member(fresh_engine: Engine) -> None:
    """Upgrading to case membership (0013) keeps existing deployments working: each opener joins their case."""
    upgrade(fresh_engine, "0007")
    with fresh_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, display_name, role, password_hash, is_active,"
                " must_change_password, failed_logins, created_at)"
                " VALUES (1, 'ivy', 'Ivy', 'investigator', 'x', true, false, 0, '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO cases (id, reference, opened_by_id, opened_at, closed_at) VALUES"
                " (1, 'CUM-1', 1, '2026-01-02 00:00:00', NULL), (2, 'CUM-2', 1, '2026-01-03 00:00:00',"
                " '2026-02-01 00:00:00')"
            )
        )
    upgrade(fresh_engine, "0013")
    with fresh_engine.connect() as connection:
        cases = connection.execute(text("SELECT reference, status, title FROM cases ORDER BY id")).all()
        members = connection.execute(
            text("SELECT case_id, user_id, added_by_id, removed_at FROM case_members ORDER BY case_id")
        ).all()
    assert [tuple(row) for row in cases] == [("CUM-1", "open", ""), ("CUM-2", "closed", "")]
    assert [tuple(row) for row in members] == [(1, 1, 1, None), (2, 1, 1, None)]
    downgrade(fresh_engine, "0007")
    assert "case_members" not in _tables(fresh_engine)
