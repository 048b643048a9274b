"""Search by example and review from the command line: `vigil similar TRACK_ID|IMAGE` and `vigil review mark`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.commands.common import AsUser, CaseOpt, JsonOut, PurposeOpt, acting_user, emit, fail, system_session

if TYPE_CHECKING:
    from vigil.settings import Settings
    from vigil.vision.detect import Detector

review_app = typer.Typer(help="Review candidate tracks: mark them confirmed, rejected or unsure.", no_args_is_help=True)

MAX_PHOTO_READ = 20 * 1024 * 1024 + 1


def _rows(result: Any) -> list[dict[str, Any]]:
    return [
        {
            "track": r.track.id,
            "score": round(r.score, 4),
            "camera": r.track.camera.code,
            "class": r.track.class_name,
            "first_seen": r.track.first_seen.isoformat(),
            "upper_colours": r.track.upper_colours,
            "lower_colours": r.track.lower_colours,
            "body_colours": r.track.body_colours,
            "verdict": r.verdict,
        }
        for r in result.results
    ]


def _print(data: dict[str, Any]) -> None:
    if data.get("photo"):
        photo = data["photo"]
        used = photo["objects"][photo["used"]]
        typer.echo(
            f"photo {photo['sha256'][:16]}…: {len(photo['objects'])} person/vehicle found; "
            f"searched with number {photo['used'] + 1} ({used['class']})"
        )
    typer.echo(f"{len(data['results'])} candidate(s), most similar first:")
    for row in data["results"]:
        colours = "/".join(c for c in (row["upper_colours"], row["lower_colours"], row["body_colours"]) if c) or "-"
        verdict = f" [{row['verdict']}]" if row["verdict"] else ""
        typer.echo(
            f"  track {row['track']:>7}  {row['score']:.3f}  {row['camera']:<10} {row['class']:<8} "
            f"{row['first_seen']}  {colours}{verdict}"
        )


def similar(
    target: Annotated[str, typer.Argument(help="A track id, or the path of a photo of a person or vehicle.")],
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="How many similar tracks.")] = 50,
    pick: Annotated[
        int | None, typer.Option("--pick", min=1, help="Which person or vehicle in the photo (1 = largest).")
    ] = None,
    camera: Annotated[list[str] | None, typer.Option("--camera", help="Only these camera codes (repeatable).")] = None,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Tracks that look most like a track or a photo, ranked by appearance (candidates for a person to check)."""
    from vigil.governance.access import make_context
    from vigil.search.query.track_query import TrackQuery
    from vigil.search.similarity.by_example import similar_to_image, similar_to_track
    from vigil.search.similarity.index import SimilarityIndex

    query = TrackQuery(cameras=camera or [])
    with system_session() as (system, db):
        user = acting_user(db, as_user)
        context = make_context(case, purpose)
        index = SimilarityIndex.in_data_dir(system.settings.data_dir)
        data: dict[str, Any] = {"source": target}
        if target.strip().isdigit():
            result = similar_to_track(
                db=db, user=user, context=context, index=index, track_id=int(target), k=top, query=query
            )
        else:
            result = similar_to_image(
                db=db,
                user=user,
                context=context,
                index=index,
                detector=_detector(system.settings),
                photo=_read_photo(Path(target)),
                pick=None if pick is None else pick - 1,
                k=top,
                query=query,
                max_pixels=system.settings.vision.max_image_pixels,
            )
            assert result.photo is not None
            data["photo"] = {
                "sha256": result.photo.sha256,
                "used": result.photo.used,
                "objects": [o.as_dict() for o in result.photo.objects],
            }
        data["results"] = _rows(result)
    emit(data, as_json, lambda: _print(data))


def _read_photo(path: Path) -> bytes:
    if not path.is_file():
        fail(f"{str(path)!r} is neither a track id nor a readable photo file")
    with path.open("rb") as handle:
        return handle.read(MAX_PHOTO_READ)


def _detector(settings: Settings) -> Detector:
    from vigil.vision.detect import configured_detector

    return configured_detector(settings.vision)


@review_app.command("mark")
def review_mark(
    track_id: Annotated[int, typer.Argument(help="The track's id.")],
    verdict: Annotated[str, typer.Argument(help="confirmed, rejected or unsure.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the case's marks).")] = "",
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Mark a candidate track for the case (the latest mark is its verdict; earlier ones stay as history)."""
    from vigil.governance.access import make_context
    from vigil.search.review.marks import mark_track

    with system_session() as (_, db):
        user = acting_user(db, as_user)
        mark = mark_track(
            db=db, user=user, context=make_context(case, purpose), track_id=track_id, verdict=verdict, note=note
        )
        data = {"mark": mark.id, "track": mark.track_id, "verdict": mark.verdict, "case": case}
    emit(data, as_json, lambda: typer.echo(f"track {track_id} marked {data['verdict']} for case {case}"))
