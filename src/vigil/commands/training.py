"""`vigil training`: training records that unlock capabilities."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.commands.common import AsUser, acting_user, parse_date, system_session

training_app = typer.Typer(help="Training records that unlock capabilities.", no_args_is_help=True)


@training_app.command("add")
def training_add(
    username: str,
    capability: Annotated[str, typer.Option(help="analytics, retrospective_fr, live_fr, registry, requests, export.")],
    course: Annotated[str, typer.Option(help="Course name.")],
    completed: Annotated[str, typer.Option(help="Completion date, YYYY-MM-DD.")],
    expires: Annotated[str, typer.Option(help="Expiry date, YYYY-MM-DD.")],
    as_user: AsUser = None,
) -> None:
    """Record a completed training course for a user (by a supervisor or administrator)."""
    from vigil.governance.training import record_training

    with system_session() as (_, db):
        record = record_training(
            db,
            actor=acting_user(db, as_user),
            username=username,
            capability=capability,
            course=course,
            completed_on=parse_date(completed, "--completed"),
            expires_on=parse_date(expires, "--expires"),
        )
        typer.echo(f"recorded {record.capability} training for {username}, valid until {record.expires_on}")


@training_app.command("withdraw")
def training_withdraw(
    record: Annotated[int, typer.Argument(help="Training record id (`vigil user list --json` shows them).")],
    reason: Annotated[str, typer.Option(help="Why it is withdrawn (e.g. 'entered in error').")],
    as_user: AsUser = None,
) -> None:
    """Withdraw a training record: it stays on file but no longer unlocks its capability."""
    from vigil.governance.training import withdraw_training

    with system_session() as (_, db):
        withdrawn = withdraw_training(db, actor=acting_user(db, as_user), record_id=record, reason=reason)
        typer.echo(f"withdrew {withdrawn.capability} training record {withdrawn.id} of {withdrawn.user.username}")


# --- audit and retention -----------------------------------------------------------------------------------
