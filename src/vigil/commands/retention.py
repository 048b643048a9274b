"""`vigil retention`: retention of footage and other data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, system_session, table

retention_app = typer.Typer(help="Retention of footage and other data.", no_args_is_help=True)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what is due without deleting.")] = False,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Apply the retention policies now (the scheduler also runs them hourly)."""
    from vigil.governance.retention import run_retention_now
    from vigil.system import default_rules

    with system_session() as (system, db):
        report = run_retention_now(
            db,
            actor=acting_user(db, as_user),
            rules=default_rules(system.settings),
            data_dir=system.settings.data_dir,
            dry_run=dry_run,
        )
    data = {"dry_run": report.dry_run, "results": [r.__dict__ for r in report.results], "errors": report.file_errors}
    verb = "due" if dry_run else "deleted"
    emit(
        data,
        as_json,
        lambda: table(
            f"retention ({'dry run' if dry_run else 'applied'})",
            ["data class", "policy", f"rows {verb}", f"files {verb}"],
            [[r.data_class, r.policy, str(r.rows), str(r.files)] for r in report.results],
        ),
    )
    for error in report.file_errors:
        Console(stderr=True).print(f"[yellow]warning:[/] {error}")


# --- locations and cameras ---------------------------------------------------------------------------------
