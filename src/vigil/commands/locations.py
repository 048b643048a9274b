"""`vigil location`: camera locations and their Privacy Impact Assessments (add, record a PIA, edit,
retire and re-activate)."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, parse_date, system_session

location_app = typer.Typer(help="Camera locations and their Privacy Impact Assessments.", no_args_is_help=True)
LocationArg = Annotated[str, typer.Argument(help="Location id or name.")]


@location_app.command("add")
def location_add(
    name: str,
    address: Annotated[str, typer.Option(help="Street address.")] = "",
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS84).")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS84).")] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Add a force camera location."""
    from vigil.governance.locations import add_location

    with system_session() as (_, db):
        location = add_location(
            db, actor=acting_user(db, as_user), name=name, address=address, latitude=lat, longitude=lon
        )
        data = {"id": location.id, "name": location.name}
    emit(data, as_json, lambda: typer.echo(f"added location {data['id']}: {data['name']}"))


@location_app.command("pia")
def location_pia(
    location: Annotated[str, typer.Argument(help="Location id or name.")],
    reference: Annotated[str, typer.Option(help="PIA reference.")],
    purposes: Annotated[str, typer.Option(help="Approved purposes.")],
    approved: Annotated[str, typer.Option(help="Approval date, YYYY-MM-DD.")],
    review: Annotated[str, typer.Option(help="Review date, YYYY-MM-DD.")],
    approved_by: Annotated[str, typer.Option(help="Who approved it.")],
    as_user: AsUser = None,
) -> None:
    """Record a Privacy Impact Assessment for a location."""
    from vigil.governance.locations import add_pia, get_location

    with system_session() as (_, db):
        site = get_location(db, location)
        pia = add_pia(
            db,
            actor=acting_user(db, as_user),
            location_id=site.id,
            reference=reference,
            approved_purposes=purposes,
            approved_on=parse_date(approved, "--approved"),
            review_date=parse_date(review, "--review"),
            approved_by=approved_by,
        )
        typer.echo(f"recorded PIA {pia.reference} for {site.name}, review by {pia.review_date}")


@location_app.command("edit")
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


@location_app.command("retire")
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
