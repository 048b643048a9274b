"""Facial recognition commands: `vigil fr subject|watchlist|enrol|identify|calibrate|retro|deployment`.

Thin: each command parses its arguments, calls a service in ``vigil.faces`` (which authorises and audits) and
prints the result. Scores rank candidates for a trained person to check; they identify no one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.commands.common import (
    AsUser,
    CaseOpt,
    JsonOut,
    PurposeOpt,
    acting_user,
    emit,
    parse_date,
    system_session,
    table,
)

if TYPE_CHECKING:
    from vigil.faces.images import Photo, SeveralFaces
    from vigil.settings import Settings

fr_app = typer.Typer(
    help="Facial recognition: watchlists, identification, calibration, retrospective search, live deployments.",
    no_args_is_help=True,
)
subject_app = typer.Typer(help="Subjects who may be put on a watchlist.", no_args_is_help=True)
watchlist_app = typer.Typer(help="Watchlists of enrolled subjects.", no_args_is_help=True)
retro_app = typer.Typer(help="Retrospective search of a case's footage with a probe photo.", no_args_is_help=True)
fr_app.add_typer(subject_app, name="subject")
fr_app.add_typer(watchlist_app, name="watchlist")
fr_app.add_typer(retro_app, name="retro")
deployment_app = typer.Typer(
    help="Live FR deployments (planned on the web page or the API): list, start and end them. Starting or ending "
    "changes the deployment's state; the cameras' live workers (the web server with VIGIL_LIVE__ENABLED, or "
    "`vigil live run`) start matching it within seconds, and stop within seconds of its end.",
    no_args_is_help=True,
)
fr_app.add_typer(deployment_app, name="deployment")
DeploymentArg = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="Deployment id (see `deployment list`).")]

Images = Annotated[list[Path], typer.Argument(help="Photo files (JPEG or PNG).")]


def _photos(settings: Settings, paths: list[Path]) -> list[tuple[str, Photo]]:
    from vigil.faces.images import read_photo

    max_mb, max_pixels = settings.faces.max_image_mb, settings.vision.max_image_pixels
    return [(path.name, read_photo(path, max_mb=max_mb, max_pixels=max_pixels)) for path in paths]


def _context(case: str | None, purpose: str | None) -> Any:
    from vigil.governance.access import make_context

    return make_context(case, purpose)


def _optional_context(case: str | None, purpose: str | None) -> Any:
    return _context(case, purpose) if case or purpose else None


@subject_app.command("add")
def subject_add(
    reference: Annotated[str, typer.Argument(help="Warrant, missing-person or other reference number.")],
    category: Annotated[str, typer.Option(help="wanted, missing, vulnerable or witness.")],
    reason: Annotated[str, typer.Option(help="Why the person is to be looked for.")],
    expires: Annotated[str, typer.Option(help="Last day the subject may be searched for (YYYY-MM-DD).")],
    authority: Annotated[str, typer.Option(help="Authority for listing (warrant, authorising officer).")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Enter a subject (audited)."""
    from vigil.faces.watchlists import SubjectForm, create_subject

    with system_session() as (_, db):
        form = SubjectForm(reference, category, reason, authority, parse_date(expires, "--expires"))
        user = acting_user(db, as_user)
        subject = create_subject(db, user=user, form=form, context=_optional_context(case, purpose))
        data = {"reference": subject.reference, "category": subject.category, "expires": str(subject.expires_on)}
    emit(data, as_json, lambda: typer.echo(f"subject {data['reference']} added ({data['category']})"))


@subject_app.command("list")
def subject_list(as_user: AsUser = None, as_json: JsonOut = False) -> None:
    """Subjects with their category, expiry and number of enrolled images (audited)."""
    from vigil.faces.views import register

    with system_session() as (_, db):
        view = register(db, user=acting_user(db, as_user))
        data: list[dict[str, Any]] = [
            {
                "reference": s.reference,
                "category": s.category,
                "authority": s.authority,
                "expires": str(s.expires_on),
                "expired": s.expires_on < view.today.date(),
                "enrolled": len(s.enrolments),
            }
            for s in view.subjects
        ]
    rows = [[d["reference"], d["category"], d["expires"], str(d["enrolled"])] for d in data]
    emit(data, as_json, lambda: table("Subjects", ["reference", "category", "expires", "enrolled"], rows))


@watchlist_app.command("list")
def watchlist_list(as_user: AsUser = None, as_json: JsonOut = False) -> None:
    """Watchlists with their subjects and whether they are frozen (audited)."""
    from vigil.faces.views import register

    with system_session() as (_, db):
        view = register(db, user=acting_user(db, as_user))
        data: list[dict[str, Any]] = [
            {
                "name": w.name,
                "kind": w.kind,
                "subjects": sorted({e.subject.reference for e in w.entries}),
                "images": len(w.entries),
                "frozen_at": w.frozen_at.isoformat() if w.frozen_at else None,
            }
            for w in view.watchlists
        ]
    rows = [[d["name"], d["kind"], ", ".join(d["subjects"]), str(d["frozen_at"] or "open")] for d in data]
    emit(data, as_json, lambda: table("Watchlists", ["name", "kind", "subjects", "frozen"], rows))


@watchlist_app.command("create")
def watchlist_create(
    name: Annotated[str, typer.Argument(help="Name of the new watchlist.")],
    kind: Annotated[str, typer.Option(help="'deployment' (built for one deployment) or 'standing'.")] = "deployment",
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Create an empty watchlist (audited)."""
    from vigil.faces.watchlists import create_watchlist

    with system_session() as (_, db):
        watchlist = create_watchlist(db, user=acting_user(db, as_user), name=name, kind=kind)
        data = {"id": watchlist.id, "name": watchlist.name, "kind": watchlist.kind}
    emit(data, as_json, lambda: typer.echo(f"watchlist {data['name']!r} created"))


@watchlist_app.command("add")
def watchlist_add(
    name: Annotated[str, typer.Argument(help="Watchlist name.")],
    subjects: Annotated[list[str], typer.Option("--subject", help="Subject reference (repeat for several).")],
    as_user: AsUser = None,
) -> None:
    """Put enrolled subjects on a watchlist that is not frozen (audited)."""
    from vigil.faces.watchlists import add_subjects

    with system_session() as (_, db):
        added = add_subjects(db, user=acting_user(db, as_user), watchlist_name=name, subject_refs=subjects)
        count = len(added)
    typer.echo(f"{count} enrolled image(s) added to {name!r}")


@watchlist_app.command("freeze")
def watchlist_freeze(name: Annotated[str, typer.Argument(help="Watchlist name.")], as_user: AsUser = None) -> None:
    """Freeze a watchlist: no more changes (done when its deployment starts)."""
    from vigil.faces.watchlists import freeze_watchlist

    with system_session() as (_, db):
        freeze_watchlist(db, user=acting_user(db, as_user), watchlist_name=name)
    typer.echo(f"watchlist {name!r} frozen")


@fr_app.command("enrol")
def enrol(
    watchlist: Annotated[str, typer.Argument(help="Watchlist to put the subject on.")],
    images: Images,
    subject: Annotated[str, typer.Option(help="Subject reference.")],
    face: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Which face of the photo to enrol, by the number listed when a photo shows several faces "
            "(one photo at a time). Without it, a face is taken only when it is the photo's only face or plainly "
            "stands out (central and much larger than the others).",
        ),
    ] = None,
    override_reason: Annotated[
        str | None,
        typer.Option(help="Supervisors only: enrol a face refused for quality, recording this reason (audited)."),
    ] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Enrol photos of a subject (one face each, quality-checked) and add them to a watchlist."""
    from vigil.faces.images import SeveralFaces, make_recognizer
    from vigil.faces.watchlists import FaceChoice, enrol_to_watchlist

    with system_session() as (system, db):
        user = acting_user(db, as_user)
        try:
            entries = enrol_to_watchlist(
                db,
                settings=system.settings,
                user=user,
                recognizer=make_recognizer(system.settings),
                watchlist_name=watchlist,
                subject_ref=subject,
                photos=_photos(system.settings, images),
                choice=FaceChoice(face, override_reason),
            )
        except SeveralFaces as several:
            _list_faces(several, as_json)
            raise
        data = {"watchlist": watchlist, "subject": subject, "added": len(entries), "images": len(images)}
    emit(data, as_json, lambda: typer.echo(f"{subject}: {len(images)} image(s) enrolled, {data['added']} added"))


def _list_faces(several: SeveralFaces, as_json: bool) -> None:
    """The faces of a photo to choose from (``--face N``), shown before the error that asks for the choice."""
    if as_json:
        return
    rows = [
        [str(f.number), ", ".join(f"{v:.0f}" for v in f.box), f"{f.width_px:.0f}", f"{f.quality.score:.2f}"]
        for f in several.faces
    ]
    title = f"Faces in {several.label}: choose one with --face N"
    table(title, ["face", "box x0, y0, x1, y1", "width px", "quality"], rows)


@fr_app.command("identify")
def identify(
    watchlist: Annotated[str, typer.Argument(help="Watchlist to compare with.")],
    images: Images,
    top: Annotated[int, typer.Option(min=1, max=50, help="Subjects listed per face.")] = 5,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Each face of each photo with its best-scoring watchlist subjects (candidates, not identifications)."""
    from dataclasses import asdict

    from vigil.faces.identify import identify as identify_faces
    from vigil.faces.images import make_recognizer

    with system_session() as (system, db):
        context = _context(case, purpose)
        results = identify_faces(
            db,
            user=acting_user(db, as_user),
            recognizer=make_recognizer(system.settings),
            watchlist_name=watchlist,
            photos=_photos(system.settings, images),
            context=context,
            top=top,
        )
    data = [asdict(result) for result in results]
    rows = [
        [r.image, str(i + 1), f"{f.quality:.2f}", ", ".join(f"{m.subject} {m.score:.3f}" for m in f.matches) or "-"]
        for r in results
        for i, f in enumerate(r.faces)
    ]
    emit(data, as_json, lambda: table("Candidates (not identifications)", ["image", "face", "quality", "top"], rows))


@fr_app.command("calibrate")
def calibrate(
    folders: Annotated[list[Path] | None, typer.Argument(help="Person-per-folder labelled photo folders.")] = None,
    labels: Annotated[list[Path] | None, typer.Option(help="CSV of image,identity rows (repeatable).")] = None,
    mated: Annotated[Path | None, typer.Option(help="Person-per-folder photos of people to enrol.")] = None,
    nonmated: Annotated[
        Path | None, typer.Option(help="Photos of other people (person-per-folder, or one loose photo per person).")
    ] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Measure TPIR/FPIR across thresholds and save the calibration deployments use for expected false alerts."""
    from dataclasses import asdict

    from vigil.faces.calibration import csv_photos, folder_photos, one_in, run_calibration
    from vigil.faces.images import make_recognizer

    with system_session() as (system, db):
        user = acting_user(db, as_user)
        photos = [p for i, folder in enumerate(folders or []) for p in folder_photos(folder, f"set{i}/")]
        photos += [p for i, csv in enumerate(labels or []) for p in csv_photos(csv, f"csv{i}/")]
        photos += folder_photos(mated, "mated/") if mated else []
        photos += folder_photos(nonmated, "nonmated/") if nonmated else []
        result, path = run_calibration(
            db, settings=system.settings, user=user, recognizer=make_recognizer(system.settings), photos=photos
        )

    def render() -> None:
        typer.echo(f"calibration of {result.model} on {result.photos} photos of {result.identities} people: {path}")
        rows = [
            [f"{p.threshold:.2f}", f"{p.tpir:.1%}", f"{p.fpir:.2%}"]
            + [one_in(result.expected_fpir(p.threshold, n)) for n in (100, 1000, 10000)]
            for p in result.curve
            if 0.3 <= p.threshold <= 0.9
        ]
        table("TPIR and FPIR by threshold", ["threshold", "TPIR", "FPIR", "N=100", "N=1,000", "N=10,000"], rows)

    emit(asdict(result) | {"path": str(path)}, as_json, render)


@retro_app.command("index")
def retro_index(
    footage: Annotated[list[int] | None, typer.Option(help="Only these footage ids of the case.")] = None,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Detect and embed the faces in the footage of one case (never footage outside it)."""
    from dataclasses import asdict

    from vigil.faces.images import make_recognizer
    from vigil.faces.retrospective import index_case_footage

    with system_session() as (system, db):
        context = _context(case, purpose)
        reports = index_case_footage(
            db,
            settings=system.settings,
            user=acting_user(db, as_user),
            recognizer=make_recognizer(system.settings),
            context=context,
            footage_ids=footage,
        )
    rows = [[str(r.footage_id), str(r.frames_sampled), str(r.faces_indexed), str(r.already_indexed)] for r in reports]
    columns = ["footage", "frames sampled", "faces indexed", "indexed before"]
    emit([asdict(r) for r in reports], as_json, lambda: table("Face index", columns, rows))


@retro_app.command("search")
def retro_search(
    probe: Annotated[Path, typer.Argument(help="Probe photo: one face.")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Search a probe photo against the faces of the case's footage; lists candidates to confirm or reject."""
    from vigil.faces.images import make_recognizer, read_photo
    from vigil.faces.retrospective import NOT_AN_IDENTIFICATION, moment, search_probe

    with system_session() as (system, db):
        context = _context(case, purpose)
        search = search_probe(
            db,
            settings=system.settings,
            user=acting_user(db, as_user),
            recognizer=make_recognizer(system.settings),
            photo=read_photo(
                probe, max_mb=system.settings.faces.max_image_mb, max_pixels=system.settings.vision.max_image_pixels
            ),
            label=probe.name,
            context=context,
        )
        candidates = [_candidate(c, *moment(c.entry)) for c in search.candidates]
        data = {"search": search.id, "faces_compared": search.faces_compared, "candidates": candidates}
    rows = [[str(c["id"]), str(c["rank"]), f"{c['score']:.3f}", c["camera"], c["time"], c["link"]] for c in candidates]

    def render() -> None:
        table(f"Search {data['search']}", ["candidate", "rank", "score", "camera", "time", "moment"], rows)
        typer.echo(NOT_AN_IDENTIFICATION)

    emit(data | {"notice": NOT_AN_IDENTIFICATION}, as_json, render)


def _candidate(candidate: Any, at: Any, link: str) -> dict[str, Any]:
    entry = candidate.entry
    return {
        "id": candidate.id,
        "rank": candidate.rank,
        "score": candidate.score,
        "footage": entry.footage_id,
        "camera": entry.footage.camera.code,
        "t": round(entry.t, 2),
        "time": at.isoformat(),
        "crop": entry.crop_path,
        "link": link,
        "verdict": candidate.verdict,
    }


@retro_app.command("decide")
def retro_decide(
    candidate: Annotated[int, typer.Argument(help="Candidate id (from `vigil fr retro search`).")],
    verdict: Annotated[str, typer.Option(help="confirmed or rejected.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
) -> None:
    """Confirm or reject one candidate after comparing the images yourself (audited)."""
    from vigil.faces.retrospective import decide

    with system_session() as (_, db):
        context = _context(case, purpose)
        decide(db, user=acting_user(db, as_user), candidate_id=candidate, verdict=verdict, note=note, context=context)
    typer.echo(f"candidate {candidate}: {verdict}")


@deployment_app.command("list")
def deployment_list(as_user: AsUser = None, as_json: JsonOut = False) -> None:
    """Every deployment, newest window first: id, status, window, cameras."""
    from vigil.faces.live import list_deployments, streams_of

    with system_session() as (_, db):
        rows: list[dict[str, Any]] = [
            {
                "id": d.id,
                "name": d.name,
                "status": d.status,
                "window_start": d.window_start.isoformat(),
                "window_end": d.window_end.isoformat(),
                "cameras": [spec.camera for spec in streams_of(d)],
            }
            for d in list_deployments(db, user=acting_user(db, as_user))
        ]
    columns = ["id", "name", "status", "window_start", "window_end", "cameras"]
    shown = [[", ".join(map(str, r[c])) if isinstance(r[c], list) else str(r[c]) for c in columns] for r in rows]
    emit(rows, as_json, lambda: table("Live FR deployments", columns, shown))


@deployment_app.command("start")
def deployment_start(deployment: DeploymentArg, as_user: AsUser = None) -> None:
    """Start a planned deployment inside its window (its watchlist is frozen; audited)."""
    from vigil.faces.live_control import go_live
    from vigil.governance.camera_sources import source_policy

    with system_session() as (system, db):
        policy = source_policy(system.settings)
        started = go_live(db, user=acting_user(db, as_user), deployment_id=deployment, sources=policy)
        name = started.name
    typer.echo(f"deployment {deployment} ({name}) is live: its cameras' workers start matching within seconds")


@deployment_app.command("end")
def deployment_end(deployment: DeploymentArg, as_user: AsUser = None) -> None:
    """End a live deployment: its watchlist's embeddings are deleted (audited)."""
    from vigil.faces.live_control import end_live

    with system_session() as (_, db):
        ended = end_live(db, user=acting_user(db, as_user), deployment_id=deployment)
        faces_seen = ended.faces_seen
    typer.echo(f"deployment {deployment} ended ({faces_seen} faces seen); its watchlist embeddings were deleted")
