"""Camera registry commands: import/export force cameras, cameras near an incident, request housekeeping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vigil.commands.common import (
    AsUser,
    CaseOpt,
    JsonOut,
    PurposeOpt,
    acting_user,
    emit,
    fail,
    parse_datetime,
    system_session,
    table,
)

registry_app = typer.Typer(
    help="Camera registry: force cameras import/export, cameras near an incident.", no_args_is_help=True
)
requests_app = typer.Typer(help="Footage requests: reminders, expiry and queued emails.", no_args_is_help=True)


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="CSV (code,name,location,latitude,longitude,bearing) or GeoJSON.")],
    as_user: AsUser = None,
) -> None:
    """Add force cameras (and their locations when new) from a CSV or GeoJSON file, all or nothing."""
    from vigil.registry.cameras import import_cameras, parse_csv, parse_geojson

    try:
        content = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    is_json = file.suffix.lower() in (".geojson", ".json")
    with system_session() as (_, db):
        rows = parse_geojson(content) if is_json else parse_csv(content)
        count = import_cameras(db, user=acting_user(db, as_user), rows=rows)
    Console().print(f"imported {count} camera(s) from {file}")


@registry_app.command("export")
def registry_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="GeoJSON file to write.")],
    as_user: AsUser = None,
) -> None:
    """Write the force's located cameras, with their PIA status, as a GeoJSON FeatureCollection."""
    from vigil.registry.cameras import export_geojson

    with system_session() as (_, db):
        collection = export_geojson(db, user=acting_user(db, as_user))
    output.write_text(json.dumps(collection, indent=1) + "\n", encoding="utf-8")
    Console().print(f"wrote {len(collection['features'])} camera(s) to {output}")


@registry_app.command("near")
def registry_near(
    latitude: Annotated[float, typer.Argument(help="Incident latitude.")],
    longitude: Annotated[float, typer.Argument(help="Incident longitude.")],
    radius: Annotated[float, typer.Option(help="Search radius in metres.")] = 300.0,
    at: Annotated[str, typer.Option(help="Incident time, ISO 8601 (e.g. 2026-11-20T14:00:00Z).")] = "",
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Registered and force cameras near an incident, most useful first (audited with case and purpose).

    Put the options first and `--` before the coordinates when the longitude is negative:
    `vigil registry near --at 2026-11-20T14:00:00Z --case ... --purpose ... -- 54.6641 -2.7527`.
    """
    from vigil.governance.access import make_context
    from vigil.registry.nearby import NearQuery, cameras_near

    if not at:
        fail("give the incident time: --at 2026-11-20T14:00:00Z")
    with system_session() as (system, db):
        query = NearQuery(latitude, longitude, radius, parse_datetime(at, "--at"))
        found = cameras_near(
            db,
            settings=system.settings,
            user=acting_user(db, as_user),
            context=make_context(case, purpose),
            query=query,
        )
        data = [
            {
                "source": cam.source,
                "camera": cam.camera_id,
                "label": cam.label,
                "distance_m": round(cam.distance_m, 1),
                "faces_point": cam.faces_point,
                "probably_retained": cam.probably_retained,
                "registration": cam.owner_id,
                "pia": cam.pia or None,
                "contact": cam.contact.__dict__ if cam.contact else None,
            }
            for cam in found
        ]
        rows = [
            [
                f"{cam.label} ({cam.source})",
                f"{cam.distance_m:.0f} m",
                {True: "yes", False: "no", None: "?"}[cam.faces_point],
                "yes" if cam.probably_retained else "probably deleted",
                (cam.contact.name if cam.contact else "") if cam.source == "registered" else (cam.pia or "NO PIA"),
            ]
            for cam in found
        ]
    emit(
        data,
        as_json,
        lambda: table(
            f"{len(data)} camera(s) within {radius:g} m", ["camera", "distance", "faces?", "kept?", "owner / PIA"], rows
        ),
    )


@requests_app.command("remind")
def requests_remind() -> None:
    """Send the one reminder due to unanswered requests and expire those whose link ran out."""
    requests_housekeeping()


@requests_app.command("expire")
def requests_expire() -> None:
    """Expire requests whose link ran out (reminders due are sent too: both are the same housekeeping)."""
    requests_housekeeping()


@requests_app.command("send-mail")
def requests_send_mail() -> None:
    """Send the queued emails that are due (the web app also retries them every mail.retry_seconds)."""
    from vigil.registry.housekeeping import send_queued_mail

    with system_session() as (system, _):
        delivery = send_queued_mail(system)
    Console().print(mail_line(delivery.sent, delivery.queued, delivery.failed, delivery.error))


def mail_line(sent: int, queued: int, failed: int, error: str) -> str:
    return f"emails: {sent} sent, {queued} still queued, {failed} given up" + (
        f" (last error: {error})" if error else ""
    )


def requests_housekeeping() -> None:
    from vigil.registry.housekeeping import registry_housekeeping, send_queued_mail

    with system_session() as (system, db):
        done = registry_housekeeping(db, settings=system.settings)
    with system_session() as (system, _):  # after the commit: the reminders just queued
        delivery = send_queued_mail(system)
    Console().print(
        f"reminded {done.reminded}, expired {done.expired}, purged {done.purged} unconfirmed registration(s), "
        f"dropped {done.dropped_uploads} unfinished upload(s); "
        + mail_line(delivery.sent, delivery.queued, delivery.failed, delivery.error)
    )
