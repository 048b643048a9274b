"""Footage commands: ingest with chain of custody, list, verify; analysis and track export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vigil.commands.common import (
    AsUser,
    JsonOut,
    acting_user,
    emit,
    parse_datetime,
    system_session,
    table,
)

footage_app = typer.Typer(help="Footage: ingest with chain of custody, list, verify.", no_args_is_help=True)

# --- footage ----------------------------------------------------------------------------------------------


def footage_as_dict(footage: Any, *, duplicate: bool = False, warnings: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "id": footage.id,
        "camera": footage.camera.code,
        "original_name": footage.original_name,
        "sha256": footage.sha256,
        "size_bytes": footage.size_bytes,
        "container": footage.container,
        "codec": footage.codec,
        "resolution": f"{footage.width}x{footage.height}",
        "fps": round(footage.fps, 3),
        "duration_s": round(footage.duration_s, 2),
        "frames": footage.frame_count,
        "start_time": footage.start_time.isoformat(),
        "start_time_source": footage.start_time_source,
        "case": footage.case.reference if footage.case else None,
        "duplicate": duplicate,
        "warnings": list(warnings),
    }


@footage_app.command("add")
def footage_add(
    file: Annotated[Path, typer.Argument(help="Video file to ingest (stored untouched).")],
    camera: Annotated[str, typer.Option(help="Code of the force camera that recorded it.")],
    start: Annotated[
        str | None,
        typer.Option(
            help="Recording start, ISO 8601 with offset (e.g. 2024-05-01T14:00:00Z); 1990 or later, not future."
        ),
    ] = None,
    source: Annotated[str, typer.Option(help="Where the footage came from.")] = "force CCTV",
    case: Annotated[str | None, typer.Option(help="Case reference to hold the footage for.")] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Ingest a video: probe it, hash it, store the original and start its chain of custody.

    Accepted: video in a real container (AVI, MP4/MOV, MKV/WebM, MPEG-TS/PS, FLV, ASF/WMV, Dahua DAV).
    Refused: images, archives and bare H.264/H.265/MJPEG streams (no frame rate or length of their own).
    The web app makes a copy browsers can play when the original's format needs one.
    """
    from vigil.footage.ingest import ingest_footage

    with system_session() as (system, db):
        result = ingest_footage(
            db,
            settings=system.settings,
            user=acting_user(db, as_user),
            source_path=file,
            camera_code=camera,
            start=parse_datetime(start, "--start") if start else None,
            source=source,
            case_ref=case,
        )
        data = footage_as_dict(result.footage, duplicate=result.duplicate, warnings=result.warnings)
    for warning in result.warnings:
        Console(stderr=True).print(f"[yellow]warning:[/] {warning}", highlight=False)
    verb = "already stored as" if data["duplicate"] else "ingested as"
    emit(
        data,
        as_json,
        lambda: typer.echo(
            f"{file.name} {verb} footage {data['id']}: {data['resolution']} {data['fps']} fps, "
            f"{data['duration_s']} s, sha256 {data['sha256']}"
        ),
    )


@footage_app.command("list")
def footage_list(
    camera: Annotated[str | None, typer.Option(help="Only footage from this camera.")] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """List stored footage."""
    from vigil.footage.ingest import list_footage
    from vigil.governance.access import require_permission
    from vigil.governance.roles import Permission

    with system_session() as (_, db):
        require_permission(db, user=acting_user(db, as_user), permission=Permission.VIEW_CAMERAS, action="footage.list")
        data = [footage_as_dict(f) for f in list_footage(db, camera_code=camera)]
    emit(
        data,
        as_json,
        lambda: table(
            "footage",
            ["id", "camera", "file", "start", "duration", "sha256"],
            [
                [
                    str(d["id"]),
                    d["camera"],
                    d["original_name"],
                    d["start_time"],
                    f"{d['duration_s']} s",
                    d["sha256"][:16],
                ]
                for d in data
            ],
        ),
    )


@footage_app.command("verify")
def footage_verify(
    footage_id: Annotated[int, typer.Argument(help="Footage id.")],
    as_user: AsUser = None,
) -> None:
    """Re-hash a stored original against its chain of custody (exit 1 on mismatch)."""
    from vigil.footage.custody import verify_footage
    from vigil.footage.ingest import get_footage

    with system_session() as (system, db):
        user = acting_user(db, as_user)
        footage = get_footage(db, footage_id)
        ok = verify_footage(db, footage=footage, settings=system.settings, actor=user.username)
    typer.echo(f"footage {footage_id}: " + ("hash matches the chain of custody" if ok else "HASH MISMATCH or missing"))
    if not ok:
        raise typer.Exit(1)
