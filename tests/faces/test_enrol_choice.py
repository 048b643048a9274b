"""Enrolling from the photos police have: choosing one face of several, a face that plainly stands out, quality
refusals that state the measurement and its limit, and a supervisor's recorded override."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.faces.builders import Image, fr_user, hopper, photo, side_by_side
from tests.support.watchlists import subject_form
from vigil.db.face_models import Enrolment
from vigil.db.models import AuditEntry, User
from vigil.errors import InvalidInput, NotPermitted
from vigil.faces.images import PoorFace, SeveralFaces
from vigil.faces.watchlists import FaceChoice, create_subject, enrol_photos
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer


def _small(image: Image, factor: float) -> Image:
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def _portrait_with_passer_by() -> Image:
    """Hopper centred and large, a much smaller face in the top-left corner (an LFW-style photo)."""
    canvas = np.full((800, 800, 3), 110, np.uint8)
    big, small = hopper(), _small(hopper(), 0.35)
    top, left = (800 - big.shape[0]) // 2, (800 - big.shape[1]) // 2
    canvas[top : top + big.shape[0], left : left + big.shape[1]] = big
    canvas[: small.shape[0], : small.shape[1]] = small
    return canvas


def _enrol(
    db: Session,
    settings: Settings,
    recognizer: FaceRecognizer,
    image: Image,
    *,
    user: User | None = None,
    choice: FaceChoice | None = None,
) -> Enrolment:
    """Enrol ``image`` for subject WAR-5 (created, with an investigator, when no ``user`` is given)."""
    if user is None:
        user = fr_user(db)
        create_subject(db, user=user, form=subject_form("WAR-5"))
    (enrolment,) = enrol_photos(
        db,
        settings=settings,
        user=user,
        recognizer=recognizer,
        subject_ref="WAR-5",
        photos=[("photo.png", photo(image))],
        choice=choice,
    )
    return enrolment


def _enrol_audits(db: Session) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action.like("fr.enrol%"))).scalars())


def test_several_faces_are_listed_then_the_chosen_one_is_enrolled(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db)
    create_subject(db, user=user, form=subject_form("WAR-5"))
    pair = side_by_side(_small(hopper(), 0.8), hopper())  # right face bigger, but neither central: ask
    with pytest.raises(SeveralFaces) as asked:
        enrol_photos(
            db, settings=settings, user=user, recognizer=recognizer, subject_ref="WAR-5", photos=[("p", photo(pair))]
        )
    faces = asked.value.faces
    assert [f.number for f in faces] == [1, 2] and faces[0].box[0] < faces[1].box[0], "numbered left to right"
    assert "2 faces found; choose one" in asked.value.message and "face 2: box" in asked.value.message
    assert db.execute(select(Enrolment)).first() is None

    with pytest.raises(InvalidInput, match="there is no face 3; 2 faces found"):
        _enrol(db, settings, recognizer, pair, user=user, choice=FaceChoice(face=3))
    enrolment = _enrol(db, settings, recognizer, pair, user=user, choice=FaceChoice(face=2))
    assert (enrolment.face_number, enrolment.face_chosen) == (2, "person")
    crop = cv2.imread(str(settings.data_dir / enrolment.stored_path.replace(".png", ".crop.jpg")))
    assert crop is not None and crop.shape[1] > 200, "the crop is of the larger, right-hand face"
    details = json.loads(_enrol_audits(db)[-1].details or "{}")
    assert details["face"] == 2 and details["chosen"] == "person"


def test_a_face_that_plainly_stands_out_is_taken_without_asking(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    enrolment = _enrol(db, settings, recognizer, _portrait_with_passer_by())
    assert enrolment.face_chosen == "auto" and enrolment.face_number == 2, "the corner face is number 1"


def test_choosing_a_face_needs_one_photo_at_a_time(db: Session, settings: Settings, recognizer: FaceRecognizer) -> None:
    user = fr_user(db)
    create_subject(db, user=user, form=subject_form("WAR-5"))
    two = [("a", photo(hopper())), ("b", photo(hopper()[:, ::-1].copy()))]
    with pytest.raises(InvalidInput, match="one photo at a time"):
        enrol_photos(
            db,
            settings=settings,
            user=user,
            recognizer=recognizer,
            subject_ref="WAR-5",
            photos=two,
            choice=FaceChoice(face=1),
        )


def test_a_quality_refusal_names_the_measurement_and_its_limit(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    with pytest.raises(PoorFace, match=r"face too poor to enrol: eye distance 2\d px; limit at least 30 px to enrol"):
        _enrol(db, settings, recognizer, _small(hopper(), 0.32))
    assert db.execute(select(Enrolment)).first() is None


def test_only_a_supervisor_may_override_and_the_refusal_is_audited(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    investigator = fr_user(db)
    create_subject(db, user=investigator, form=subject_form("WAR-5"))
    choice = FaceChoice(override_reason="The only photo held of the missing person")
    with pytest.raises(NotPermitted, match="only a supervisor"):
        _enrol(db, settings, recognizer, _small(hopper(), 0.32), user=investigator, choice=choice)
    assert db.execute(select(Enrolment)).first() is None, "a refused override enrols nothing"
    assert not (settings.data_dir / "faces").exists()
    refused = [a for a in _enrol_audits(db) if a.action == "fr.enrol.override"]
    assert len(refused) == 1 and refused[0].outcome == "refused" and refused[0].actor == investigator.username


def test_a_supervisor_override_is_recorded_on_the_enrolment_and_audited(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    sue = fr_user(db, "sue", role="supervisor", trained="live_fr")
    create_subject(db, user=sue, form=subject_form("WAR-5"))
    tiny = _small(hopper(), 0.32)
    with pytest.raises(InvalidInput, match="reason for overriding"):
        _enrol(db, settings, recognizer, tiny, user=sue, choice=FaceChoice(override_reason="ok"))
    reason = "The only photo held of the missing person"
    enrolment = _enrol(db, settings, recognizer, tiny, user=sue, choice=FaceChoice(None, reason))
    assert enrolment.override_reason == reason and enrolment.override_by_id == sue.id
    assert (enrolment.overridden_refusal or "").startswith("eye distance 2")
    details = json.loads(_enrol_audits(db)[-1].details or "{}")
    assert details["override_reason"] == reason and details["overridden_refusal"][0].startswith("eye distance")

    with pytest.raises(PoorFace, match="too poor to enrol: eye distance"):  # too poor even to search with: no override
        _enrol(
            db,
            settings,
            recognizer,
            _small(hopper(), 0.12),
            user=sue,
            choice=FaceChoice(None, reason),
        )


def test_an_override_is_not_recorded_when_the_face_is_fit(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    sue = fr_user(db, "sue", role="supervisor", trained="live_fr")
    create_subject(db, user=sue, form=subject_form("WAR-5"))
    choice = FaceChoice(override_reason="Just in case the check refuses it")
    enrolment = _enrol(db, settings, recognizer, hopper(), user=sue, choice=choice)
    assert enrolment.override_reason is None and enrolment.overridden_refusal is None
