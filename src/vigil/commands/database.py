"""`vigil db`: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.commands.common import prepare_quietly, settings
from vigil.system import open_system

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (creates the first administrator on an empty database)."""
    system = open_system(settings())
    try:
        prepare_quietly(system)
    finally:
        system.close()
    typer.echo("database is at the newest revision")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")]) -> None:
    """Revert migrations down to REVISION (destroys the data of the reverted tables)."""
    from vigil.db.migrate import downgrade

    system = open_system(settings())
    try:
        downgrade(system.engine, revision)
    finally:
        system.close()
    typer.echo(f"database downgraded to {revision}")
