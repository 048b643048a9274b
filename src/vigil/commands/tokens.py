"""API token commands: list a user's tokens, revoke one."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, system_session, table

UserOpt = Annotated[str | None, typer.Option("--user", help="Whose tokens (administrators); default: yours.")]
token_app = typer.Typer(help="API tokens: list and revoke (your own, or anyone's as an administrator).")


@token_app.command("list")
def token_list(
    username: Annotated[
        str | None, typer.Option("--user", help="Whose tokens (administrators); default: yours.")
    ] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """List API tokens with their name, creation, last use, expiry and state."""
    from vigil.db.base import utcnow
    from vigil.governance.users import list_tokens

    with system_session() as (_, db):
        now = utcnow()
        data = [
            {
                "id": token.id,
                "user": token.user.username,
                "name": token.name,
                "created": token.created_at.isoformat(),
                "last_used": token.last_used_at.isoformat() if token.last_used_at else None,
                "expires": token.expires_at.isoformat(),
                "state": "revoked" if token.revoked_at else ("expired" if token.expires_at <= now else "working"),
            }
            for token in list_tokens(db, actor=acting_user(db, as_user), username=username)
        ]
    columns = ["id", "user", "name", "created", "last_used", "expires", "state"]
    emit(data, as_json, lambda: table("API tokens", columns, [[str(d[c] or "-") for c in columns] for d in data]))


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from `vigil token list`).", min=1)],
    as_user: AsUser = None,
) -> None:
    """Revoke one API token at once (your own, or any user's as an administrator)."""
    from vigil.governance.users import revoke_token

    with system_session() as (_, db):
        token = revoke_token(db, actor=acting_user(db, as_user), token_id=token_id)
        owner, name = token.user.username, token.name
    typer.echo(f"revoked API token {token_id} ({name!r} of {owner})")
