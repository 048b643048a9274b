"""`vigil dashboard`: a research dashboard of cameras over a range, as a summary, CSV files and PNG pictures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, system_session

if TYPE_CHECKING:
    from vigil.search.dashboards.charts import Charts
    from vigil.search.dashboards.service import Dashboard

CaseOpt = Annotated[str | None, typer.Option("--case", envvar="VIGIL_CASE", help="Case reference.")]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", envvar="VIGIL_PURPOSE", help="Policing purpose.")]
TimeOpt = "ISO 8601; without an offset it is the force's local time (settings: timezone)."


def dashboard(
    cameras: Annotated[list[str], typer.Argument(help="Camera codes (see `vigil camera list`).")],
    start: Annotated[str, typer.Option("--from", help=f"Start of the range, {TimeOpt}")],
    end: Annotated[str, typer.Option("--to", help=f"End of the range (excluded), {TimeOpt}")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv-dir", help="Write counts/paths/dwell/busiest CSV here.")
    ] = None,
    png_dir: Annotated[
        Path | None, typer.Option("--png-dir", help="Write the dashboard's pictures (PNG) here.")
    ] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Tracks by class over time, path and dwell heatmaps and busiest times (audited as a dashboard view)."""
    from vigil.governance.access import make_context
    from vigil.search.dashboards import service as dashboards
    from vigil.search.dashboards.charts import Charts as Drawing

    with system_session() as (system, db):
        user = acting_user(db, as_user)
        context = make_context(case, purpose)
        zone = system.settings.zone
        board = dashboards.dashboard(
            db=db,
            user=user,
            context=context,
            camera_codes=cameras,
            start=dashboards.parse_local_time(start, zone, "--from"),
            end=dashboards.parse_local_time(end, zone, "--to"),
            zone=zone,
        )
        written: list[Path] = []
        if csv_dir is not None:
            written += _write_csv(board, csv_dir)
            dashboards.record_export(db, user=user, context=context, board=board, datasets=list(dashboards.Dataset))
        if png_dir is not None:
            written += _write_png(board, Drawing(system.settings), png_dir)
    emit(_summary(board, written), as_json, lambda: _print(board, written))


def _write_csv(board: Dashboard, folder: Path) -> list[Path]:
    from vigil.search.dashboards.service import Dataset, to_csv

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{dataset.value}.csv" for dataset in Dataset]
    for dataset, path in zip(Dataset, paths, strict=True):
        path.write_text(to_csv(board, dataset), encoding="utf-8")
    return paths


def _write_png(board: Dashboard, charts: Charts, folder: Path) -> list[Path]:
    from vigil.search.dashboards.service import Dataset

    folder.mkdir(parents=True, exist_ok=True)
    pictures = {"counts.png": charts.counts(board), "busiest.png": charts.busiest(board)}
    for code in board.cameras:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in code)
        pictures[f"paths-{safe}.png"] = charts.heatmap(board, Dataset.PATHS, code)
        pictures[f"dwell-{safe}.png"] = charts.heatmap(board, Dataset.DWELL, code)
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in pictures]


def _summary(board: Dashboard, written: list[Path]) -> dict[str, Any]:
    hour = board.busiest_hour
    return {
        "cameras": list(board.cameras),
        "from": board.start.isoformat(),
        "to": board.end.isoformat(),
        "bucket": board.counts.size.value,
        "tracks": board.total,
        "by_class": board.counts.by_class,
        "busiest_hour": None if hour is None else {"day": hour.day, "hour": hour.hour, "tracks": hour.tracks},
        "files": [str(path) for path in written],
    }


def _print(board: Dashboard, written: list[Path]) -> None:
    summary = _summary(board, written)
    local = [board.start.astimezone(board.zone), board.end.astimezone(board.zone)]
    typer.echo(f"cameras {', '.join(board.cameras)} from {local[0]:%Y-%m-%d %H:%M} to {local[1]:%Y-%m-%d %H:%M} local")
    classes = ", ".join(f"{n} {kind}" for kind, n in summary["by_class"].items())
    typer.echo(f"{board.total} tracks" + (f" ({classes})" if classes else ""))
    hour = board.busiest_hour
    if hour is not None:
        typer.echo(f"busiest hour: {hour.day} {hour.hour:02d}:00 ({hour.tracks} tracks)")
    for path in written:
        typer.echo(f"wrote {path}")
