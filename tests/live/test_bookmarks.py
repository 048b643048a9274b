"""Bookmarks of live moments: an operator marks a camera's moment for a case; the segment covering it outlives
footage retention while the case is held, an unbookmarked segment of the same age does not; another case's
bookmark and an untrained viewer are refused, audited, and change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.builders import make_case, make_user
from tests.support.retention import aged_footage as _footage
from vigil.db.base import utcnow
from vigil.db.live_models import LiveBookmark, LiveSegment, LiveView
from vigil.db.models import AuditEntry, Footage, User
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.governance.retention import run_retention
from vigil.live.viewing import ViewSession, add_bookmark, current_view, open_bookmark, start_view
from vigil.settings import Settings
from vigil.system import default_rules

CAMERAS = {"CAM-1", "CAM-2"}
PURPOSE = "monitoring the town centre for the night-time economy operation"


def _segment(db: Session, settings: Settings, name: str, start: datetime) -> Footage:
    footage = _footage(db, settings, name, age_days=0)
    footage.ingested_at = start + timedelta(minutes=1)
    db.add(
        LiveSegment(footage_id=footage.id, camera_code="CAM-1", started_at=start, ended_at=start + timedelta(minutes=1))
    )
    db.flush()
    return footage


def _watch(db: Session, user: User, case_ref: str = "", now: datetime | None = None) -> ViewSession:
    return start_view(
        db, user=user, purpose=PURPOSE, case_ref=case_ref, hours=8, cameras=sorted(CAMERAS), now=now or utcnow()
    )


def _refusals(db: Session, action: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == "refused")
    return list(db.execute(stmt).scalars())


def test_a_bookmarked_segment_survives_retention_and_an_unbookmarked_one_of_the_same_age_is_removed(
    db: Session, settings: Settings
) -> None:
    olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=["CUM-2026-000101"])
    now = utcnow()
    kept = _segment(db, settings, "KEPT", now - timedelta(minutes=3))
    gone = _segment(db, settings, "GONE", now - timedelta(minutes=5))
    session = _watch(db, olive, "CUM-2026-000101", now=now)
    moment = now - timedelta(minutes=2, seconds=30)  # inside KEPT's minute
    bookmark = add_bookmark(
        db,
        user=olive,
        session=session,
        camera_code="CAM-1",
        at=moment,
        note="man drops a bag",
        case_ref="",
        known=CAMERAS,
        now=now,
    )
    assert bookmark.case_id is not None and bookmark.note == "man drops a bag"

    later = now + timedelta(days=settings.retention.footage_days + 1)
    run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir, actor="system", now=later)
    db.expire_all()
    assert db.get(Footage, kept.id) is not None and (settings.data_dir / kept.stored_path).exists()
    assert db.get(Footage, gone.id) is None and not (settings.data_dir / gone.stored_path).exists()

    moment_at = open_bookmark(db, user=olive, bookmark_id=bookmark.id, context=session.context)
    assert moment_at.footage_id == kept.id and moment_at.offset_s == pytest.approx(30.0)
    actions = [e.action for e in db.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    assert actions.count("live.view.start") == 1 and "live.bookmark" in actions and "live.bookmark.open" in actions


def test_a_closed_case_past_its_retention_no_longer_holds_its_bookmarked_segment(
    db: Session, settings: Settings
) -> None:
    olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=["CUM-2026-000102"])
    now = utcnow()
    segment = _segment(db, settings, "CLOSED", now - timedelta(minutes=3))
    session = _watch(db, olive, "CUM-2026-000102", now=now)
    add_bookmark(
        db,
        user=olive,
        session=session,
        camera_code="CAM-1",
        at=now - timedelta(minutes=2),
        note="",
        case_ref="",
        known=CAMERAS,
        now=now,
    )
    case = make_case(db, "CUM-2026-000102")
    case.status, case.closed_at, case.retain_until = "closed", now, (now + timedelta(days=5)).date()
    db.flush()
    later = now + timedelta(days=settings.retention.footage_days + 1)
    run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir, actor="system", now=later)
    db.expire_all()
    assert db.get(Footage, segment.id) is None


def test_another_cases_bookmark_is_refused_audited_and_reveals_nothing(db: Session, settings: Settings) -> None:
    olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=["CUM-2026-000201"])
    ian = make_user(db, "ian", "investigator", trained_for=("analytics",), cases=["CUM-2026-000202"])
    now = utcnow()
    _segment(db, settings, "SEG", now - timedelta(minutes=3))
    bookmark = add_bookmark(
        db,
        user=olive,
        session=_watch(db, olive, "CUM-2026-000201", now=now),
        camera_code="CAM-1",
        at=now - timedelta(minutes=2),
        note="secret note",
        case_ref="",
        known=CAMERAS,
        now=now,
    )
    own_case = AuditContext(case_ref="CUM-2026-000202", purpose=PURPOSE)
    with pytest.raises(NotPermitted, match="held for another case"):
        open_bookmark(db, user=ian, bookmark_id=bookmark.id, context=own_case)
    olives_case = AuditContext(case_ref="CUM-2026-000201", purpose=PURPOSE)
    with pytest.raises(NotPermitted, match="not a member"):
        open_bookmark(db, user=ian, bookmark_id=bookmark.id, context=olives_case)
    assert [e.actor for e in _refusals(db, "live.bookmark.open")] == ["ian", "ian"]
    # and ian cannot bookmark for olive's case either: nothing is stored
    ians = _watch(db, ian, now=now)
    with pytest.raises(NotPermitted, match="not a member"):
        add_bookmark(
            db,
            user=ian,
            session=ians,
            camera_code="CAM-1",
            at=now,
            note="x",
            case_ref="CUM-2026-000201",
            known=CAMERAS,
            now=now,
        )
    assert db.execute(select(func.count()).select_from(LiveBookmark)).scalar_one() == 1
    assert [e.actor for e in _refusals(db, "live.bookmark")] == ["ian"]


def test_watching_live_needs_analytics_training_and_a_refusal_is_audited_without_a_view_session(
    db: Session, settings: Settings
) -> None:
    make_user(db, "olive", "operator", trained_for=("analytics",))
    untrained = make_user(db, "uma", "operator")
    admin = make_user(db, "ada", "admin")
    for user, reason in ((untrained, "no current training"), (admin, "does not grant")):
        with pytest.raises(NotPermitted, match=reason):
            _watch(db, user)
    assert db.execute(select(func.count()).select_from(LiveView)).scalar_one() == 0
    assert sorted(e.actor for e in _refusals(db, "live.view.start")) == ["ada", "uma"]


@pytest.mark.parametrize(
    ("purpose", "case_ref", "at_offset", "note", "message"),
    [
        ("too short", "", timedelta(0), "", "purpose"),
        (PURPOSE, "bad ref!", timedelta(0), "", "case reference"),
        (PURPOSE, "", timedelta(days=2), "", "last day"),
        (PURPOSE, "", timedelta(minutes=-5), "", "future"),
        (PURPOSE, "", timedelta(0), "n" * 1001, "at most 1000"),
    ],
)
def test_bad_view_or_bookmark_input_is_refused_with_a_clear_message_and_nothing_stored(
    db: Session, settings: Settings, purpose: str, case_ref: str, at_offset: timedelta, note: str, message: str
) -> None:
    olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=["CUM-2026-000301"])
    now = utcnow()
    with pytest.raises(InvalidInput, match=message):
        session = start_view(db, user=olive, purpose=purpose, case_ref=case_ref, hours=8, cameras=[], now=now)
        add_bookmark(
            db,
            user=olive,
            session=session,
            camera_code="CAM-1",
            at=now - at_offset,
            note=note,
            case_ref="CUM-2026-000301",
            known=CAMERAS,
            now=now,
        )
    assert db.execute(select(func.count()).select_from(LiveBookmark)).scalar_one() == 0


def test_a_view_session_is_only_its_owners_and_ends_when_it_expires(db: Session, settings: Settings) -> None:
    olive = make_user(db, "olive", "operator", trained_for=("analytics",))
    ian = make_user(db, "ian", "investigator", trained_for=("analytics",))
    now = utcnow()
    view = _watch(db, olive, now=now).view
    assert current_view(db, user=olive, view_id=view.id, now=now + timedelta(hours=7)) is not None
    assert current_view(db, user=olive, view_id=view.id, now=now + timedelta(hours=8)) is None  # expired
    assert current_view(db, user=ian, view_id=view.id, now=now) is None  # someone else's
    assert current_view(db, user=olive, view_id=str(view.id), now=now) is None  # only the id the server stored
