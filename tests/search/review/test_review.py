"""Marking candidate tracks: verdicts, history, current verdict, audit and refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.analysed import make_footage, make_track
from tests.support.builders import make_camera, make_user
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, Footage, ReviewMark, Track
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.search.review.marks import (
    case_id_of,
    confirmed_tracks,
    current_verdicts,
    mark_track,
    marker_names,
    marks_of_case,
)

CONTEXT = AuditContext(case_ref="CUM-2026-000101", purpose="identify the suspect in the market assault")
OTHER_CASE = AuditContext(case_ref="CUM-2026-000202", purpose="trace a missing person seen near the market")


def _footage(db: Session, tmp_path: Path) -> Footage:
    user = make_user(db, "ingester", trained_for=("analytics",))
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded by these tests")
    return make_footage(db, camera=make_camera(db, "PEN-07"), user=user, video=video, data_dir=tmp_path / "data")


def _last_audit(db: Session) -> AuditEntry:
    return db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def test_a_mark_is_stored_for_the_case_and_audited_without_the_note(db: Session, tmp_path: Path) -> None:
    footage = _footage(db, tmp_path)
    track = make_track(db, footage, upper="red")
    investigator = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER_CASE.case_ref))
    mark = mark_track(
        db=db, user=investigator, context=CONTEXT, track_id=track.id, verdict="Confirmed", note="  same coat  "
    )
    case_id = case_id_of(db, CONTEXT.case_ref)
    assert case_id is not None
    assert (mark.case_id, mark.track_id, mark.verdict, mark.note) == (case_id, track.id, "confirmed", "same coat")
    entry = _last_audit(db)
    assert (entry.actor, entry.action, entry.outcome) == ("ivy", "review.mark", "ok")
    assert (entry.case_ref, entry.purpose) == (CONTEXT.case_ref, CONTEXT.purpose)
    assert (entry.subject_type, entry.subject_id) == ("track", str(track.id))
    details = json.loads(entry.details)
    assert details["verdict"] == "confirmed" and details["note_chars"] == len("same coat")
    assert "same coat" not in entry.details
    assert marker_names(db, [mark]) == {investigator.id: "ivy"}


def test_the_latest_mark_is_the_current_verdict_and_history_is_kept(db: Session, tmp_path: Path) -> None:
    footage = _footage(db, tmp_path)
    first, second, unmarked = (make_track(db, footage) for _ in range(3))
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER_CASE.case_ref))
    start = utcnow()
    mark_track(db=db, user=user, context=CONTEXT, track_id=first.id, verdict="unsure", note="", now=start)
    mark_track(db=db, user=user, context=CONTEXT, track_id=second.id, verdict="confirmed", note="", now=start)
    later = start + timedelta(minutes=5)
    mark_track(db=db, user=user, context=CONTEXT, track_id=first.id, verdict="confirmed", note="", now=later)
    mark_track(db=db, user=user, context=CONTEXT, track_id=second.id, verdict="rejected", note="wrong bag", now=later)
    case_id = case_id_of(db, CONTEXT.case_ref)
    assert case_id is not None
    verdicts = current_verdicts(db, case_id=case_id, track_ids=[first.id, second.id, unmarked.id])
    assert verdicts == {first.id: "confirmed", second.id: "rejected"}
    assert [t.id for t in confirmed_tracks(db, case_id=case_id)] == [first.id]
    history = marks_of_case(db, case_id=case_id, track_id=first.id)
    assert [m.verdict for m in history] == ["confirmed", "unsure"]  # newest first
    assert len(marks_of_case(db, case_id=case_id)) == 4


def test_verdicts_belong_to_their_case(db: Session, tmp_path: Path) -> None:
    track = make_track(db, _footage(db, tmp_path))
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER_CASE.case_ref))
    mark_track(db=db, user=user, context=CONTEXT, track_id=track.id, verdict="confirmed", note="")
    mark_track(db=db, user=user, context=OTHER_CASE, track_id=track.id, verdict="rejected", note="")
    for context, verdict in ((CONTEXT, "confirmed"), (OTHER_CASE, "rejected")):
        case_id = case_id_of(db, context.case_ref)
        assert case_id is not None
        assert current_verdicts(db, case_id=case_id, track_ids=[track.id]) == {track.id: verdict}
    other = case_id_of(db, OTHER_CASE.case_ref)
    assert other is not None and confirmed_tracks(db, case_id=other) == []


@pytest.mark.parametrize(
    ("verdict", "note", "message"),
    [
        ("maybe", "", "verdict must be one of confirmed, rejected, unsure"),
        ("", "", "verdict must be one of"),
        ("confirmed", "x" * 2001, "a note is limited to 2000 characters"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    db: Session, tmp_path: Path, verdict: str, note: str, message: str
) -> None:
    track = make_track(db, _footage(db, tmp_path))
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER_CASE.case_ref))
    with pytest.raises(InvalidInput, match=message):
        mark_track(db=db, user=user, context=CONTEXT, track_id=track.id, verdict=verdict, note=note)
    assert db.execute(select(ReviewMark)).first() is None


def test_an_unknown_track_is_not_found(db: Session) -> None:
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER_CASE.case_ref))
    with pytest.raises(NotFound, match="no track 999999"):
        mark_track(db=db, user=user, context=CONTEXT, track_id=999999, verdict="confirmed", note="")
    assert db.execute(select(ReviewMark)).first() is None


def test_an_untrained_user_is_refused_and_the_refusal_audited(db: Session, tmp_path: Path) -> None:
    track = make_track(db, _footage(db, tmp_path))
    untrained = make_user(db, "una")
    with pytest.raises(NotPermitted, match="no current training record for analytics \\(searching footage\\)"):
        mark_track(db=db, user=untrained, context=CONTEXT, track_id=track.id, verdict="confirmed", note="")
    entry = _last_audit(db)
    assert (entry.actor, entry.action, entry.outcome, entry.case_ref) == (
        "una",
        "review.mark",
        "refused",
        CONTEXT.case_ref,
    )
    assert db.execute(select(ReviewMark)).first() is None


def test_a_deleted_track_takes_its_marks_with_it(db: Session, tmp_path: Path) -> None:
    track = make_track(db, _footage(db, tmp_path))
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER_CASE.case_ref))
    mark_track(db=db, user=user, context=CONTEXT, track_id=track.id, verdict="confirmed", note="")
    case_id = case_id_of(db, CONTEXT.case_ref)
    assert case_id is not None
    db.delete(db.get(Track, track.id))
    db.flush()
    db.expire_all()
    assert confirmed_tracks(db, case_id=case_id) == []
