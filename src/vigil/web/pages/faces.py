"""Face pages: the subjects and watchlists register (enrol with quality feedback) and retrospective search of a
case's footage with a probe photo (candidates grid; confirm or reject each).

Routes only parse, call a ``vigil.faces`` service (which authorises and audits) and render. The face recognizer
is built on first use and kept on the app's state (its models load lazily); nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from starlette.responses import FileResponse, RedirectResponse, Response

from vigil.db.models import User
from vigil.errors import InvalidInput
from vigil.faces.held import held_path, held_photo, hold_photo, release_photo
from vigil.faces.images import Photo, SeveralFaces, decode_photo
from vigil.faces.retrospective import NOT_AN_IDENTIFICATION, decide, moment, search_probe, view_search
from vigil.faces.views import case_searches, enrolment_crop, register, retro_image
from vigil.faces.watchlists import (
    CATEGORIES,
    FaceChoice,
    SubjectForm,
    add_subjects,
    create_subject,
    create_watchlist,
    enrol_photos,
    freeze_watchlist,
)
from vigil.governance.roles import Role
from vigil.system import Services
from vigil.web.auth import CurrentUser, flash
from vigil.web.context import WorkingContext
from vigil.web.deps import AppServices, DbSession
from vigil.web.forms import outcome, refusal_goes_to, required_date, text
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
REGISTER = "/fr/watchlists"


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
    supervisor = user.role == Role.SUPERVISOR
    return render(
        request,
        "fr_register.html",
        user=user,
        section="faces",
        view=view,
        categories=CATEGORIES,
        supervisor=supervisor,
    )


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

    return outcome(request, act, done=f"Subject {reference.strip()} added.", back=REGISTER)


def _enrol(request: Request, db: DbSession, services: Services, user: User, form: EnrolForm, photo: Photo) -> str:
    """Enrol the photo as the form says (and add to the watchlist); the success message."""
    enrolled = enrol_photos(
        db,
        settings=services.settings,
        user=user,
        recognizer=services.recognizer.get(),
        subject_ref=form.subject,
        photos=[("photo", photo)],
        choice=FaceChoice(form.face, form.override_reason.strip() or None),
    )
    if form.watchlist.strip():
        add_subjects(db, user=user, watchlist_name=form.watchlist, subject_refs=[form.subject])
    done = enrolled[0]
    if done.override_reason:
        flash(request, f"Face quality {done.quality:.2f} (0-1): overridden ({done.overridden_refusal}).", "ok")
    else:
        flash(request, f"Face quality {done.quality:.2f} (0-1): fit to enrol.", "ok")
    which = f"Face {done.face_number} of the photo" if done.face_chosen != "only" else "Photo"
    added = f" and added to {form.watchlist.strip()}" if form.watchlist.strip() else ""
    return f"{which} enrolled for {form.subject.strip()}{added}."


@dataclass(frozen=True)
class EnrolForm:
    subject: str
    watchlist: str
    override_reason: str
    face: int | None = None


def _enrol_outcome(
    request: Request, db: DbSession, enrol: Callable[[], str], *, retry: str, several: Callable[[], str] | None = None
) -> Response:
    """Run an enrolment: on success flash what was enrolled and go to the register; else undo, say why and
    go to ``retry``. When the photo shows several faces and none stands out, ``several`` holds it and gives the
    address of the page to choose one on."""
    try:
        with refusal_goes_to(request, retry, shown_as_page=(SeveralFaces,)):
            done = enrol()
    except SeveralFaces:
        if several is None:
            raise
        db.rollback()  # nothing of the attempt is kept; the photo is held for the choice instead
        return RedirectResponse(several(), status_code=303)
    flash(request, done, "ok")
    return RedirectResponse(REGISTER, status_code=303)


@router.post("/fr/subjects/enrol")
def subject_enrol(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    subject: Field = "",
    watchlist: Field = "",
    override_reason: Field = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    with refusal_goes_to(request, REGISTER):
        photo = read_upload(request, image, "photo")

    def hold() -> str:
        sha256 = hold_photo(db, settings=web_state(request).system.settings, user=user, photo=photo)
        query = urlencode({"photo": sha256, "subject": subject.strip(), "watchlist": watchlist.strip()})
        return f"/fr/subjects/enrol/choose?{query}"

    form = EnrolForm(subject, watchlist, override_reason)
    return _enrol_outcome(
        request, db, partial(_enrol, request, db, services, user, form, photo), retry=REGISTER, several=hold
    )


@router.get("/fr/subjects/enrol/choose")
def choose_face_page(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    photo: str = "",
    subject: str = "",
    watchlist: str = "",
) -> Response:
    faces = services.recognizer.get()
    held = held_photo(db, settings=services.settings, user=user, recognizer=faces, sha256=photo)
    return render(
        request,
        "fr_choose_face.html",
        user=user,
        section="faces",
        held=held,
        subject=subject[:64],
        watchlist=watchlist[:200],
        supervisor=user.role == Role.SUPERVISOR,
    )


@router.get("/fr/held/{sha256}.jpg")
def held_image(request: Request, db: DbSession, user: CurrentUser, sha256: str) -> Response:
    path = held_path(db, settings=web_state(request).system.settings, user=user, sha256=sha256)
    with path.open("rb") as head:
        media_type = "image/png" if head.read(4) == b"\x89PNG" else "image/jpeg"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.post("/fr/subjects/enrol/choose")
def subject_enrol_face(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    photo: Field = "",
    subject: Field = "",
    watchlist: Field = "",
    override_reason: Field = "",
    face: Annotated[int, Form(ge=1, le=1000)] = 1,
) -> Response:
    settings = web_state(request).system.settings
    retry = "/fr/subjects/enrol/choose?" + urlencode({"photo": photo, "subject": subject, "watchlist": watchlist})

    def enrol() -> str:
        held = held_photo(db, settings=settings, user=user, recognizer=None, sha256=photo)
        done = _enrol(request, db, services, user, EnrolForm(subject, watchlist, override_reason, face), held.photo)
        release_photo(settings=settings, user=user, sha256=photo)
        return done

    return _enrol_outcome(request, db, enrol, retry=retry)


@router.post("/fr/watchlists")
def watchlist_create(
    request: Request, db: DbSession, user: CurrentUser, name: Field = "", kind: Field = "deployment"
) -> Response:
    action = partial(create_watchlist, db, user=user, name=name, kind=kind)
    return outcome(request, action, done=f"Watchlist {name.strip()} created.", back=REGISTER)


@router.post("/fr/watchlists/add")
def watchlist_add(
    request: Request, db: DbSession, user: CurrentUser, watchlist: Field = "", subject: Field = ""
) -> Response:
    action = partial(add_subjects, db, user=user, watchlist_name=watchlist, subject_refs=[subject])
    return outcome(request, action, done=f"{subject.strip()} added to {watchlist.strip()}.", back=REGISTER)


@router.post("/fr/watchlists/freeze")
def watchlist_freeze(request: Request, db: DbSession, user: CurrentUser, watchlist: Field = "") -> Response:
    action = partial(freeze_watchlist, db, user=user, watchlist_name=watchlist)
    return outcome(request, action, done=f"Watchlist {watchlist.strip()} frozen.", back=REGISTER)


def _case_query(case_ref: str) -> str:
    return urlencode({"case": case_ref})


@router.get("/fr/retro")
def retro_page(request: Request, db: DbSession, user: CurrentUser, context: WorkingContext) -> Response:
    view = case_searches(db, user=user, context=context)
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
    services: AppServices,
    user: CurrentUser,
    context: WorkingContext,
    probe: Annotated[UploadFile | None, File()] = None,
) -> Response:
    back = f"/fr/retro?{_case_query(context.case_ref)}"
    with refusal_goes_to(request, back):
        photo = read_upload(request, probe, "probe photo")
        faces = services.recognizer.get()
        found = search_probe(
            db, settings=services.settings, user=user, recognizer=faces, photo=photo, label="probe", context=context
        )
    return RedirectResponse(f"/fr/retro/{found.id}?{_case_query(context.case_ref)}", status_code=303)


@router.get("/fr/retro/{search_id}")
def retro_results(
    request: Request, db: DbSession, user: CurrentUser, context: WorkingContext, search_id: Id
) -> Response:
    search = view_search(db, user=user, search_id=search_id, context=context)
    cards = [(c, *moment(c.entry)) for c in search.candidates]
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
    return outcome(request, action, done=f"Candidate {verdict}.", back=back)
