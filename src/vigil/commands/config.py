"""`vigil config`: the effective configuration (secrets masked) and its check."""

from __future__ import annotations

import json

import typer

from vigil.commands.common import settings

config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets masked."""
    typer.echo(json.dumps(settings().masked(), indent=2))


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration; name each bad field."""
    config = settings()
    typer.echo(f"configuration is valid (database: {config.masked()['database_url']})")


# --- users and training ------------------------------------------------------------------------------------
