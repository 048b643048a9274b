"""Analysis commands: `vigil analyse` (ingest + analyse, resumable) and `vigil tracks export`."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vigil.commands.common import (
    AsUser,
    CaseOpt,
    JsonOut,
    PurposeOpt,
    acting_user,
    emit,
    fail,
    parse_datetime,
    settings,
    system_session,
)
from vigil.db.session import session_scope
from vigil.system import open_system

tracks_app = typer.Typer(help="Tracks found by analysis.", no_args_is_help=True)


def analyse(
    file: Annotated[Path, typer.Argument(help="Video file (ingested first; a file already stored is reused).")],
    camera: Annotated[str, typer.Option(help="Code of the force camera that recorded it.")],
    start: Annotated[
        str | None, typer.Option(help="Recording start, ISO 8601 with offset; 1990 or later, not future.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Analyse again even if already done (needs --case and --purpose): a new run; tracks of the earlier "
            "run are kept under their ids (superseded), so review marks and exports still point at them.",
        ),
    ] = False,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    detect_interval: Annotated[
        float | None,
        typer.Option(min=0, max=2, help="Seconds between detections on tracked objects (default 0.5)."),
    ] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Ingest and analyse a video in one step. Interrupted runs resume from their last checkpoint."""
    from vigil.analysis.jobs import start_analysis
    from vigil.footage.ingest import ingest_footage
    from vigil.governance.access import make_context

    params: dict[str, object] = {} if detect_interval is None else {"detect_interval_s": detect_interval}
    with system_session() as (system, db):
        user = acting_user(db, as_user)
        result = ingest_footage(
            db,
            settings=system.settings,
            user=user,
            source_path=file,
            camera_code=camera,
            start=parse_datetime(start, "--start") if start else None,
        )
        context = make_context(case, purpose) if case or purpose else None
        job = start_analysis(db, user=user, footage=result.footage, params=params, force=force, context=context)
        job_id, footage_id, duration = job.id, result.footage.id, result.footage.duration_s
        already_done = job.status == "done"
    if already_done:
        Console(stderr=True).print(
            f"footage {footage_id} was already analysed (job {job_id}); use --force --case C --purpose P to redo"
        )
    else:
        _run_with_progress(job_id, duration, quiet=as_json)
    _report(footage_id, as_json)


def _run_with_progress(job_id: int, duration_s: float, *, quiet: bool) -> None:
    from vigil.system import job_runner

    system = open_system(settings())
    columns = (
        TextColumn("analysing"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    began = time.monotonic()
    try:
        with Progress(*columns, console=Console(stderr=True), disable=quiet, transient=False) as progress:
            task = progress.add_task("analyse", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total or None)

            job_runner(system, job_id=job_id, on_progress=advance).run(job_id)
    except KeyboardInterrupt:
        fail("interrupted; run the same command again to resume from the last checkpoint", code=130)
    finally:
        system.close()
    wall = time.monotonic() - began
    if not quiet and wall > 0:
        Console(stderr=True).print(
            f"analysed {duration_s:.1f} s of video in {wall:.1f} s ({duration_s / wall:.1f}x real time)"
        )


def _report(footage_id: int, as_json: bool) -> None:
    from vigil.analysis.store import track_as_dict, tracks_of

    system = open_system(settings())
    try:
        with session_scope(system.sessions) as db:
            tracks = [track_as_dict(t) for t in tracks_of(db, footage_id)]
    finally:
        system.close()
    counts = Counter(str(t["class"]) for t in tracks)
    data: dict[str, Any] = {
        "footage": footage_id,
        "tracks": len(tracks),
        "by_class": dict(counts),
        "track_list": tracks,
    }
    emit(
        data,
        as_json,
        lambda: typer.echo(
            f"footage {footage_id}: {len(tracks)} tracks ("
            + ", ".join(f"{n} {c}" for c, n in counts.most_common())
            + ")"
            + f"\nexport with: vigil tracks export {footage_id} --format json --case CASE --purpose PURPOSE"
        ),
    )


@tracks_app.command("export")
def tracks_export(
    footage_id: Annotated[int, typer.Argument(help="Footage id (see `vigil footage list`).")],
    fmt: Annotated[str, typer.Option("--format", help="mot, json or csv.")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file, not stdout.")] = None,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
) -> None:
    """Export a footage's tracks (MOTChallenge: frame,id,left,top,w,h,conf,-1,-1,-1, frames from 1)."""
    from vigil.analysis.review import export_tracks
    from vigil.governance.access import make_context

    with system_session() as (_, db):
        text = export_tracks(
            db, user=acting_user(db, as_user), footage_id=footage_id, context=make_context(case, purpose), fmt=fmt
        )
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        typer.echo(f"wrote {fmt} export to {output}")


def describe(
    images: Annotated[list[Path], typer.Argument(help="Image files (e.g. crops of a person or vehicle).")],
    as_json: JsonOut = False,
) -> None:
    """Detect objects in still images and describe them with the pipeline's attribute code.

    Each clothing colour comes with its confidence (the share of that body part's pixels, 0-1). A tall still
    in which no person is detected is described as one person filling the image, and the output says so.
    """
    from vigil.analysis.describe import describe_image, read_image
    from vigil.errors import VigilError
    from vigil.vision.detect import configured_detector

    config = settings()
    vision = config.vision
    detector = configured_detector(vision)
    results: list[dict[str, Any]] = []
    failed = False
    for path in images:
        try:
            objects = [
                o.as_dict()
                for o in describe_image(read_image(path, max_pixels=vision.max_image_pixels), detector=detector)
            ]
            results.append({"image": str(path), "objects": objects})
        except VigilError as exc:
            failed = True
            results.append({"image": str(path), "error": exc.message})
    emit(results, as_json, lambda: _print_described(results))
    if failed:
        raise typer.Exit(2)


def _print_described(results: list[dict[str, Any]]) -> None:
    for result in results:
        if "error" in result:
            Console(stderr=True).print(f"[bold red]error:[/] {result['error']}", highlight=False)
            continue
        typer.echo(f"{result['image']}: {len(result['objects'])} object(s)")
        for obj in result["objects"]:
            extra = ", ".join(
                f"{k.replace('_', ' ')}: {_with_confidence(v, obj.get(k.replace('colours', 'confidence'), []))}"
                for k, v in obj.items()
                if isinstance(v, list) and k != "box" and not k.endswith("confidence")
            )
            note = f" ({obj['note']})" if "note" in obj else ""
            typer.echo(
                f"  {obj['class']} ({obj['score']:.2f}) at {obj['box']}" + (f"; {extra}" if extra else "") + note
            )


def _with_confidence(names: list[str], confidence: list[float]) -> str:
    """``red 0.62 black 0.31``: each name with its confidence when there is one; ``-`` for none."""
    if not names:
        return "-"
    if len(confidence) != len(names):
        return " ".join(names)
    return " ".join(f"{name} {value:.2f}" for name, value in zip(names, confidence, strict=True))
