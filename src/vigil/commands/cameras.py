"""`vigil camera`: force cameras (add, list, edit, retire, calibrate, zones, detection sensitivity).

Camera sources (`vigil camera source`) are in :mod:`vigil.commands.camera_sources`."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, fail, settings, system_session, table

camera_app = typer.Typer(help="Force cameras.", no_args_is_help=True)


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


@camera_app.command("edit")
def camera_edit(
    code: str,
    name: Annotated[str | None, typer.Option(help="New descriptive name.")] = None,
    location: Annotated[str | None, typer.Option(help="Move to this location (id or name).")] = None,
    bearing: Annotated[float | None, typer.Option(help="New compass bearing (0 = north).")] = None,
    as_user: AsUser = None,
) -> None:
    """Rename a camera, move it to another location or correct its bearing (options left out keep their value)."""
    from vigil.governance.cameras.register import get_camera
    from vigil.governance.locations import get_location
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


@camera_app.command("retire")
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


@camera_app.command("sensitivity")
def camera_sensitivity(
    code: str,
    score: Annotated[
        float | None, typer.Option(help="Score of a confident person detection on this camera (0.05-0.95).")
    ] = None,
    person_height: Annotated[
        float | None, typer.Option(help="Height in pixels of a small (distant) person in this camera's picture.")
    ] = None,
    from_marks: Annotated[
        Path | None,
        typer.Option(help="Calibrate both from marked people: lines 'frame,left,top,width,height' (frame from 1)."),
    ] = None,
    video: Annotated[Path | None, typer.Option(help="The video (from this camera) the marks refer to.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Forget the camera's sensitivity (use the defaults).")] = False,
    as_user: AsUser = None,
) -> None:
    """Set how readily analysis reports people on this camera, typed or calibrated from a few marked frames.

    Typed options left out keep their value. The values apply to analyses started afterwards.

    Every person in a marked frame must be marked; the detector then runs on those frames and the score that best
    separates the marked people from everything else (mannequins, posters, reflections) is kept for the camera.
    """
    from vigil.governance.cameras.register import get_camera, set_camera_sensitivity

    if clear and (score is not None or person_height is not None or from_marks is not None):
        fail("--clear cannot be combined with --score, --person-height or --from-marks")
    source = "typed" if not clear else "cleared"
    if from_marks is not None:
        if score is not None or person_height is not None:
            fail("--from-marks calibrates both values; leave out --score and --person-height")
        if video is None:
            fail("--from-marks needs --video: the video the marks were made on")
        score, person_height, source = _calibrated(from_marks, video)
    elif not clear and score is None and person_height is None:
        fail("give --score and/or --person-height, --from-marks FILE --video FILE, or --clear")
    with system_session() as (_, db):
        if source == "typed":  # an option left out keeps its value
            current = get_camera(db, code)
            score = current.detect_score if score is None else score
            person_height = current.person_height_px if person_height is None else person_height
        camera = set_camera_sensitivity(
            db,
            actor=acting_user(db, as_user),
            code=code,
            score_threshold=score,
            person_height_px=person_height,
            source=source,
        )
        typer.echo(
            f"camera {camera.code}: detection score {camera.detect_score}, small person {camera.person_height_px} px"
        )


def _calibrated(marks_file: Path, video: Path) -> tuple[float, float, str]:
    """Run the calibration (before any database transaction: it decodes and detects) and print its table."""
    from vigil.analysis.pipeline import DEFAULT_INPUT, frames
    from vigil.analysis.sensitivity import calibrate, parse_marks
    from vigil.domain.vocabulary import TRACKED_CLASSES
    from vigil.errors import VigilError
    from vigil.vision.detect import configured_detector

    config = settings()
    try:
        marks = parse_marks(marks_file.read_text(encoding="utf-8"))
        detector = configured_detector(config.vision, score_threshold=0.05, classes=TRACKED_CLASSES)
        last = max(marks)
        result = calibrate(
            frames=(f for f in frames(video, 0) if f.index <= last),
            marks=marks,
            detector=detector,
            input_size=DEFAULT_INPUT.get(config.vision.detector, 416),
        )
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {marks_file} or {video}: {exc}")
    except VigilError as exc:
        fail(exc.message)
    for trial in result.trials:
        mark = "  <- chosen" if trial.score == result.score_threshold else ""
        typer.echo(f"score {trial.score:.2f}: recall {trial.recall:.2f} precision {trial.precision:.2f}{mark}")
    source = f"marks: {result.frames} frames, {result.people} people, {config.vision.detector}"
    return result.score_threshold, result.person_height_px, source
