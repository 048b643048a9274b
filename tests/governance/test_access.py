from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, Case
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.access import authorise, make_context
from vigil.governance.cameras.register import camera_statuses
from vigil.governance.locations import require_current_pia
from vigil.governance.roles import Capability


def _last(db: Session) -> AuditEntry:
    return db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def test_trained_investigator_is_authorised_for_a_case_they_are_a_member_of(db: Session) -> None:
    user = make_user(db, "ivy", "investigator", trained_for=("analytics",), cases=("CUM-2026-0001",))
    context = make_context("CUM-2026-0001", "robbery at Market Square")
    authorise(db, user=user, capability=Capability.ANALYTICS, action="search.run", context=context)
    unknown = make_context("CUM-2026-0003", "robbery at Market Square")
    with pytest.raises(NotPermitted, match="there is no case CUM-2026-0003"):
        authorise(db, user=user, capability=Capability.ANALYTICS, action="search.run", context=unknown)
    assert db.execute(select(Case).where(Case.reference == "CUM-2026-0003")).scalar_one_or_none() is None
    assert (_last(db).outcome, _last(db).case_ref) == ("refused", "CUM-2026-0003")


def test_untrained_user_is_refused_and_audited(db: Session) -> None:
    user = make_user(db, "una", "investigator")
    context = make_context("CUM-2026-0002", "burglary inquiry")
    with pytest.raises(NotPermitted, match="no current training"):
        authorise(db, user=user, capability=Capability.ANALYTICS, action="search.run", context=context)
    entry = _last(db)
    assert (entry.actor, entry.action, entry.outcome, entry.capability) == ("una", "search.run", "refused", "analytics")
    assert entry.case_ref == "CUM-2026-0002"


def test_expired_training_is_refused(db: Session) -> None:
    user = make_user(db, "old", "investigator", trained_for=("analytics",))
    later = utcnow() + timedelta(days=400)
    with pytest.raises(NotPermitted, match="no current training"):
        authorise(
            db,
            user=user,
            capability=Capability.ANALYTICS,
            action="search.run",
            context=make_context("C-1", "a real inquiry"),
            now=later,
        )


def test_role_without_capability_is_refused_even_if_trained(db: Session) -> None:
    user = make_user(db, "aud", "auditor", trained_for=("analytics",))
    with pytest.raises(NotPermitted, match="auditor role does not grant"):
        authorise(
            db,
            user=user,
            capability=Capability.ANALYTICS,
            action="search.run",
            context=make_context("C-1", "a real inquiry"),
        )
    assert _last(db).outcome == "refused"


def test_missing_purpose_is_refused_and_audited(db: Session) -> None:
    user = make_user(db, "ivy", "investigator", trained_for=("analytics",))
    with pytest.raises(NotPermitted, match="purpose and case reference are required"):
        authorise(db, user=user, capability=Capability.ANALYTICS, action="footage.view", context=None)
    assert (_last(db).action, _last(db).outcome) == ("footage.view", "refused")


@pytest.mark.parametrize(
    ("case_ref", "purpose", "error"),
    [
        ("", "robbery inquiry", "case reference is required"),
        ("CUM-1", "", "at least 10 characters"),
        ("CUM-1", "   short  ", "at least 10 characters"),
        ("../etc", "robbery inquiry", "must be 2-64"),
        ("X" * 65, "robbery inquiry", "must be 2-64"),
        ("CUM 1", "robbery inquiry", "must be 2-64"),
    ],
)
def test_context_validation(case_ref: str, purpose: str, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        make_context(case_ref, purpose)


def test_camera_without_current_pia_is_refused(db: Session) -> None:
    user = make_user(db, "ivy", "investigator", trained_for=("analytics",))
    today = utcnow().date()
    good = make_camera(db, "PEN-01", pia_review=today + timedelta(days=30))
    lapsed = make_camera(db, "PEN-02", pia_review=today - timedelta(days=1))
    none = make_camera(db, "PEN-03")
    require_current_pia(db, camera=good, user=user, action="analysis.start", today=today)
    for camera in (lapsed, none):
        with pytest.raises(NotPermitted, match=f"camera {camera.code} .* no current Privacy Impact"):
            require_current_pia(db, camera=camera, user=user, action="analysis.start", today=today)
    lacking = [s.camera.code for s in camera_statuses(db, today=today, only_lacking_pia=True)]
    assert lacking == ["PEN-02", "PEN-03"]
