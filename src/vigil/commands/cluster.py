"""`vigil cluster ...`: the Ray cluster that runs analysis under VIGIL_ENGINE=ray."""

from __future__ import annotations

import typer

from vigil.commands.common import fail, settings

cluster_app = typer.Typer(help="The Ray cluster (VIGIL_ENGINE=ray): nodes and queued work.", no_args_is_help=True)


@cluster_app.command("status")
def cluster_status() -> None:
    """Nodes (alive, CPUs), bulk chunks running or queued, cameras per node, each camera's state, lag and node."""
    from vigil.cluster.engine import ClusterError
    from vigil.cluster.status import cluster_status, render

    config = settings()
    if config.engine != "ray":
        fail("VIGIL_ENGINE is 'local': analysis runs on this machine, there is no cluster to show")
    try:
        typer.echo(render(cluster_status(config)))
    except ClusterError as exc:
        fail(exc.message)
