"""Helpers shared by the command modules: settings, sessions, the acting user, output, parsing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from vigil.db.models import User
from vigil.db.session import session_scope
from vigil.errors import InvalidInput, VigilError
from vigil.settings import Settings, SettingsError, load_settings
from vigil.system import System, open_system, prepare

CaseOpt = Annotated[str | None, typer.Option("--case", envvar="VIGIL_CASE", help="Case reference.")]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", envvar="VIGIL_PURPOSE", help="Policing purpose.")]
AsUser = Annotated[str | None, typer.Option("--as", envvar="VIGIL_USER", help="The vigil user to act as.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def fail(message: str, code: int = 2) -> NoReturn:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False)  # brackets stay text
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


@contextmanager
def system_session() -> Iterator[tuple[System, Session]]:
    """A migrated system and a session that commits on success; vigil errors become one clear line."""
    system = open_system(settings())
    try:
        prepare_quietly(system)
        with session_scope(system.sessions) as db:
            yield system, db
    except VigilError as exc:
        fail(exc.message)
    finally:
        system.close()


def prepare_quietly(system: System) -> None:
    password = prepare(system)
    if password is not None:
        print_first_admin(password)


def print_first_admin(password: str) -> None:
    Console(stderr=True).print(
        "[bold yellow]First start: created administrator 'admin' with one-time password[/] "
        f"[bold]{password}[/]\n(shown once; you must change it at first login)",
        highlight=False,
    )


def acting_user(db: Session, username: str | None) -> User:
    from vigil.governance.users import get_user

    if not username:
        fail("say which vigil user you act as: --as USER or VIGIL_USER=USER")
    user = get_user(db, username)
    if not user.is_active:
        fail(f"user {username!r} is disabled")
    return user


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render()


def parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a date (use YYYY-MM-DD)") from None


def parse_datetime(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a date/time (use ISO 8601, e.g. 2024-05-01T14:00:00Z)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    view = Table(title=title)
    for column in columns:
        view.add_column(column)
    for row in rows:
        view.add_row(*row)
    Console().print(view)
