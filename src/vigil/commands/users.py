"""`vigil user`: user accounts, for administrators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, system_session, table

user_app = typer.Typer(help="User accounts (administrators).", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="operator, investigator, supervisor, admin or auditor.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Add a user with a generated one-time password (printed once; changed at first login)."""
    from vigil.governance.users import create_user

    with system_session() as (_, db):
        user, password = create_user(
            db, actor=acting_user(db, as_user), username=username, display_name=name, role=role
        )
        data = {"username": user.username, "role": user.role, "one_time_password": password}
    emit(data, as_json, lambda: typer.echo(f"added {data['username']} ({role}); one-time password: {password}"))


@user_app.command("list")
def user_list(as_user: AsUser = None, as_json: JsonOut = False) -> None:
    """List users with their role, state and current training."""
    from vigil.governance.access import require_permission
    from vigil.governance.roles import Permission
    from vigil.governance.users import list_users

    with system_session() as (_, db):
        require_permission(db, user=acting_user(db, as_user), permission=Permission.MANAGE_USERS, action="user.list")
        today = datetime.now(UTC).date()
        data = [
            {
                "username": u.username,
                "name": u.display_name,
                "role": u.role,
                "email": u.email,
                "active": u.is_active,
                "training": sorted({t.capability for t in u.training if t.is_current(today)}),
                "training_records": [
                    {"id": t.id, "capability": t.capability, "course": t.course, "current": t.is_current(today)}
                    for t in u.training
                ],
            }
            for u in list_users(db)
        ]
    emit(
        data,
        as_json,
        lambda: table(
            "users",
            ["username", "name", "role", "active", "current training"],
            [
                [
                    str(d["username"]),
                    str(d["name"]),
                    str(d["role"]),
                    "yes" if d["active"] else "DISABLED",
                    ", ".join(map(str, d["training"])) or "-",  # type: ignore[call-overload]
                ]
                for d in data
            ],
        ),
    )


@user_app.command("disable")
def user_disable(username: str, as_user: AsUser = None) -> None:
    """Disable a user (their API tokens are revoked; their sessions end)."""
    from vigil.governance.users import set_active

    with system_session() as (_, db):
        set_active(db, actor=acting_user(db, as_user), username=username, active=False)
    typer.echo(f"disabled {username}")


@user_app.command("enable")
def user_enable(username: str, as_user: AsUser = None) -> None:
    """Re-activate a disabled (retired) user; they log in with their existing password."""
    from vigil.governance.users import set_active

    with system_session() as (_, db):
        set_active(db, actor=acting_user(db, as_user), username=username, active=True)
    typer.echo(f"enabled {username}")


@user_app.command("reset-password")
def user_reset_password(username: str, as_user: AsUser = None, as_json: JsonOut = False) -> None:
    """Give a user a new one-time password (printed once); their sessions end and API tokens are revoked."""
    from vigil.governance.accounts import reset_password

    with system_session() as (_, db):
        password = reset_password(db, actor=acting_user(db, as_user), username=username)
    data = {"username": username.strip().lower(), "one_time_password": password}
    emit(data, as_json, lambda: typer.echo(f"reset {username}; one-time password: {password} (change at next login)"))


@user_app.command("role")
def user_role(
    username: str,
    role: Annotated[str, typer.Argument(help="operator, investigator, supervisor, admin or auditor.")],
    as_user: AsUser = None,
) -> None:
    """Change a user's role (audited with the old and new role)."""
    from vigil.governance.accounts import change_role

    with system_session() as (_, db):
        user = change_role(db, actor=acting_user(db, as_user), username=username, role=role)
        typer.echo(f"{user.username} is now {user.role}")


@user_app.command("email")
def user_email(
    username: str,
    address: Annotated[str, typer.Argument(help="Where vigil's notices to the user go ('' for none).")],
    as_user: AsUser = None,
) -> None:
    """Set a user's email address (audited): supervisors get notices there, e.g. a camera's recording failed."""
    from vigil.governance.accounts import set_email

    with system_session() as (_, db):
        user = set_email(db, actor=acting_user(db, as_user), username=username, email=address)
        typer.echo(f"{user.username}: email {user.email or '(none)'}")
