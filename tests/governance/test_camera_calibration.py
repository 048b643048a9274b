from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.analysis.summary import Geometry
from vigil.db.models import AuditEntry
from vigil.domain.cameras import Calibration, CameraGeometry, Line, Zone
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.cameras.geometry import camera_geometry, set_camera_calibration, set_camera_zones

SCALE = [[0.02, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 1.0]]
SQUARE = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0))


def _last(db: Session) -> AuditEntry:
    return db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def test_calibration_is_stored_and_audited(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    camera = set_camera_calibration(db, actor=admin, code="pen-01", image_to_ground=SCALE, principal_point=(320, 240))
    assert json.loads(camera.calibration or "") == {"image_to_ground": SCALE, "principal_point": [320.0, 240.0]}
    assert camera_geometry(camera).calibration == Calibration.of(SCALE, (320.0, 240.0))
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
    camera = set_camera_zones(db, actor=admin, code="PEN-01", zones=[Zone(" doorway ", SQUARE)])
    assert camera_geometry(camera).zones == (Zone("doorway", SQUARE),)
    entry = _last(db)
    assert (entry.action, json.loads(entry.details)) == ("camera.zones", {"zones": ["doorway"], "lines": []})


@pytest.mark.parametrize(
    ("zones", "error"),
    [
        ([Zone("", SQUARE)], "1-40 characters"),
        ([Zone("x" * 41, SQUARE)], "1-40 characters"),
        ([Zone("door", SQUARE), Zone("door", SQUARE)], "used twice"),
        ([Zone("stationary", SQUARE)], "reserved"),
        ([Zone("door", SQUARE[:2])], "at least 3 points"),
        ([Zone("door", (*SQUARE[:2], (float("nan"), 1.0)))], "pixel coordinates between 0 and 100000"),
        ([Zone("door", (*SQUARE[:2], (-5.0, 1.0)))], "pixel coordinates between 0 and 100000"),
    ],
)
def test_zone_validation(db: Session, zones: list[Zone], error: str) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    with pytest.raises(InvalidInput, match=error):
        set_camera_zones(db, actor=admin, code="PEN-01", zones=zones)


def test_lines_are_kept_beside_zones_and_validated(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    make_camera(db, "PEN-01")
    line = Line("kerb", (10.0, 200.0), (300.0, 190.0), "left-to-right")
    camera = set_camera_zones(db, actor=admin, code="pen-01", zones=[Zone("doorway", SQUARE)], lines=[line])
    assert camera_geometry(camera) == CameraGeometry(zones=(Zone("doorway", SQUARE),), lines=(line,))
    set_camera_zones(db, actor=admin, code="PEN-01", zones=[])  # e.g. `vigil camera zone`: lines stay
    assert camera_geometry(camera) == CameraGeometry(lines=(line,))
    for bad, error in (
        (Line("kerb", (1.0, 1.0), (1.0, 1.0), "either"), "two different ends"),
        (Line("kerb", (1.0, 1.0), (2.0, float("inf")), "either"), "two ends"),
        (Line("kerb", (1.0, 1.0), (2.0, 2.0), "upwards"), "crossing direction"),  # type: ignore[arg-type]
        (Line("", (1.0, 1.0), (2.0, 2.0), "either"), "1-40 characters"),
    ):
        with pytest.raises(InvalidInput, match=error):
            set_camera_zones(db, actor=admin, code="PEN-01", zones=[], lines=[bad])
    assert camera_geometry(camera).lines == (line,)


def test_geometry_round_trips_through_its_stored_json() -> None:
    geometry = CameraGeometry(
        calibration=Calibration.of(SCALE, (320, 240)),
        zones=(Zone("doorway", SQUARE),),
        lines=(Line("kerb", (10.0, 200.0), (300.0, 190.0), "right-to-left"),),
    )
    stored = CameraGeometry.from_columns(geometry.calibration_json(), geometry.drawing_json())
    assert stored == geometry
    assert stored.calibration is not None and stored.calibration.matrix.shape == (3, 3)
    assert CameraGeometry.from_columns(None, "[]") == CameraGeometry()


def test_an_analysis_setup_carries_the_camera_geometry(db: Session) -> None:
    """What the analyser receives is the typed geometry the camera page stored, not its JSON text."""
    admin = make_user(db, "ada", "admin")
    camera = make_camera(db, "PEN-01")
    set_camera_calibration(db, actor=admin, code="PEN-01", image_to_ground=SCALE, principal_point=(320, 240))
    set_camera_zones(db, actor=admin, code="PEN-01", zones=[Zone("till", SQUARE)])
    geometry = Geometry.of(camera_geometry(camera))
    assert geometry.zones == (Zone("till", SQUARE),)
    assert geometry.image_to_ground is not None and geometry.image_to_ground[0, 0] == pytest.approx(0.02)
