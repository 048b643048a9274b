"""`vigil camera source set|clear|list`: the live sources of force cameras (administrators and supervisors).

The URL is read from a hidden prompt or standard input rather than the command line, so credentials in it stay out
of shell histories and process lists; it is stored sealed and only ever printed masked.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, fail, system_session, table

RECORDING_HELP = (
    "Recording policy: continuous (every segment), motion (segments in which something moved, with one segment "
    "before and after) or off."
)

source_app = typer.Typer(
    help="Live sources of force cameras (rtsp, rtsps, http or https; stored encrypted, shown masked).",
    no_args_is_help=True,
)


def read_url(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        fail("give the source URL on standard input with --stdin, or run in a terminal to be asked for it")
    return str(typer.prompt("Source URL (not echoed)", hide_input=True)).strip()


@source_app.command("set")
def source_set(
    code: Annotated[str, typer.Argument(help="Code of the force camera.")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the URL from standard input (one line).")] = False,
    recording: Annotated[
        str | None, typer.Option("--recording", help=RECORDING_HELP + " Default: keep the camera's current policy.")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Give a force camera its live source (asks for the URL without echoing it), replacing any earlier one."""
    from vigil.governance.camera_sources import set_source, source_policy

    url = read_url(stdin)
    with system_session() as (system, db):
        source = set_source(
            db,
            user=acting_user(db, as_user),
            camera_code=code,
            url=url,
            policy=source_policy(system.settings),
            recording=recording,
        )
        typer.echo(f"camera {source.camera.code}: live source {source.masked}, recording {source.recording}")


@source_app.command("recording")
def source_recording(
    code: Annotated[str, typer.Argument(help="Code of the force camera.")],
    policy: Annotated[str, typer.Argument(help=RECORDING_HELP)],
    as_user: AsUser = None,
) -> None:
    """Change a camera's recording policy (its worker takes it up when the live supervisor next starts)."""
    from vigil.governance.camera_sources import set_recording

    with system_session() as (_, db):
        source = set_recording(db, user=acting_user(db, as_user), camera_code=code, recording=policy)
        typer.echo(f"camera {source.camera.code}: recording {source.recording}")


@source_app.command("clear")
def source_clear(
    code: Annotated[str, typer.Argument(help="Code of the force camera.")],
    as_user: AsUser = None,
) -> None:
    """Remove a camera's live source."""
    from vigil.governance.camera_sources import clear_source

    with system_session() as (_, db):
        clear_source(db, user=acting_user(db, as_user), camera_code=code)
        typer.echo(f"camera {code.strip().upper()}: live source removed")


@source_app.command("list")
def source_list(as_user: AsUser = None, as_json: JsonOut = False) -> None:
    """The cameras with a live source (masked: credentials are never shown)."""
    from vigil.governance.camera_sources import list_sources

    with system_session() as (_, db):
        data = [
            {
                "camera": s.camera.code,
                "kind": s.kind,
                "source": s.masked,
                "recording": s.recording,
                "set_at": s.set_at.isoformat(),
            }
            for s in list_sources(db, user=acting_user(db, as_user))
        ]
    emit(
        data,
        as_json,
        lambda: table(
            "camera sources",
            ["camera", "kind", "source", "recording", "set"],
            [[str(d[k]) for k in data[0]] for d in data],
        ),
    )
