from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.db.models import AuditEntry
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.locations import camera_lines, camera_zones, set_camera_calibration, set_camera_zones

SCALE = [[0.02, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 1.0]]
SQUARE = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]


def _last(db: Session) -> AuditEntry:
    return db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def test_calibration_is_stored_and_audited(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    camera = set_camera_calibration(db, actor=admin, code="pen-01", image_to_ground=SCALE, principal_point=(320, 240))
    assert json.loads(camera.calibration or "") == {"image_to_ground": SCALE, "principal_point": [320.0, 240.0]}
    entry = _last(db)
    assert (entry.actor, entry.action, entry.subject_id) == ("ada", "camera.calibrate", "PEN-01")


@pytest.mark.parametrize(
    ("matrix", "point", "error"),
    [
        ([[1.0, 0.0], [0.0, 1.0]], (0.0, 0.0), "must be 3x3"),
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0]], (0.0, 0.0), "must be 3x3"),
        ([[1.0, 0.0, 0.0], [0.0, float("nan"), 0.0], [0.0, 0.0, 1.0]], (0.0, 0.0), "finite"),
        ([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]], (0.0, 0.0), "invertible"),
        ([[0.0] * 3] * 3, (0.0, 0.0), "invertible"),
        (SCALE, (float("inf"), 0.0), "principal point"),
    ],
)
def test_calibration_validation(db: Session, matrix: list[list[float]], point: tuple[float, float], error: str) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    with pytest.raises(InvalidInput, match=error):
        set_camera_calibration(db, actor=admin, code="PEN-01", image_to_ground=matrix, principal_point=point)


def test_calibration_needs_manage_locations(db: Session) -> None:
    investigator = make_user(db, "ivy", "investigator")
    make_camera(db, "PEN-01")
    with pytest.raises(NotPermitted):
        set_camera_calibration(db, actor=investigator, code="PEN-01", image_to_ground=SCALE, principal_point=(0, 0))


def test_zones_are_stored_and_audited(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    camera = set_camera_zones(db, actor=admin, code="PEN-01", zones=[(" doorway ", SQUARE)])
    assert camera_zones(camera) == [("doorway", SQUARE)]
    entry = _last(db)
    assert (entry.action, json.loads(entry.details)) == ("camera.zones", {"zones": ["doorway"], "lines": []})


@pytest.mark.parametrize(
    ("zones", "error"),
    [
        ([("", SQUARE)], "1-40 characters"),
        ([("x" * 41, SQUARE)], "1-40 characters"),
        ([("door", SQUARE), ("door", SQUARE)], "used twice"),
        ([("stationary", SQUARE)], "reserved"),
        ([("door", SQUARE[:2])], "at least 3 points"),
        ([("door", [*SQUARE[:2], (float("nan"), 1.0)])], "pixel coordinates between 0 and 100000"),
        ([("door", [*SQUARE[:2], (-5.0, 1.0)])], "pixel coordinates between 0 and 100000"),
    ],
)
def test_zone_validation(db: Session, zones: list[tuple[str, list[tuple[float, float]]]], error: str) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    with pytest.raises(InvalidInput, match=error):
        set_camera_zones(db, actor=admin, code="PEN-01", zones=zones)


def test_lines_are_kept_beside_zones_and_validated(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    line = ("kerb", (10.0, 200.0), (300.0, 190.0), "left-to-right")
    camera = set_camera_zones(db, actor=admin, code="pen-01", zones=[("doorway", SQUARE)], lines=[line])
    assert camera_lines(camera) == [line] and camera_zones(camera) == [("doorway", SQUARE)]
    set_camera_zones(db, actor=admin, code="PEN-01", zones=[])  # e.g. `vigil camera zone`: lines stay
    assert camera_lines(camera) == [line] and camera_zones(camera) == []
    for bad, error in (
        (("kerb", (1.0, 1.0), (1.0, 1.0), "either"), "two different ends"),
        (("kerb", (1.0, 1.0), (2.0, float("inf")), "either"), "two ends"),
        (("kerb", (1.0, 1.0), (2.0, 2.0), "upwards"), "crossing direction"),
        (("", (1.0, 1.0), (2.0, 2.0), "either"), "1-40 characters"),
    ):
        with pytest.raises(InvalidInput, match=error):
            set_camera_zones(db, actor=admin, code="PEN-01", zones=[], lines=[bad])
    assert camera_lines(camera) == [line]
