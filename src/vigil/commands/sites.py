"""Commands that edit, retire and re-activate locations and cameras (registered under `vigil location|camera`)."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.commands.common import AsUser, acting_user, system_session

LocationArg = Annotated[str, typer.Argument(help="Location id or name.")]


def location_edit(
    location: LocationArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    address: Annotated[str | None, typer.Option(help="New street address.")] = None,
    lat: Annotated[float | None, typer.Option(help="New latitude (WGS84; with --lon).")] = None,
    lon: Annotated[float | None, typer.Option(help="New longitude (WGS84; with --lat).")] = None,
    as_user: AsUser = None,
) -> None:
    """Correct a location's name, address or position (options left out keep their value)."""
    from vigil.governance.locations import get_location
    from vigil.governance.sites import edit_location

    with system_session() as (_, db):
        site = get_location(db, location)
        moved = lat is not None or lon is not None
        edited = edit_location(
            db,
            actor=acting_user(db, as_user),
            location_id=site.id,
            name=site.name if name is None else name,
            address=site.address if address is None else address,
            latitude=lat if moved else site.latitude,
            longitude=lon if moved else site.longitude,
        )
        typer.echo(f"updated location {edited.id}: {edited.name}")


def location_retire(
    location: LocationArg,
    undo: Annotated[bool, typer.Option("--undo", help="Re-activate a retired location instead.")] = False,
    as_user: AsUser = None,
) -> None:
    """Retire a location (its cameras must be retired or moved first; its PIAs and history stay)."""
    from vigil.governance.locations import get_location
    from vigil.governance.sites import set_location_active

    with system_session() as (_, db):
        site = set_location_active(
            db, actor=acting_user(db, as_user), location_id=get_location(db, location).id, active=undo
        )
        typer.echo(f"{'re-activated' if undo else 'retired'} location {site.name}")


def camera_edit(
    code: str,
    name: Annotated[str | None, typer.Option(help="New descriptive name.")] = None,
    location: Annotated[str | None, typer.Option(help="Move to this location (id or name).")] = None,
    bearing: Annotated[float | None, typer.Option(help="New compass bearing (0 = north).")] = None,
    as_user: AsUser = None,
) -> None:
    """Rename a camera, move it to another location or correct its bearing (options left out keep their value)."""
    from vigil.governance.locations import get_camera, get_location
    from vigil.governance.sites import edit_camera

    with system_session() as (_, db):
        camera = get_camera(db, code)
        edited = edit_camera(
            db,
            actor=acting_user(db, as_user),
            code=camera.code,
            name=camera.name if name is None else name,
            location_id=camera.location_id if location is None else get_location(db, location).id,
            bearing_deg=camera.bearing_deg if bearing is None else bearing,
        )
        typer.echo(f"updated camera {edited.code} at {edited.location.name}")


def camera_retire(
    code: str,
    undo: Annotated[bool, typer.Option("--undo", help="Re-activate a retired camera instead.")] = False,
    as_user: AsUser = None,
) -> None:
    """Retire a camera (its footage and tracks stay) or, with --undo, re-activate it."""
    from vigil.governance.sites import set_camera_active

    with system_session() as (_, db):
        camera = set_camera_active(db, actor=acting_user(db, as_user), code=code, active=undo)
        typer.echo(f"{'re-activated' if undo else 'retired'} camera {camera.code}")
