"""Commands that edit, retire and re-activate locations and cameras (registered under `vigil location|camera`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.commands.common import AsUser, acting_user, fail, settings, system_session

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
    from vigil.vision.detect import build_detector

    config = settings()
    try:
        marks = parse_marks(marks_file.read_text(encoding="utf-8"))
        detector = build_detector(
            config.vision.detector,
            custom_model_path=config.vision.custom_model_path,
            custom_decoder=config.vision.custom_decoder,
            threads=config.vision.threads,
            providers=config.vision.providers,
            score_threshold=0.05,
            classes=TRACKED_CLASSES,
        )
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
