"""`vigil config`: the effective configuration (secrets masked) and its check."""

from __future__ import annotations

import json

import typer

from vigil.commands.common import fail, settings

config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets masked."""
    typer.echo(json.dumps(settings().masked(), indent=2))


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration; name each bad field. Under VIGIL_ENGINE=ray, also check the cluster's
    prerequisites (PostgreSQL, a reachable cluster, a footage store every node can read) and name what is missing."""
    config = settings()
    typer.echo(f"configuration is valid (database: {config.masked()['database_url']})")
    if config.engine == "ray":
        from vigil.cluster.checks import cluster_findings

        findings = cluster_findings(config)
        for finding in findings:
            typer.echo(f"{'ok' if finding.ok else 'MISSING'}: {finding.what}: {finding.detail}")
        if not all(finding.ok for finding in findings):
            fail("the Ray cluster cannot be used until what is MISSING above is fixed")
