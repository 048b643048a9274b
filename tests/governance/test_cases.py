"""Cases as an access boundary (issue 10, F6): only a case's members, and supervisors (audited), reach its data.

The attack replayed: investigator bob, who is not a member of case A, states case A and asks for A's footage,
tracks, marks, exports, saved searches and footage requests (owners' emails). Each is refused, audited as a
refusal, and returns nothing; a supervisor opens cases and adds members, and removing a member ends their access
at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.analysed import analysed_footage
from tests.support.builders import make_case, make_user
from vigil.analysis.jobs import start_analysis
from vigil.analysis.review import footage_media, footage_register, view_footage, view_tracks
from vigil.db.models import AuditEntry, Case, CaseMember, EvidenceExport, Footage, ReviewMark, Track, User
from vigil.errors import Conflict, InvalidInput, NotPermitted
from vigil.governance.access import make_context, open_case
from vigil.governance.cases import (
    add_member,
    close_case,
    list_cases_for,
    open_case_record,
    remove_member,
)
from vigil.governance.roles import Capability
from vigil.search.export.service import create_export, download_export, export_candidates
from vigil.search.query.service import list_saved_searches, run_search, save_search
from vigil.search.query.track_query import TrackQuery
from vigil.search.review.marks import mark_track, review_track
from vigil.settings import Settings

A = make_context("CUM-2026-000100", "robbery at Market Square: trace the suspect")
B = make_context("CUM-2026-000200", "criminal damage on Devonshire Street at night")
SKILLS = ("analytics", "export", "registry", "requests", "retrospective_fr")


def refusals(db: Session, actor: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.actor == actor, AuditEntry.outcome == "refused").order_by(AuditEntry.seq)
    return list(db.execute(stmt).scalars())


def count(db: Session, table: type) -> int:
    return int(db.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def people(db: Session) -> dict[str, User]:
    sue = make_user(db, "sue", "supervisor", trained_for=SKILLS)
    ivy = make_user(db, "ivy", trained_for=SKILLS)
    bob = make_user(db, "bob", trained_for=SKILLS)
    make_case(db, A.case_ref, members=[ivy], opened_by=sue)
    make_case(db, B.case_ref, members=[bob], opened_by=sue)
    return {"sue": sue, "ivy": ivy, "bob": bob}


@pytest.fixture
def case_a(db: Session, settings: Settings, people: dict[str, User]) -> dict[str, int]:
    """Case A's footage (held for A), its tracks, ivy's confirming mark, an export and a saved search."""
    ivy = people["ivy"]
    footage = analysed_footage(db, settings, user=ivy)
    footage.case_id = db.execute(select(Case.id).where(Case.reference == A.case_ref)).scalar_one()
    db.flush()
    track = db.execute(select(Track).where(Track.footage_id == footage.id).order_by(Track.id)).scalars().first()
    assert track is not None
    mark_track(db=db, user=ivy, context=A, track_id=track.id, verdict="confirmed", note="the suspect")
    export = create_export(db=db, user=ivy, context=A, settings=settings)
    saved = save_search(db=db, user=ivy, context=A, name="red top", query=TrackQuery(classes=["person"]))
    return {"footage": footage.id, "track": track.id, "export": export.id, "saved": saved.id}


def test_a_non_member_stating_the_case_reaches_none_of_its_data(
    db: Session, settings: Settings, people: dict[str, User], case_a: dict[str, int]
) -> None:
    bob = people["bob"]
    before = (count(db, ReviewMark), count(db, EvidenceExport))
    attempts = {
        "search.run": lambda: run_search(db=db, user=bob, context=A, query=TrackQuery()),
        "track.review": lambda: review_track(db, user=bob, context=A, track_id=case_a["track"]),
        "review.mark": lambda: mark_track(
            db=db, user=bob, context=A, track_id=case_a["track"], verdict="rejected", note=""
        ),
        "tracks.view": lambda: view_tracks(db, user=bob, footage_id=case_a["footage"], context=A),
        "footage.view": lambda: view_footage(db, user=bob, footage_id=case_a["footage"], context=A),
        "export.list": lambda: export_candidates(db, user=bob, context=A),
        "export.download": lambda: download_export(
            db, user=bob, context=A, settings=settings, export_id=case_a["export"]
        ),
        "search.list": lambda: list_saved_searches(db=db, user=bob, context=A),
        "case.access": lambda: open_case(db, user=bob, capability=Capability.ANALYTICS, context=A),
    }
    for action, attempt in attempts.items():
        with pytest.raises(NotPermitted, match=f"not a member of case {A.case_ref}"):
            attempt()
        last = refusals(db, "bob")[-1]
        assert (last.action, last.case_ref) == (action, A.case_ref), action
    assert (count(db, ReviewMark), count(db, EvidenceExport)) == before  # nothing written


def test_a_member_of_another_case_cannot_reach_footage_held_for_case_a_through_their_own_case(
    db: Session, settings: Settings, people: dict[str, User], case_a: dict[str, int]
) -> None:
    bob, held = people["bob"], db.get(Footage, case_a["footage"])
    assert held is not None
    with pytest.raises(NotPermitted, match=f"footage {case_a['footage']} is held for another case"):
        footage_media(db, settings=settings, user=bob, footage_id=case_a["footage"], context=B)
    with pytest.raises(NotPermitted, match=f"track {case_a['track']} is held for another case"):
        mark_track(db=db, user=bob, context=B, track_id=case_a["track"], verdict="confirmed", note="")
    assert run_search(db=db, user=bob, context=B, query=TrackQuery()).cards == []  # A's tracks are not found
    with pytest.raises(NotPermitted, match=f"footage {case_a['footage']} is held for a case you are not a member of"):
        start_analysis(db, user=bob, footage=held, force=True, context=B)  # a forced re-run under his own case
    assert db.get(Track, case_a["track"]) is not None
    assert [e.action for e in refusals(db, "bob")] == ["footage.view", "review.mark", "analysis.start"]
    listed = footage_register(db, user=bob).entries
    assert case_a["footage"] not in [s.footage.id for s in listed]  # nor listed
    ivy_listed = footage_register(db, user=people["ivy"]).entries
    assert case_a["footage"] in [s.footage.id for s in ivy_listed]


def test_an_unknown_case_is_refused_and_not_created(db: Session, people: dict[str, User]) -> None:
    made_up = make_context("CUM-2026-999999", "a case nobody opened in vigil")
    with pytest.raises(NotPermitted, match="there is no case CUM-2026-999999"):
        run_search(db=db, user=people["ivy"], context=made_up, query=TrackQuery())
    assert db.execute(select(Case).where(Case.reference == made_up.case_ref)).scalar_one_or_none() is None
    assert refusals(db, "ivy")[-1].case_ref == made_up.case_ref


def test_an_investigator_cannot_open_a_case_or_add_members(db: Session, people: dict[str, User]) -> None:
    bob = people["bob"]
    with pytest.raises(NotPermitted, match="investigator role may not manage cases"):
        open_case_record(db=db, actor=bob, reference="CUM-2026-000300", title="bob's own case")
    with pytest.raises(NotPermitted, match="investigator role may not manage cases"):
        add_member(db=db, actor=bob, reference=A.case_ref, username="bob")
    assert db.execute(select(Case).where(Case.reference == "CUM-2026-000300")).scalar_one_or_none() is None
    assert [e.action for e in refusals(db, "bob")] == ["case.open", "case.member.add"]
    assert A.case_ref not in [c.reference for c in list_cases_for(db=db, user=bob)]


def test_a_supervisor_adds_bob_who_then_can_and_removing_him_cuts_access_at_once(
    db: Session, settings: Settings, people: dict[str, User], case_a: dict[str, int]
) -> None:
    sue, bob = people["sue"], people["bob"]
    add_member(db=db, actor=sue, reference=A.case_ref, username="bob")
    assert [c.reference for c in list_cases_for(db=db, user=bob)] == [B.case_ref, A.case_ref]
    row, path = download_export(db, user=bob, context=A, settings=settings, export_id=case_a["export"])
    assert row.id == case_a["export"] and Path(path).is_file()
    remove_member(db=db, actor=sue, reference=A.case_ref, username="bob")
    with pytest.raises(NotPermitted, match="not a member"):
        download_export(db, user=bob, context=A, settings=settings, export_id=case_a["export"])
    actions = [
        (e.action, json.loads(e.details).get("member"))
        for e in db.execute(select(AuditEntry).where(AuditEntry.action.like("case.member.%"))).scalars()
    ]
    assert actions == [("case.member.add", "bob"), ("case.member.remove", "bob")]
    membership = db.execute(select(CaseMember).where(CaseMember.user_id == bob.id)).scalars().all()
    assert sorted(m.removed_at is None for m in membership) == [False, True]  # kept, ended: history stays


def test_a_supervisor_reaches_any_case_audited_as_an_override(
    db: Session, people: dict[str, User], case_a: dict[str, int]
) -> None:
    sue = people["sue"]
    candidates = export_candidates(db, user=sue, context=A)
    assert [e.id for e in candidates.exports] == [case_a["export"]]
    override = db.execute(select(AuditEntry).where(AuditEntry.action == "case.supervisor_override")).scalars().one()
    assert (override.actor, override.case_ref, json.loads(override.details)["for"]) == (
        "sue",
        A.case_ref,
        "export.list",
    )


def test_cases_are_opened_validated_and_closed_by_a_supervisor(db: Session, people: dict[str, User]) -> None:
    sue, ivy = people["sue"], people["ivy"]
    case = open_case_record(db=db, actor=sue, reference=" CUM-2026-000300 ", title="  Theft   from a car ")
    assert (case.reference, case.title, case.status) == ("CUM-2026-000300", "Theft from a car", "open")
    with pytest.raises(Conflict, match="already open"):
        open_case_record(db=db, actor=sue, reference="CUM-2026-000300", title="again")
    with pytest.raises(InvalidInput, match="must be 2-64"):
        open_case_record(db=db, actor=sue, reference="../etc", title="bad")
    with pytest.raises(InvalidInput, match="title"):
        open_case_record(db=db, actor=sue, reference="CUM-2026-000301", title="   ")
    make_user(db, "aud", "auditor")
    with pytest.raises(InvalidInput, match="cannot work on cases"):
        add_member(db=db, actor=sue, reference="CUM-2026-000300", username="aud")
    close_case(db=db, actor=sue, reference=A.case_ref)
    with pytest.raises(NotPermitted, match=f"case {A.case_ref} is closed"):
        export_candidates(db, user=ivy, context=A)
    assert A.case_ref not in [c.reference for c in list_cases_for(db=db, user=ivy)]
    opened = [e.subject_id for e in db.execute(select(AuditEntry).where(AuditEntry.action == "case.open")).scalars()]
    assert opened == ["CUM-2026-000300"]


def test_footage_held_for_a_case_lists_only_for_its_members(
    db: Session, settings: Settings, people: dict[str, User], case_a: dict[str, int]
) -> None:
    held = db.get(Footage, case_a["footage"])
    assert held is not None and held.case is not None and held.case.reference == A.case_ref
    register = footage_register(db, user=people["bob"])
    assert all(s.footage.case is None or s.footage.case.reference != A.case_ref for s in register.entries)
    assert register.total == len(register.entries)
