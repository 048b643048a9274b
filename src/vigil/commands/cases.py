"""Cases: a supervisor opens a case and assigns its members; only members (and supervisors) work on it."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, system_session, table

case_app = typer.Typer(
    help="Cases: opened by a supervisor, worked on only by their members (and supervisors, audited).",
    no_args_is_help=True,
)
Reference = Annotated[str, typer.Argument(help="The case reference, e.g. CUM-2026-001234.")]
Member = Annotated[str, typer.Argument(help="Username of the member.")]


@case_app.command("open")
def case_open(
    reference: Reference,
    title: Annotated[str, typer.Option(help="A short title for the case.")],
    summary: Annotated[str, typer.Option(help="What the case is about (optional).")] = "",
    as_user: AsUser = None,
) -> None:
    """Open a case (supervisors); add its members with `vigil case add-member`."""
    from vigil.governance.cases import open_case_record

    with system_session() as (_, db):
        case = open_case_record(
            db=db, actor=acting_user(db, as_user), reference=reference, title=title, summary=summary
        )
        typer.echo(f"opened case {case.reference}: {case.title}")


@case_app.command("add-member")
def case_add_member(reference: Reference, username: Member, as_user: AsUser = None) -> None:
    """Assign a user to a case (supervisors); they can then work on it."""
    from vigil.governance.cases import add_member

    with system_session() as (_, db):
        add_member(db=db, actor=acting_user(db, as_user), reference=reference, username=username)
        typer.echo(f"{username} is now a member of case {reference}")


@case_app.command("remove-member")
def case_remove_member(reference: Reference, username: Member, as_user: AsUser = None) -> None:
    """End a user's membership of a case (supervisors); their access ends at once."""
    from vigil.governance.cases import remove_member

    with system_session() as (_, db):
        remove_member(db=db, actor=acting_user(db, as_user), reference=reference, username=username)
        typer.echo(f"{username} is no longer a member of case {reference}")


@case_app.command("close")
def case_close(reference: Reference, as_user: AsUser = None) -> None:
    """Close a case (supervisors): its members can no longer work on it."""
    from vigil.governance.cases import close_case

    with system_session() as (_, db):
        close_case(db=db, actor=acting_user(db, as_user), reference=reference)
        typer.echo(f"closed case {reference}")


@case_app.command("list")
def case_list(
    closed: Annotated[bool, typer.Option("--closed", help="Include closed cases (supervisors).")] = False,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """The cases you may work on (a supervisor sees every case)."""
    from vigil.governance.cases import list_cases_for, view_of

    with system_session() as (_, db):
        user = acting_user(db, as_user)
        views = [view_of(db, case) for case in list_cases_for(db=db, user=user, include_closed=closed)]
    rows = [[v.reference, v.title, v.status, v.opened_by, ", ".join(v.members)] for v in views]
    emit(
        [v.__dict__ for v in views],
        as_json,
        lambda: table("Cases", ["Reference", "Title", "Status", "Opened by", "Members"], rows),
    )
