from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.faces.builders import FR, START, context, face_video, footage_of, fr_user, hopper, photo, shared_image
from tests.support.builders import make_user
from vigil.db.base import utcnow
from vigil.db.face_models import FaceIndexEntry, FaceIndexRun, RetroCandidate, RetroSearch
from vigil.db.models import AuditEntry, Case, Footage, User
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.faces.retention import RetroSearchRule
from vigil.faces.retrospective import decide, index_case_footage, moment, search_probe, view_search
from vigil.faces.views import case_searches, retro_image
from vigil.governance.retention import FootageRule, run_retention
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer

CASE = "CUM-2024-0042"


def audit_of(db: Session, action: str) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars())


def video(settings: Settings, name: str, visible: tuple[float, float], face: object = None) -> Path:
    folder = settings.data_dir / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return face_video(folder / name, hopper() if face is None else face, visible=visible)  # type: ignore[arg-type]


def case_with_footage(db: Session, settings: Settings, user: User) -> tuple[Footage, Footage]:
    """Footage of the case (face visible 3.0-5.0 s) and footage of no case (the same face all the time)."""
    held = footage_of(
        db, data_dir=settings.data_dir, user=user, video=video(settings, "a.mp4", (3.0, 5.0)), case_ref=CASE
    )
    other = video(settings, "b.mp4", (0.0, 8.0))
    loose = footage_of(db, data_dir=settings.data_dir, user=user, video=other, case_ref=None, camera="PEN-02")
    return held, loose


def test_probe_finds_the_face_in_the_case_footage_at_the_right_time(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db)
    held, loose = case_with_footage(db, settings, user)
    search = search_probe(
        db, settings=settings, user=user, recognizer=recognizer, photo=photo(hopper()), label="probe", context=context()
    )
    best = search.candidates[0]
    assert best.rank == 1 and best.score > 0.6 and best.verdict == "pending"
    assert best.entry.footage_id == held.id and 3.0 <= best.entry.t < 5.0
    when, link = moment(best.entry)
    assert when == START + timedelta(seconds=best.entry.t)
    assert link == f"/footage/{held.id}/video?t={best.entry.t:.2f}"
    assert (settings.data_dir / best.entry.crop_path).is_file()
    assert best.entry.crop_path.startswith(f"derived/{held.id}/faces/")
    assert len(search.candidates) == 1, "one appearance is one candidate, not one per sampled frame"
    # The footage outside the case was never looked at: no index, no crops.
    assert db.execute(select(FaceIndexEntry).where(FaceIndexEntry.footage_id == loose.id)).first() is None
    assert not (settings.data_dir / "derived" / str(loose.id)).exists()
    run = db.execute(select(FaceIndexRun).where(FaceIndexRun.footage_id == held.id)).scalar_one()
    assert run.frames_sampled == 16 and run.faces_indexed >= 3  # 8 s at 2 frames/s; visible 2 s
    for action in ("fr.retro.index", "fr.retro.search"):
        (entry,) = audit_of(db, action)
        assert (entry.case_ref, entry.capability) == (CASE, "retrospective_fr") and "robbery" in (entry.purpose or "")


def test_indexing_refuses_footage_outside_the_case(db: Session, settings: Settings, recognizer: FaceRecognizer) -> None:
    user = fr_user(db, cases=(CASE, "CUM-EMPTY-1"))
    held, loose = case_with_footage(db, settings, user)
    with pytest.raises(NotPermitted, match=f"footage {loose.id} is not held for case {CASE}"):
        index_case_footage(
            db, settings=settings, user=user, recognizer=recognizer, context=context(), footage_ids=[held.id, loose.id]
        )
    (refusal,) = [e for e in audit_of(db, "fr.retro.index") if e.outcome == "refused"]
    assert refusal.case_ref == CASE
    assert db.execute(select(func.count(FaceIndexEntry.id))).scalar_one() == 0
    with pytest.raises(InvalidInput, match="holds no footage"):
        index_case_footage(db, settings=settings, user=user, recognizer=recognizer, context=context("CUM-EMPTY-1"))


def test_indexing_twice_reuses_the_index(db: Session, settings: Settings, recognizer: FaceRecognizer) -> None:
    user = fr_user(db)
    _held, _ = case_with_footage(db, settings, user)
    first = index_case_footage(db, settings=settings, user=user, recognizer=recognizer, context=context())
    again = index_case_footage(db, settings=settings, user=user, recognizer=recognizer, context=context())
    assert [r.already_indexed for r in first + again] == [False, True]
    assert first[0].faces_indexed == again[0].faces_indexed > 0
    assert len(audit_of(db, "fr.retro.index")) == 1


def test_footage_that_cannot_be_decoded_is_a_clear_error(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db)
    broken = settings.data_dir / "incoming" / "broken.mp4"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    footage = footage_of(db, data_dir=settings.data_dir, user=user, video=broken, case_ref=CASE)
    with pytest.raises(InvalidInput, match=f"footage {footage.id} could not be decoded"):
        index_case_footage(db, settings=settings, user=user, recognizer=recognizer, context=context())
    assert not (settings.data_dir / "derived" / str(footage.id)).exists()


def test_the_user_confirms_or_rejects_each_candidate(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db, cases=(CASE, "CUM-OTHER-9"))
    case_with_footage(db, settings, user)
    search = search_probe(
        db, settings=settings, user=user, recognizer=recognizer, photo=photo(hopper()), label="probe", context=context()
    )
    candidate = search.candidates[0]
    with pytest.raises(InvalidInput, match="verdict must be one of"):
        decide(db, user=user, candidate_id=candidate.id, verdict="identified", context=context())
    with pytest.raises(NotFound, match="no candidate"):
        decide(db, user=user, candidate_id=candidate.id, verdict="confirmed", context=context("CUM-OTHER-9"))
    decide(db, user=user, candidate_id=candidate.id, verdict="confirmed", note="same scar", context=context())
    assert (candidate.verdict, candidate.verdict_note, candidate.decided_by_id) == ("confirmed", "same scar", user.id)
    (entry,) = audit_of(db, "fr.retro.verdict")
    assert entry.case_ref == CASE and '"verdict":"confirmed"' in entry.details
    shown = view_search(db, user=user, search_id=search.id, context=context())
    assert shown.candidates[0].verdict == "confirmed"
    with pytest.raises(NotFound):
        view_search(db, user=user, search_id=search.id, context=context("CUM-OTHER-9"))


def test_probe_with_no_usable_face_is_refused_before_any_indexing(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db)
    case_with_footage(db, settings, user)
    tiny = cv2.resize(hopper(), None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    with pytest.raises(InvalidInput, match="face too poor to search with: eye distance"):
        search_probe(
            db, settings=settings, user=user, recognizer=recognizer, photo=photo(tiny), label="p", context=context()
        )
    assert db.execute(select(FaceIndexRun)).first() is None and db.execute(select(RetroSearch)).first() is None


@pytest.mark.parametrize(("role", "trained"), [("investigator", ("analytics",)), ("operator", ("live_fr",))])
def test_untrained_users_are_refused(
    db: Session, settings: Settings, recognizer: FaceRecognizer, role: str, trained: tuple[str, ...]
) -> None:
    user = make_user(db, "una", role, trained_for=trained)
    with pytest.raises(NotPermitted):
        search_probe(
            db, settings=settings, user=user, recognizer=recognizer, photo=photo(hopper()), label="p", context=context()
        )
    (refusal,) = audit_of(db, "fr.retro.search")
    assert refusal.outcome == "refused" and refusal.case_ref == CASE


def test_the_index_and_searches_go_with_the_case_under_retention(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    user = fr_user(db)
    held, _ = case_with_footage(db, settings, user)
    search = search_probe(
        db, settings=settings, user=user, recognizer=recognizer, photo=photo(hopper()), label="p", context=context()
    )
    crops = [settings.data_dir / c.entry.crop_path for c in search.candidates]
    probe_crop = settings.data_dir / search.probe_crop_path
    assert crops and all(p.is_file() for p in crops) and probe_crop.is_file()
    case = db.execute(select(Case).where(Case.reference == CASE)).scalar_one()
    held.ingested_at = utcnow() - timedelta(days=400)
    rules = [FootageRule(data_dir=settings.data_dir, days=31), RetroSearchRule(data_dir=settings.data_dir, days=31)]
    run_retention(db, rules=rules, data_dir=settings.data_dir, now=utcnow())
    assert db.get(Footage, held.id) is not None and db.get(RetroSearch, search.id) is not None, "open case: held"
    case.closed_at = utcnow() - timedelta(days=10)
    db.flush()
    run_retention(db, rules=rules, data_dir=settings.data_dir, now=utcnow())
    db.expire_all()
    assert db.execute(select(func.count(FaceIndexEntry.id))).scalar_one() == 0, "the index went with the footage"
    assert not any(p.exists() for p in crops)
    assert db.get(RetroSearch, search.id) is not None and probe_crop.is_file(), "searches stay 31 days after closing"
    run_retention(db, rules=rules, data_dir=settings.data_dir, now=utcnow() + timedelta(days=22))
    db.expire_all()
    assert db.execute(select(func.count(RetroSearch.id))).scalar_one() == 0
    assert db.execute(select(func.count(RetroCandidate.id))).scalar_one() == 0
    assert not probe_crop.exists()


@pytest.mark.data
def test_dataset_photo_pasted_into_video_is_found_at_the_right_time(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    """Obama appears 5.0-6.5 s, Biden 1.0-3.0 s; a different photo of Obama as the probe finds 5.0-6.5 s first."""
    user = fr_user(db)
    obama = shared_image(f"{FR}obama.jpg")[0:560, 250:740]  # head and shoulders
    biden = shared_image(f"{FR}biden.jpg")[50:750, 300:850]
    folder = settings.data_dir / "incoming"
    folder.mkdir(parents=True)
    first = face_video(folder / "obama.mp4", obama, visible=(5.0, 6.5), height=220, at=(300, 60))
    second = face_video(folder / "biden.mp4", biden, visible=(1.0, 3.0), height=260, at=(60, 40))
    footage_of(db, data_dir=settings.data_dir, user=user, video=first, case_ref=CASE)
    footage_of(db, data_dir=settings.data_dir, user=user, video=second, case_ref=CASE, camera="PEN-02")
    probe = photo(shared_image(f"{FR}obama2.jpg"))
    search = search_probe(
        db, settings=settings, user=user, recognizer=recognizer, photo=probe, label="obama2.jpg", context=context()
    )
    best = search.candidates[0]
    assert best.entry.footage.camera.code == "PEN-01" and 5.0 <= best.entry.t < 6.5
    assert best.score > 0.5
    assert all(c.score < best.score - 0.2 for c in search.candidates[1:])


def test_a_non_member_gets_neither_the_search_nor_its_face_crops(
    db: Session, settings: Settings, recognizer: FaceRecognizer
) -> None:
    """F6: bob is trained for face search but not a member of the case: refused and audited, no crop returned."""
    user = fr_user(db)
    case_with_footage(db, settings, user)
    search = search_probe(
        db, settings=settings, user=user, recognizer=recognizer, photo=photo(hopper()), label="probe", context=context()
    )
    bob = fr_user(db, "bob", cases=())
    entry_id = search.candidates[0].entry.id
    attempts = {
        "fr.retro.image": lambda: retro_image(
            db, settings=settings, user=bob, context=context(), search_id=search.id, entry_id=entry_id
        ),
        "fr.retro.view": lambda: view_search(db, user=bob, search_id=search.id, context=context()),
        "fr.retro.list": lambda: case_searches(db, user=bob, context=context()),
    }
    for action, attempt in attempts.items():
        with pytest.raises(NotPermitted, match=f"not a member of case {CASE}"):
            attempt()
        refusal = (
            db.execute(select(AuditEntry).where(AuditEntry.actor == "bob").order_by(AuditEntry.seq.desc()))
            .scalars()
            .first()
        )
        assert refusal is not None and (refusal.action, refusal.outcome, refusal.case_ref) == (action, "refused", CASE)
