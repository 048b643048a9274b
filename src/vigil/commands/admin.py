"""Administration commands: database, configuration, users, training, audit, retention, locations, cameras."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
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
    parse_date,
    parse_datetime,
    prepare_quietly,
    settings,
    system_session,
    table,
)
from vigil.system import open_system

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts (administrators).", no_args_is_help=True)
training_app = typer.Typer(help="Training records that unlock capabilities.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of footage and other data.", no_args_is_help=True)
config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)
camera_app = typer.Typer(help="Force cameras.", no_args_is_help=True)
location_app = typer.Typer(help="Camera locations and their Privacy Impact Assessments.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (creates the first administrator on an empty database)."""
    system = open_system(settings())
    try:
        prepare_quietly(system)
    finally:
        system.close()
    typer.echo("database is at the newest revision")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")]) -> None:
    """Revert migrations down to REVISION (destroys the data of the reverted tables)."""
    from vigil.db.migrate import downgrade

    system = open_system(settings())
    try:
        downgrade(system.engine, revision)
    finally:
        system.close()
    typer.echo(f"database downgraded to {revision}")


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets masked."""
    typer.echo(json.dumps(settings().masked(), indent=2))


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration; name each bad field."""
    config = settings()
    typer.echo(f"configuration is valid (database: {config.masked()['database_url']})")


# --- users and training ------------------------------------------------------------------------------------


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


@audit_app.command("export")
def audit_export(
    since: Annotated[str | None, typer.Option(help="Only entries at or after this ISO date/time.")] = None,
    filter_case: Annotated[str | None, typer.Option(help="Only entries for this case reference.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file instead of stdout.")] = None,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
) -> None:
    """Export audit entries (with their hashes) for auditors; the export is audited with its case and purpose."""
    from vigil.governance.access import make_context
    from vigil.governance.audit_review import AuditFilter, export_audit

    with system_session() as (_, db):
        user = acting_user(db, as_user)
        where = AuditFilter(case_ref=filter_case, since=parse_datetime(since, "--since") if since else None)
        text = export_audit(db, actor=user, context=make_context(case, purpose), where=where, fmt=fmt)
    if output:
        output.write_text(text)
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what is due without deleting.")] = False,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Apply the retention policies now (the scheduler also runs them hourly)."""
    from vigil.governance.retention import run_retention_now
    from vigil.system import default_rules

    with system_session() as (system, db):
        report = run_retention_now(
            db,
            actor=acting_user(db, as_user),
            rules=default_rules(system.settings),
            data_dir=system.settings.data_dir,
            dry_run=dry_run,
        )
    data = {"dry_run": report.dry_run, "results": [r.__dict__ for r in report.results], "errors": report.file_errors}
    verb = "due" if dry_run else "deleted"
    emit(
        data,
        as_json,
        lambda: table(
            f"retention ({'dry run' if dry_run else 'applied'})",
            ["data class", "policy", f"rows {verb}", f"files {verb}"],
            [[r.data_class, r.policy, str(r.rows), str(r.files)] for r in report.results],
        ),
    )
    for error in report.file_errors:
        Console(stderr=True).print(f"[yellow]warning:[/] {error}")


# --- locations and cameras ---------------------------------------------------------------------------------


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


@camera_app.command("add")
def camera_add(
    code: str,
    location: Annotated[str, typer.Option(help="Location id or name.")],
    name: Annotated[str, typer.Option(help="Descriptive name.")] = "",
    bearing: Annotated[float | None, typer.Option(help="Compass bearing the camera faces (0 = north).")] = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="Then ask for its live source URL (as `vigil camera source set`).")
    ] = False,
    as_user: AsUser = None,
) -> None:
    """Add a force camera at a location."""
    from vigil.commands.camera_sources import read_url
    from vigil.governance.camera_sources import set_source, source_policy
    from vigil.governance.cameras.register import add_camera
    from vigil.governance.locations import get_location

    url = read_url(from_stdin=not sys.stdin.isatty()) if stream else None
    with system_session() as (system, db):
        site = get_location(db, location)
        camera = add_camera(
            db,
            actor=acting_user(db, as_user),
            code=code,
            name=name,
            location_id=site.id,
            bearing_deg=bearing,
        )
        typer.echo(f"added camera {camera.code} at {site.name}")
        if url is not None:
            source = set_source(
                db,
                user=acting_user(db, as_user),
                camera_code=camera.code,
                url=url,
                policy=source_policy(system.settings),
            )
            typer.echo(f"camera {camera.code}: live source {source.masked}")


def _numbers(text: str, option: str, count: int) -> list[float]:
    """``count`` comma-separated finite numbers, or a one-line error naming the option."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        fail(f"{option} must be {count} comma-separated numbers, got {text!r}")
    if len(values) != count or not all(math.isfinite(v) for v in values):
        fail(f"{option} must be {count} comma-separated finite numbers, got {text!r}")
    return values


@camera_app.command("calibrate")
def camera_calibrate(
    code: str,
    homography: Annotated[
        str, typer.Option(help="Image -> ground (metres) homography: 9 numbers 'h11,h12,...,h33', row by row.")
    ],
    principal_point: Annotated[str, typer.Option(help="Principal point 'cx,cy' in pixels (usually the centre).")],
    as_user: AsUser = None,
) -> None:
    """Record a camera's ground-plane calibration, so track heights and speeds come out in metres."""
    from vigil.governance.cameras.geometry import set_camera_calibration

    values = _numbers(homography, "--homography", 9)
    cx, cy = _numbers(principal_point, "--principal-point", 2)
    with system_session() as (_, db):
        camera = set_camera_calibration(
            db,
            actor=acting_user(db, as_user),
            code=code,
            image_to_ground=[values[0:3], values[3:6], values[6:9]],
            principal_point=(cx, cy),
        )
        typer.echo(f"calibrated camera {camera.code}")


@camera_app.command("zone")
def camera_zone(
    code: str,
    name: Annotated[str, typer.Option(help="Zone name (1-40 characters); an existing zone of that name is replaced.")],
    polygon: Annotated[str, typer.Option(help="Polygon in image pixels: 'x1,y1 x2,y2 x3,y3 ...' (3 or more points).")],
    as_user: AsUser = None,
) -> None:
    """Add or replace a named zone on a camera, for per-zone dwell times."""
    from vigil.domain.cameras import Zone
    from vigil.governance.cameras.geometry import camera_geometry, set_camera_zones
    from vigil.governance.cameras.register import get_camera

    points = [_numbers(pair, "--polygon point", 2) for pair in polygon.split()]
    with system_session() as (_, db):
        zone = Zone(name.strip(), tuple((x, y) for x, y in points))
        zones = list(camera_geometry(get_camera(db, code)).zones)
        names = [z.name for z in zones]
        if zone.name in names:
            zones[names.index(zone.name)] = zone
        else:
            zones.append(zone)
        camera = set_camera_zones(db, actor=acting_user(db, as_user), code=code, zones=zones)
        typer.echo(f"camera {camera.code} zones: {', '.join(z.name for z in camera_geometry(camera).zones)}")


@camera_app.command("list")
def camera_list(
    lacking_pia: Annotated[bool, typer.Option("--lacking-pia", help="Only cameras without a current PIA.")] = False,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """List force cameras with their location and PIA status."""
    from vigil.governance.cameras.register import camera_register

    with system_session() as (_, db):
        statuses = camera_register(
            db, actor=acting_user(db, as_user), today=datetime.now(UTC).date(), only_lacking_pia=lacking_pia
        )
        data = [
            {
                "code": s.camera.code,
                "name": s.camera.name,
                "location": s.camera.location.name,
                "pia": s.pia.reference if s.pia else None,
                "pia_status": s.pia_state,
            }
            for s in statuses
        ]
    emit(
        data,
        as_json,
        lambda: table(
            "cameras",
            ["code", "name", "location", "PIA"],
            [[str(d[k]) for k in ("code", "name", "location", "pia_status")] for d in data],
        ),
    )
