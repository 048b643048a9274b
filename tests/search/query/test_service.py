"""The search service: governance (capability, training, purpose, case), the audit trail of every run and of
saved searches, refusals of identification requests, and the verdicts shown on result cards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.analysed import analysed_footage
from tests.support.builders import make_camera, make_user
from vigil.db.models import AuditEntry, Track
from vigil.errors import Conflict, InvalidInput, NotFound, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.search.query.service import (
    list_saved_searches,
    load_saved_search,
    refuse_description,
    run_search,
    save_search,
    understand,
)
from vigil.search.query.track_query import TrackQuery
from vigil.search.review.marks import mark_track
from vigil.settings import Settings

LONDON = ZoneInfo("Europe/London")
CONTEXT = AuditContext(case_ref="CUM-2026-000101", purpose="robbery in Market Square, looking for the suspect")
OTHER = AuditContext(case_ref="CUM-2026-000202", purpose="criminal damage on Devonshire Street at night")


def entries(db: Session, action: str) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars())


def test_a_search_is_audited_with_purpose_case_query_and_result_count(db: Session, settings: Settings) -> None:
    analysed_footage(db, settings)
    analyst = make_user(db, "investigator1", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER.case_ref))
    query = TrackQuery(upper_colours=["red"], classes=["person"])
    results = run_search(db=db, user=analyst, context=CONTEXT, query=query, description="red top", zone=LONDON)
    assert [card.upper for card in results.cards] == [["red"]]
    card = results.cards[0]
    assert card.camera_code == "PEN-01" and card.heading == "right" and card.verdict is None
    assert card.seen_local.endswith(("BST", "GMT"))
    (entry,) = entries(db, "search.run")
    assert (entry.actor, entry.outcome, entry.case_ref, entry.purpose) == (
        "investigator1",
        "ok",
        CONTEXT.case_ref,
        CONTEXT.purpose,
    )
    details = json.loads(entry.details)
    assert details == {
        "description": "red top",
        "query": {"classes": ["person"], "upper_colours": ["red"]},
        "results": 1,
    }


def test_an_untrained_user_is_refused_and_the_refusal_audited(db: Session) -> None:
    untrained = make_user(db, "newstarter")
    with pytest.raises(NotPermitted, match="training"):
        run_search(db=db, user=untrained, context=CONTEXT, query=TrackQuery())
    (entry,) = entries(db, "search.run")
    assert (entry.actor, entry.outcome, entry.case_ref) == ("newstarter", "refused", CONTEXT.case_ref)


def test_a_role_without_analytics_is_refused(db: Session) -> None:
    auditor = make_user(db, "auditor1", role="auditor", trained_for=("analytics",))
    with pytest.raises(NotPermitted):
        run_search(db=db, user=auditor, context=CONTEXT, query=TrackQuery())
    assert [e.outcome for e in entries(db, "search.run")] == ["refused"]


def test_a_request_to_identify_someone_is_refused_and_audited(db: Session) -> None:
    analyst = make_user(db, "investigator1", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER.case_ref))
    understood = understand(db, description="identify the face of the man in red", zone=LONDON)
    assert understood.refusal is not None
    with pytest.raises(NotPermitted, match="does not identify people"):
        refuse_description(db, user=analyst, context=CONTEXT, understanding=understood)
    (entry,) = entries(db, "search.run")
    assert entry.outcome == "refused" and "identify" in json.loads(entry.details)["description"]


def test_understand_uses_the_force_cameras_and_rejects_empty_text(db: Session) -> None:
    make_camera(db, "PEN-01", location="Penrith Market Square")
    now = datetime(2026, 11, 22, 9, tzinfo=UTC)
    understood = understand(db, description="red top on Penrith cameras", zone=LONDON, now=now)
    assert understood.query.cameras == ["PEN-01"]
    with pytest.raises(InvalidInput, match="describe"):
        understand(db, description="   ", zone=LONDON)
    with pytest.raises(InvalidInput, match="limited"):
        understand(db, description="red " * 400, zone=LONDON)


def test_results_show_the_case_verdict(db: Session, settings: Settings) -> None:
    analysed_footage(db, settings)
    analyst = make_user(db, "investigator1", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER.case_ref))
    red = db.query(Track).filter(Track.upper_colours.like("red%")).one()
    yellow = db.query(Track).filter(Track.upper_colours.like("yellow%")).one()
    mark_track(db=db, user=analyst, context=CONTEXT, track_id=red.id, verdict="unsure", note="")
    mark_track(db=db, user=analyst, context=CONTEXT, track_id=red.id, verdict="confirmed", note="same bag")
    mine = run_search(db=db, user=analyst, context=CONTEXT, query=TrackQuery(classes=["person"]))
    assert {c.track_id: c.verdict for c in mine.cards} == {red.id: "confirmed", yellow.id: None}
    other = run_search(db=db, user=analyst, context=OTHER, query=TrackQuery(classes=["person"]))
    assert all(card.verdict is None for card in other.cards)


def test_saved_searches_round_trip_per_case(db: Session) -> None:
    analyst = make_user(db, "investigator1", trained_for=("analytics",), cases=(CONTEXT.case_ref, OTHER.case_ref))
    query = TrackQuery(upper_colours=["red"], carried=["backpack"], headings=["N"], limit=30)
    saved = save_search(db=db, user=analyst, context=CONTEXT, name="Red top, backpack", query=query, description="x")
    listed = list_saved_searches(db=db, user=analyst, context=CONTEXT)
    assert [s.name for s in listed] == ["Red top, backpack"]
    again, loaded = load_saved_search(db=db, user=analyst, context=CONTEXT, saved_id=saved.id)
    assert loaded == query and again.description == "x"
    assert list_saved_searches(db=db, user=analyst, context=OTHER) == []
    with pytest.raises(NotFound):
        load_saved_search(db=db, user=analyst, context=OTHER, saved_id=saved.id)
    with pytest.raises(Conflict, match="already has"):
        save_search(db=db, user=analyst, context=CONTEXT, name=" Red top,  backpack ", query=query)
    with pytest.raises(InvalidInput, match="name"):
        save_search(db=db, user=analyst, context=CONTEXT, name="  ", query=query)
    actions = [(e.action, e.case_ref) for e in entries(db, "search.save") + entries(db, "search.load")]
    assert actions == [("search.save", CONTEXT.case_ref), ("search.load", CONTEXT.case_ref)]
