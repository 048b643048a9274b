"""`vigil synopsis`: render a camera's footage over a time range as one short video with a click map beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, system_session

CaseOpt = Annotated[str | None, typer.Option("--case", envvar="VIGIL_CASE", help="Case reference.")]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", envvar="VIGIL_PURPOSE", help="Policing purpose.")]


def synopsis(
    camera: Annotated[str, typer.Argument(help="Code of the camera (see `vigil camera list`).")],
    start: Annotated[str, typer.Option("--from", help="Start, ISO 8601; without an offset, force local time.")],
    end: Annotated[str, typer.Option("--to", help="End, ISO 8601; without an offset, force local time.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The MP4 to write (the click map goes beside it).")],
    tracks: Annotated[str | None, typer.Option("--tracks", help="Only these track ids, e.g. 12,15,31.")] = None,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Show every object a camera recorded in a time range together in one short video (about 2 min per hour)."""
    from vigil.governance.access import make_context
    from vigil.search.synopsis.service import parse_local, parse_track_ids, render_synopsis

    with system_session() as (system, db):
        zone = system.settings.zone
        first, last = parse_local(start, "--from", zone), parse_local(end, "--to", zone)
        track_ids = parse_track_ids(tracks)
        context = make_context(case, purpose)
        result = render_synopsis(
            db=db,
            user=acting_user(db, as_user),
            context=context,
            camera_code=camera,
            start=first,
            end=last,
            track_ids=track_ids,
            out_path=output,
            settings=system.settings,
        )
    data = {
        "video": str(output),
        "click_map": str(output.with_suffix(".json")),
        "tracks": result.tracks,
        "length_s": result.length_s,
        "frames": result.frames,
        "render_s": round(result.render_s, 2),
        "reused": result.reused,
    }
    emit(
        data,
        as_json,
        lambda: typer.echo(
            f"wrote {output}: {result.tracks} tracks in {result.length_s:.1f} s ({result.frames} frames)"
            + (", reused an earlier render" if result.reused else f", rendered in {result.render_s:.1f} s")
            + f"; click map {output.with_suffix('.json')}"
        ),
    )
