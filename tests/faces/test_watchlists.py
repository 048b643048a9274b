from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.faces.builders import (
    FR,
    KNN_TRAIN,
    Image,
    context,
    encode,
    fr_user,
    hopper,
    photo,
    shared_image,
    side_by_side,
)
from tests.support.builders import make_user
from tests.support.watchlists import subject_form
from vigil.db.base import utcnow
from vigil.db.face_models import Enrolment, Subject, WatchlistEntry
from vigil.db.models import AuditEntry, User
from vigil.errors import Conflict, InvalidInput, NotPermitted
from vigil.faces.identify import identify
from vigil.faces.images import decode_photo, from_bytes
from vigil.faces.watchlists import (
    add_subjects,
    create_subject,
    create_watchlist,
    enrol_photos,
    enrol_to_watchlist,
    freeze_watchlist,
)
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer


def actions(db: Session) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def enrolled(
    db: Session, settings: Settings, recognizer: FaceRecognizer, user: User, reference: str, image: Image, wl: str
) -> None:
    if db.execute(select(Subject).where(Subject.reference == reference)).first() is None:
        create_subject(db, user=user, form=subject_form(reference))
    enrol_to_watchlist(
        db,
        settings=settings,
        user=user,
        recognizer=recognizer,
        watchlist_name=wl,
        subject_ref=reference,
        photos=[(f"{reference}.png", photo(image))],
    )


def test_enrol_then_identify_a_changed_photo_of_the_subject(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db, "olly", role="operator", trained="live_fr")
    create_watchlist(db, user=user, name="Carlisle station 1 May")
    enrolled(db, settings, recognizer, user, "WAR-1", hopper(), "Carlisle station 1 May")
    enrolment = db.execute(select(Enrolment)).scalar_one()
    assert (settings.data_dir / enrolment.stored_path).read_bytes() == encode(hopper(), ".png")
    assert enrolment.model == "mobilefacenet" and enrolment.quality > 0.8
    assert np.linalg.norm(from_bytes(enrolment.embedding)) == pytest.approx(1.0, abs=1e-4)

    changed = cv2.convertScaleAbs(cv2.resize(hopper(), None, fx=0.7, fy=0.7), alpha=1.2, beta=-20)
    canvas = np.full((500, 700, 3), 90, np.uint8)
    canvas[40 : 40 + changed.shape[0], 200 : 200 + changed.shape[1]] = changed
    results = identify(
        db,
        user=user,
        recognizer=recognizer,
        watchlist_name="Carlisle station 1 May",
        photos=[("probe.jpg", decode_photo(encode(canvas), label="probe.jpg", max_mb=5))],
        context=context(),
    )
    (face,) = results[0].faces
    assert face.searchable and face.matches[0].subject == "WAR-1" and face.matches[0].score > 0.7
    entries = {e.action: e for e in actions(db)}
    assert {"fr.subject.create", "fr.enrol", "fr.watchlist.add", "fr.identify"} <= set(entries)
    assert entries["fr.identify"].case_ref == "CUM-2024-0042" and "robbery" in (entries["fr.identify"].purpose or "")
    assert entries["fr.identify"].capability == "live_fr" and entries["fr.subject.create"].subject_id == "WAR-1"


def _tiny(image: Image) -> Image:
    return cv2.resize(image, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)


def _blurred(image: Image) -> Image:
    return cv2.GaussianBlur(image, (0, 0), 6)


def _turned(image: Image) -> Image:
    height, width = image.shape[:2]
    return cv2.warpAffine(image, cv2.getRotationMatrix2D((width / 2, height / 3), 46, 1.0), (width, height))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_tiny, "too poor to enrol: eye distance"),
        (_blurred, "too poor to enrol: sharpness"),
        (_turned, "too poor to enrol: head tilt"),
        (lambda image: side_by_side(image, image), "2 faces found"),
        (lambda image: np.full((300, 300, 3), 128, np.uint8), "no face found"),
    ],
    ids=["tiny", "blurred", "turned", "two faces", "no face"],
)
def test_unfit_images_are_refused_with_the_reason_and_nothing_is_stored(
    db: Session, settings: Settings, recognizer: FaceRecognizer, make: Callable[[Image], Image], expected: str
) -> None:
    user = fr_user(db)
    create_subject(db, user=user, form=subject_form("MISS-7", category="missing"))
    good = ("good.png", photo(hopper()))
    with pytest.raises(InvalidInput, match=expected):
        enrol_photos(
            db,
            settings=settings,
            user=user,
            recognizer=recognizer,
            subject_ref="MISS-7",
            photos=[good, ("bad.png", photo(make(hopper())))],
        )
    assert db.execute(select(Enrolment)).first() is None, "a refused batch enrols nothing"
    assert not (settings.data_dir / "faces").exists(), "a refused batch writes no file"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"GIF89a\x10\x00\x10\x00 not really", "not an image"),  # a GIF header (16x16 px), then no picture
        (b"GIF89a not really", "28192×29807 pixels"),  # its "header" declares 840 megapixels: refused unread
        (b"%PDF-1.4\n" + bytes(300), "not an image"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused(data: bytes, expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        decode_photo(data, label="upload", max_mb=1)


def test_a_file_over_the_size_limit_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"larger than 0\.001 MB"):
        decode_photo(encode(hopper()), label="big.jpg", max_mb=0.001)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"category": "suspect"}, "category must be one of"),
        ({"reason": "wanted"}, "reason for listing"),
        ({"authority": ""}, "state the authority"),
    ],
)
def test_a_subject_needs_a_category_reason_and_authority(db: Session, changes: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        create_subject(db, user=fr_user(db), form=subject_form(**changes))


def test_a_subject_reference_is_unique_and_expiry_in_the_future(db: Session) -> None:
    user = fr_user(db)
    with pytest.raises(InvalidInput, match="expiry date must be in the future"):
        create_subject(db, user=user, form=subject_form(expires=utcnow().date()))
    with pytest.raises(InvalidInput, match="subject reference"):
        create_subject(db, user=user, form=subject_form("no spaces allowed"))
    create_subject(db, user=user, form=subject_form("WAR-9"))
    with pytest.raises(Conflict, match="already exists"):
        create_subject(db, user=user, form=subject_form("WAR-9"))


def test_an_expired_subject_cannot_be_enrolled_or_added(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db)
    create_subject(db, user=user, form=subject_form("WAR-3", expires=utcnow().date() + timedelta(days=10)))
    enrol_photos(
        db, settings=settings, user=user, recognizer=recognizer, subject_ref="WAR-3", photos=[("a", photo(hopper()))]
    )
    create_watchlist(db, user=user, name="Standing list", kind="standing")
    later = utcnow() + timedelta(days=11)
    with pytest.raises(InvalidInput, match="expired on"):
        add_subjects(db, user=user, watchlist_name="Standing list", subject_refs=["WAR-3"], now=later)
    with pytest.raises(InvalidInput, match="expired on"):
        enrol_photos(
            db,
            settings=settings,
            user=user,
            recognizer=recognizer,
            subject_ref="WAR-3",
            photos=[("b", photo(_tiny(hopper())))],
            now=later,
        )
    assert db.execute(select(WatchlistEntry)).first() is None
    added = add_subjects(db, user=user, watchlist_name="Standing list", subject_refs=["WAR-3"])
    assert len(added) == 1 and added[0].embedding == added[0].enrolment.embedding  # type: ignore[union-attr]


def test_a_frozen_watchlist_takes_no_more_subjects(db: Session, settings: Settings, recognizer: FaceRecognizer) -> None:
    user = fr_user(db, "olly", role="operator", trained="live_fr")
    create_watchlist(db, user=user, name="Deployment 12")
    with pytest.raises(InvalidInput, match="is empty"):
        freeze_watchlist(db, user=user, watchlist_name="Deployment 12")
    enrolled(db, settings, recognizer, user, "WAR-1", hopper(), "Deployment 12")
    frozen = freeze_watchlist(db, user=user, watchlist_name="Deployment 12")
    assert frozen.frozen_at is not None
    create_subject(db, user=user, form=subject_form("WAR-2"))
    with pytest.raises(Conflict, match="frozen"):
        enrol_to_watchlist(
            db,
            settings=settings,
            user=user,
            recognizer=recognizer,
            watchlist_name="Deployment 12",
            subject_ref="WAR-2",
            photos=[("x", photo(hopper()))],
        )
    assert [e.action for e in actions(db)].count("fr.watchlist.freeze") == 1


@pytest.mark.parametrize(
    ("role", "trained", "reason"),
    [
        ("investigator", (), "no current training record"),
        ("admin", (), "does not grant"),
        ("operator", ("retrospective_fr",), "no current training record for live facial recognition"),
    ],
)
def test_users_without_a_trained_fr_capability_are_refused_and_audited(
    db: Session, role: str, trained: tuple[str, ...], reason: str
) -> None:
    user = make_user(db, "untrained", role, trained_for=trained)
    with pytest.raises(NotPermitted, match=reason):
        create_subject(db, user=user, form=subject_form())
    refusal = actions(db)[-1]
    assert (refusal.action, refusal.outcome, refusal.actor) == ("fr.subject.create", "refused", "untrained")
    assert db.execute(select(Subject)).first() is None


@pytest.mark.data
def test_two_people_enrolled_a_third_photo_finds_the_right_one(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db, "olly", role="operator", trained="live_fr")
    create_watchlist(db, user=user, name="Test list")
    enrolled(db, settings, recognizer, user, "OBAMA-1", shared_image(f"{FR}obama.jpg"), "Test list")
    enrolled(db, settings, recognizer, user, "BIDEN-1", shared_image(f"{FR}biden.jpg"), "Test list")
    probes = [
        ("obama1.jpg", photo(shared_image(f"{FR}knn_examples/test/obama1.jpg"))),
        ("biden2.jpg", photo(shared_image(f"{KNN_TRAIN}/biden/biden2.jpg"))),
        ("two_people.jpg", photo(shared_image(f"{FR}two_people.jpg"))),
    ]
    results = identify(
        db, user=user, recognizer=recognizer, watchlist_name="Test list", photos=probes, context=context()
    )
    assert results[0].faces[0].matches[0].subject == "OBAMA-1"
    assert results[1].faces[0].matches[0].subject == "BIDEN-1"
    assert all(f.matches[0].score > f.matches[1].score + 0.2 for r in results[:2] for f in r.faces)
    assert len(results[2].faces) == 2 and all(len(f.matches) == 2 for f in results[2].faces)
