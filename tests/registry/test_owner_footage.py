"""Owner footage arrives ready to analyse under the requesting case (issue 10, item 4): the owner's consent plus
the case's authorisation stand in for a location PIA, only under that case; its recording time is correctable."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.footage.builders import make_video
from tests.registry.smtp import Mailbox
from tests.support.analysed import make_track
from tests.support.registry_requests import CONTEXT, officer, send_one
from tests.support.registry_uploads import send_file
from vigil.analysis.jobs import JobStatus, start_analysis
from vigil.analysis.review import footage_register
from vigil.analysis.timing import TIME_CORRECTED, correct_start_time
from vigil.db.models import AuditEntry, Footage, Track
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.governance.access import ensure_case
from vigil.governance.audit import AuditContext
from vigil.governance.locations import current_pia
from vigil.registry.uploads import CONSENT_BASIS, RECEIVED_UNDER_REQUEST
from vigil.settings import Settings


def owner_footage(db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path) -> Footage:
    sent = send_one(db, settings, mailbox, officer(db))
    stored = send_file(db, settings, sent.token, make_video(tmp_path / "doorbell.mp4", seconds=2))
    db.commit()
    return stored.footage


def last_audit(db: Session, action: str) -> AuditEntry:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq.desc()).limit(1)
    return db.execute(stmt).scalar_one()


def test_owner_footage_is_analysable_under_its_case_on_the_owner_s_consent_without_a_location_pia(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    footage = owner_footage(db, settings, mailbox, tmp_path)
    assert current_pia(footage.camera.location, footage.ingested_at.date()) is None  # the made-up site has none
    custody = [json.loads(e.details) for e in footage.custody if e.action == RECEIVED_UNDER_REQUEST]
    assert custody[-1]["analysis_basis"] == CONSENT_BASIS
    assert json.loads(last_audit(db, "requests.upload").details)["analysis_basis"] == CONSENT_BASIS
    [entry] = [e for e in footage_register(db, user=officer(db, "olive")).entries if e.footage.id == footage.id]
    assert entry.analysable and entry.why_not == ""
    job = start_analysis(db, user=officer(db, "oscar"), footage=footage)
    assert job.status == JobStatus.QUEUED
    assert json.loads(last_audit(db, "analysis.start").details)["basis"] == CONSENT_BASIS


def test_the_consent_basis_holds_only_while_the_footage_is_held_for_the_case_that_asked(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    footage = owner_footage(db, settings, mailbox, tmp_path)
    other = ensure_case(db, reference="CUM-2026-000999", user=officer(db, "oona"))
    footage.case_id = other.id
    db.commit()
    with pytest.raises(NotPermitted, match="only for the case that asked for it"):
        start_analysis(db, user=officer(db, "oscar"), footage=footage)
    refused = last_audit(db, "analysis.start")
    assert refused.outcome == "refused" and "only for the case" in refused.details
    [entry] = [e for e in footage_register(db, user=officer(db, "olive")).entries if e.footage.id == footage.id]
    assert not entry.analysable and "only for the case that asked for it" in entry.why_not


def test_an_investigator_of_the_case_corrects_the_recording_time_and_the_tracks_follow_audited(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    footage = owner_footage(db, settings, mailbox, tmp_path)
    track = make_track(db, footage, offset_s=1.0)
    db.commit()
    old_start, old_first = footage.start_time, track.first_seen
    new_start = old_start - timedelta(hours=1, minutes=7)
    user = officer(db, "ivy")
    correct_start_time(
        db,
        settings=settings,
        user=user,
        context=CONTEXT,
        footage_id=footage.id,
        start_time=new_start,
        reason="doorbell clock was an hour fast (owner's statement)",
    )
    db.commit()
    db.expire_all()
    track = db.get(Track, track.id)
    assert track is not None and footage.start_time == new_start and footage.start_time_source == "correction"
    assert track.first_seen == old_first - timedelta(hours=1, minutes=7)
    local = track.first_seen.astimezone(settings.zone)
    assert track.start_minute == local.hour * 60 + local.minute
    details = json.loads(last_audit(db, "footage.correct_time").details)
    assert details["old"] == old_start.isoformat() and details["new"] == new_start.isoformat()
    assert details["reason"] == "doorbell clock was an hour fast (owner's statement)"
    assert footage.custody[-1].action == TIME_CORRECTED


def test_the_recording_time_cannot_be_corrected_from_another_case_or_without_a_reason(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    footage = owner_footage(db, settings, mailbox, tmp_path)
    start, user = footage.start_time, officer(db, "ivy")
    db.commit()
    other = AuditContext("CUM-2026-000999", "another investigation")
    attempts = [
        (other, "clock wrong", NotFound, "holds no footage"),
        (CONTEXT, "  ", InvalidInput, "give the reason"),
    ]
    for context, reason, error, message in attempts:
        with pytest.raises(error, match=message):
            correct_start_time(
                db,
                settings=settings,
                user=user,
                context=context,
                footage_id=footage.id,
                start_time=start - timedelta(hours=1),
                reason=reason,
            )
        db.rollback()
        db.expire_all()
        assert db.get(Footage, footage.id).start_time == start  # type: ignore[union-attr]
    assert not db.execute(select(AuditEntry).where(AuditEntry.action == "footage.correct_time")).first()
