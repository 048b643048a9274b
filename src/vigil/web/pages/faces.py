"""Face pages: the subjects and watchlists register (enrol with quality feedback) and retrospective search of a
case's footage with a probe photo (candidates grid; confirm or reject each).

Routes only parse, call a ``vigil.faces`` service (which authorises and audits) and render. The face recognizer
is built on first use and kept on the app's state (its models load lazily); nothing happens at import time.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from starlette.responses import FileResponse, RedirectResponse, Response

from vigil.errors import InvalidInput, VigilError
from vigil.faces.images import Photo, decode_photo, make_recognizer
from vigil.faces.retrospective import NOT_AN_IDENTIFICATION, decide, moment, search_probe, view_search
from vigil.faces.views import case_searches, enrolment_crop, register, retro_image
from vigil.faces.watchlists import (
    CATEGORIES,
    SubjectForm,
    add_subjects,
    create_subject,
    create_watchlist,
    enrol_photos,
    freeze_watchlist,
)
from vigil.vision.faces import FaceRecognizer
from vigil.web.auth import CurrentUser, flash
from vigil.web.context import WorkingContext
from vigil.web.deps import DbSession
from vigil.web.forms import outcome, required_date, text
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
REGISTER = "/fr/watchlists"


def recognizer(request: Request) -> FaceRecognizer:
    """The app's face recognizer, built on first use."""
    built: FaceRecognizer | None = getattr(request.app.state, "face_recognizer", None)
    if built is None:
        built = make_recognizer(web_state(request).system.settings)
        request.app.state.face_recognizer = built
    return built


def read_upload(request: Request, upload: UploadFile | None, label: str) -> Photo:
    """An uploaded photo, read up to the size limit and decoded (clear errors for empty, big or non-images)."""
    settings = web_state(request).system.settings
    limit = settings.faces.max_image_mb
    if upload is None or not upload.filename:
        raise InvalidInput(f"choose a {label} to upload")
    data = upload.file.read(int(limit * 1024 * 1024) + 1)
    name = text(upload.filename, label="File name", max_chars=255)
    return decode_photo(data, label=name, max_mb=limit, max_pixels=settings.vision.max_image_pixels)


@router.get("/fr/watchlists")
def register_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    view = register(db, user=user)
    db.commit()
    return render(request, "fr_register.html", user=user, section="faces", view=view, categories=CATEGORIES)


@router.get("/fr/enrolments/{enrolment_id}/crop.jpg")
def enrolment_image(request: Request, db: DbSession, user: CurrentUser, enrolment_id: Id) -> Response:
    settings = web_state(request).system.settings
    path = enrolment_crop(db, settings=settings, user=user, enrolment_id=enrolment_id)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.post("/fr/subjects")
def subject_create(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    reference: Field = "",
    category: Field = "",
    reason: Field = "",
    authority: Field = "",
    expires: Field = "",
) -> Response:
    def act() -> None:
        form = SubjectForm(reference, category, reason, authority, required_date(expires, label="Expiry date"))
        create_subject(db, user=user, form=form)

    return outcome(request, db, act, done=f"Subject {reference.strip()} added.", back=REGISTER)


@router.post("/fr/subjects/enrol")
def subject_enrol(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    subject: Field = "",
    watchlist: Field = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    def act() -> None:
        photo = read_upload(request, image, "photo")
        settings = web_state(request).system.settings
        found = recognizer(request)
        enrolled = enrol_photos(
            db, settings=settings, user=user, recognizer=found, subject_ref=subject, photos=[("photo", photo)]
        )
        if watchlist.strip():
            add_subjects(db, user=user, watchlist_name=watchlist, subject_refs=[subject])
        flash(request, f"Face quality {enrolled[0].quality:.2f} (0-1): fit to enrol.", "ok")

    done = f"Photo enrolled for {subject.strip()}" + (f" and added to {watchlist.strip()}." if watchlist else ".")
    return outcome(request, db, act, done=done, back=REGISTER)


@router.post("/fr/watchlists")
def watchlist_create(
    request: Request, db: DbSession, user: CurrentUser, name: Field = "", kind: Field = "deployment"
) -> Response:
    action = partial(create_watchlist, db, user=user, name=name, kind=kind)
    return outcome(request, db, action, done=f"Watchlist {name.strip()} created.", back=REGISTER)


@router.post("/fr/watchlists/add")
def watchlist_add(
    request: Request, db: DbSession, user: CurrentUser, watchlist: Field = "", subject: Field = ""
) -> Response:
    action = partial(add_subjects, db, user=user, watchlist_name=watchlist, subject_refs=[subject])
    return outcome(request, db, action, done=f"{subject.strip()} added to {watchlist.strip()}.", back=REGISTER)


@router.post("/fr/watchlists/freeze")
def watchlist_freeze(request: Request, db: DbSession, user: CurrentUser, watchlist: Field = "") -> Response:
    action = partial(freeze_watchlist, db, user=user, watchlist_name=watchlist)
    return outcome(request, db, action, done=f"Watchlist {watchlist.strip()} frozen.", back=REGISTER)


def _case_query(case_ref: str) -> str:
    return urlencode({"case": case_ref})


@router.get("/fr/retro")
def retro_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext) -> Response:
    view = case_searches(db, user=user, context=context)
    db.commit()
    return render(
        request,
        "fr_retro.html",
        user=user,
        section="retro_fr",
        view=view,
        notice=NOT_AN_IDENTIFICATION,
        case_query=_case_query(context.case_ref),
    )


@router.post("/fr/retro")
def retro_search(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    probe: Annotated[UploadFile | None, File()] = None,
) -> Response:
    back = f"/fr/retro?{_case_query(context.case_ref)}"
    try:
        photo = read_upload(request, probe, "probe photo")
        settings, faces = web_state(request).system.settings, recognizer(request)
        found = search_probe(
            db, settings=settings, user=user, recognizer=faces, photo=photo, label="probe", context=context
        )
        search_id = found.id
        db.commit()
    except VigilError as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(f"/fr/retro/{search_id}?{_case_query(context.case_ref)}", status_code=303)


@router.get("/fr/retro/{search_id}")
def retro_results(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, search_id: Id
) -> Response:
    search = view_search(db, user=user, search_id=search_id, context=context)
    cards = [(c, *moment(c.entry)) for c in search.candidates]
    db.commit()
    return render(
        request,
        "fr_retro_search.html",
        user=user,
        section="retro_fr",
        search=search,
        cards=cards,
        notice=NOT_AN_IDENTIFICATION,
        case_query=_case_query(context.case_ref),
    )


@router.get("/fr/retro/{search_id}/probe.jpg")
def retro_probe_image(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, search_id: Id
) -> Response:
    settings = web_state(request).system.settings
    path = retro_image(db, settings=settings, user=user, context=context, search_id=search_id, entry_id=None)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get("/fr/retro/{search_id}/faces/{entry_id}.jpg")
def retro_face_image(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, search_id: Id, entry_id: Id
) -> Response:
    settings = web_state(request).system.settings
    path = retro_image(db, settings=settings, user=user, context=context, search_id=search_id, entry_id=entry_id)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.post("/fr/retro/candidates/{candidate_id}")
def retro_decide(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    context: WorkingContext,
    candidate_id: Id,
    verdict: Field = "",
    note: Field = "",
    search: Annotated[int, Form(ge=1, le=2**31 - 1)] = 1,
) -> Response:
    back = f"/fr/retro/{search}?{_case_query(context.case_ref)}#candidate-{candidate_id}"
    action = partial(decide, db, user=user, candidate_id=candidate_id, verdict=verdict, note=note, context=context)
    return outcome(request, db, action, done=f"Candidate {verdict}.", back=back)
