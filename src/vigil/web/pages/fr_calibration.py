"""Face-match threshold calibration from the browser: the saved TPIR/FPIR curve, and a new calibration on a
labelled photo set uploaded as a ZIP (the page equivalent of `vigil fr calibrate FOLDER`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from vigil.errors import InvalidInput, NotFound
from vigil.faces.calibration import Calibration, load_calibration, one_in, run_calibration
from vigil.faces.calibration_sets import MAX_TOTAL_MB, photos_from_zip
from vigil.faces.watchlists import fr_capability
from vigil.web.auth import CurrentUser, flash
from vigil.web.deps import AppServices, DbSession
from vigil.web.forms import refusal_goes_to
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)

SIZES = (100, 1000, 10000)
CHUNK = 1024 * 1024


def _rows(calibration: Calibration) -> list[list[str]]:
    return [
        [f"{p.threshold:.2f}", f"{p.tpir:.1%}", f"{p.fpir:.2%}"]
        + [one_in(calibration.expected_fpir(p.threshold, n)) for n in SIZES]
        for p in calibration.curve
        if 0.3 <= p.threshold <= 0.9
    ]


@router.get("/fr/calibration")
def calibration_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    fr_capability(db, user=user, action="fr.calibration.view", context=None)
    try:
        calibration: Calibration | None = load_calibration(web_state(request).system.settings)
    except (NotFound, InvalidInput):
        calibration = None
    return render(
        request,
        "fr_calibration.html",
        user=user,
        section="faces",
        calibration=calibration,
        rows=_rows(calibration) if calibration else [],
        sizes=SIZES,
        max_mb=MAX_TOTAL_MB,
    )


def _save_upload(upload: UploadFile, into: Path) -> Path:
    if not upload.filename:
        raise InvalidInput("choose a ZIP of labelled photos to upload")
    target, written = into / "upload.zip", 0
    with target.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            written += len(chunk)
            if written > MAX_TOTAL_MB * 1024 * 1024:
                raise InvalidInput(f"the ZIP is larger than {MAX_TOTAL_MB} MB")
            out.write(chunk)
    return target


@router.post("/fr/calibration")
def calibration_run(
    request: Request,
    db: DbSession,
    services: AppServices,
    user: CurrentUser,
    photos: Annotated[UploadFile | None, File()] = None,
) -> Response:
    settings = services.settings
    with refusal_goes_to(request, "/fr/calibration"):
        fr_capability(db, user=user, action="fr.calibrate", context=None)  # refuse before unpacking anything
        if photos is None:
            raise InvalidInput("choose a ZIP of labelled photos to upload")
        with tempfile.TemporaryDirectory(prefix="calibration-", dir=settings.data_dir) as work:
            archive = _save_upload(photos, Path(work))
            labelled = photos_from_zip(archive, Path(work) / "photos", max_photo_mb=settings.faces.max_image_mb)
            result, _ = run_calibration(
                db, settings=settings, user=user, recognizer=services.recognizer.get(), photos=labelled
            )
    flash(
        request,
        f"Calibrated {result.model} on {result.photos} photos of {result.identities} people; deployments now use it.",
        "ok",
    )
    return RedirectResponse("/fr/calibration", status_code=303)
