from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.db.models import AuditEntry, Camera
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.cameras.register import set_camera_sensitivity


def _entries(db: Session, action: str) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_an_administrator_sets_and_clears_a_camera_sensitivity_with_an_audit_entry(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    camera = set_camera_sensitivity(
        db, actor=admin, code="pen-01", score_threshold=0.45, person_height_px=38.0, source="marks: 4 frames"
    )
    assert (camera.detect_score, camera.person_height_px) == (0.45, 38.0)
    set_camera_sensitivity(db, actor=admin, code="PEN-01", score_threshold=None, person_height_px=None)
    assert (camera.detect_score, camera.person_height_px) == (None, None)
    first, second = _entries(db, "camera.sensitivity")
    assert first.actor == "ada" and first.subject_id == "PEN-01"
    assert json.loads(first.details)["source"] == "marks: 4 frames"
    assert json.loads(second.details)["before"] == {"score": 0.45, "person_height_px": 38.0}


def test_an_investigator_cannot_change_a_camera_sensitivity_and_nothing_changes(db: Session) -> None:
    investigator = make_user(db, "ivy", "investigator")
    make_camera(db, "PEN-01")
    with pytest.raises(NotPermitted):
        set_camera_sensitivity(db, actor=investigator, code="PEN-01", score_threshold=0.1, person_height_px=None)
    camera = db.execute(select(Camera).where(Camera.code == "PEN-01")).scalar_one()
    assert camera.detect_score is None
    refusal = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    assert (refusal.actor, refusal.outcome) == ("ivy", "refused")


@pytest.mark.parametrize(
    ("score", "height", "error"),
    [
        (0.0, None, "between 0.05 and 0.95"),
        (1.5, None, "between 0.05 and 0.95"),
        (float("nan"), None, "between 0.05 and 0.95"),
        (None, 2.0, "between 4 and 4000"),
        (None, float("inf"), "between 4 and 4000"),
    ],
)
def test_impossible_sensitivities_are_refused_and_leave_the_camera_unchanged(
    db: Session, score: float | None, height: float | None, error: str
) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    set_camera_sensitivity(db, actor=admin, code="PEN-01", score_threshold=0.4, person_height_px=40.0)
    with pytest.raises(InvalidInput, match=error):
        set_camera_sensitivity(db, actor=admin, code="PEN-01", score_threshold=score, person_height_px=height)
    camera = db.execute(select(Camera).where(Camera.code == "PEN-01")).scalar_one()
    assert (camera.detect_score, camera.person_height_px) == (0.4, 40.0)
    assert len(_entries(db, "camera.sensitivity")) == 1
