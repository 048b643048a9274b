"""The `vigil` command line: thin commands that call the same services as the web app.

Commands act as a named vigil user (`--as USER` or VIGIL_USER) and go through the same governance checks;
every refusal is audited. Errors are printed as one clear line, never a traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from vigil.commands import (
    analysis,
    audit,
    cameras,
    cases,
    config,
    database,
    export,
    footage,
    locations,
    models,
    registry,
    retention,
    search,
    similar,
    synopsis,
    training,
    users,
)
from vigil.commands.camera_sources import source_app
from vigil.commands.cluster import cluster_app
from vigil.commands.common import fail, print_first_admin, settings
from vigil.commands.dashboard import dashboard as dashboard_command
from vigil.commands.fr import fr_app
from vigil.commands.live import live_app
from vigil.commands.rules import rules_app
from vigil.commands.tokens import token_app
from vigil.errors import VigilError
from vigil.settings import Settings

app = typer.Typer(
    help="vigil: self-hosted CCTV investigation with privacy law enforced by code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for sub, name in (
    (database.db_app, "db"),
    (users.user_app, "user"),
    (token_app, "token"),
    (training.training_app, "training"),
    (audit.audit_app, "audit"),
    (retention.retention_app, "retention"),
    (config.config_app, "config"),
    (cameras.camera_app, "camera"),
    (locations.location_app, "location"),
    (cases.case_app, "case"),
    (footage.footage_app, "footage"),
    (analysis.tracks_app, "tracks"),
    (models.models_app, "models"),
    (fr_app, "fr"),
    (export.export_app, "export"),
    (registry.registry_app, "registry"),
    (registry.requests_app, "requests"),
    (similar.review_app, "review"),
    (live_app, "live"),
    (rules_app, "rules"),
    (cluster_app, "cluster"),
):
    app.add_typer(sub, name=name)
cameras.camera_app.add_typer(source_app, name="source")
app.command("analyse")(analysis.analyse)
app.command("describe")(analysis.describe)
app.command("synopsis")(synopsis.synopsis)
app.command("search")(search.search)
app.command("similar")(similar.similar)
app.command("dashboard")(dashboard_command)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000).")] = None,
) -> None:
    """Apply migrations, create the first administrator on first start, and serve the web app."""
    import uvicorn

    from vigil.web.app import create_app
    from vigil.web.serving import server_config

    config = served_settings(settings(), host=host, port=port)
    try:
        web = create_app(config)
    except VigilError as exc:
        fail(exc.message)
    password: str | None = web.state.first_admin_password  # set by create_app
    if password:
        print_first_admin(password)
    bind_host, bind_port = config.web.host, config.web.port
    Console(stderr=True).print(f"vigil serving on http://{bind_host}:{bind_port} (data in {config.data_dir})")
    uvicorn.Server(server_config(web, config, host=bind_host, port=bind_port)).run()


def served_settings(config: Settings, *, host: str | None, port: int | None) -> Settings:
    """The settings with the address actually served on, so that emailed links follow it (unless
    ``mail.link_base_url`` is set)."""
    served = config.web.model_copy(update={"host": host or config.web.host, "port": port or config.web.port})
    return config.model_copy(update={"web": served})


def main() -> None:
    try:
        app()
    except VigilError as exc:
        fail(exc.message)


if __name__ == "__main__":
    main()
