"""Editing and retiring locations and cameras: audited old -> new, history kept, no orphaned active cameras."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.db.models import AuditEntry
from vigil.errors import Conflict, InvalidInput, NotPermitted
from vigil.governance.cameras.register import add_camera
from vigil.governance.locations import add_location
from vigil.governance.sites import edit_camera, edit_location, set_camera_active, set_location_active


def _last(db: Session) -> AuditEntry:
    return db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def test_edit_location_records_old_and_new_values(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    site = add_location(db, actor=admin, name="Market Sq", address="", latitude=54.0, longitude=-2.0)
    edit_location(
        db, actor=admin, location_id=site.id, name="Market Square", address="Penrith", latitude=54.0, longitude=-2.0
    )
    assert (site.name, site.address) == ("Market Square", "Penrith")
    assert json.loads(_last(db).details) == {
        "name": {"old": "Market Sq", "new": "Market Square"},
        "address": {"old": "", "new": "Penrith"},
    }


@pytest.mark.parametrize(
    ("name", "lat", "lon", "error", "message"),
    [
        ("", None, None, InvalidInput, "name is required"),
        ("Other", None, None, Conflict, "already exists"),
        ("Market", 91.0, 0.0, InvalidInput, "latitude"),
        ("Market", 1.0, None, InvalidInput, "both latitude and longitude"),
        ("Market", None, None, InvalidInput, "nothing to change"),
    ],
)
def test_bad_location_edits_change_nothing(
    db: Session, name: str, lat: float | None, lon: float | None, error: type[Exception], message: str
) -> None:
    admin = make_user(db, "ada", "admin")
    site = add_location(db, actor=admin, name="Market")
    add_location(db, actor=admin, name="Other")
    with pytest.raises(error, match=message):
        edit_location(db, actor=admin, location_id=site.id, name=name, address="", latitude=lat, longitude=lon)
    db.refresh(site)
    assert (site.name, site.latitude) == ("Market", None)


def test_a_location_retires_only_after_its_cameras_and_then_takes_no_new_camera(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    camera = make_camera(db, "PEN-01", location="Market")
    site = camera.location
    with pytest.raises(InvalidInput, match="PEN-01 still active"):
        set_location_active(db, actor=admin, location_id=site.id, active=False)
    assert site.is_active
    set_camera_active(db, actor=admin, code="pen-01", active=False)
    assert (_last(db).action, _last(db).subject_id) == ("camera.retire", "PEN-01")
    set_location_active(db, actor=admin, location_id=site.id, active=False)
    assert not site.is_active and site.cameras == [camera]  # history kept
    with pytest.raises(InvalidInput, match="retired"):
        add_camera(db, actor=admin, code="PEN-02", name="", location_id=site.id)
    with pytest.raises(InvalidInput, match="move the camera first"):
        set_camera_active(db, actor=admin, code="PEN-01", active=True)


def test_edit_camera_moves_it_renames_it_and_refuses_a_retired_location(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    camera = make_camera(db, "PEN-01", location="Market")
    old_site = camera.location
    new_site = add_location(db, actor=admin, name="Bus station")
    edit_camera(db, actor=admin, code="pen-01", name="Bus stop east", location_id=new_site.id, bearing_deg=90.0)
    assert (camera.name, camera.location_id, camera.bearing_deg) == ("Bus stop east", new_site.id, 90.0)
    assert json.loads(_last(db).details)["location"] == {"old": "Market", "new": "Bus station"}
    set_location_active(db, actor=admin, location_id=old_site.id, active=False)
    with pytest.raises(InvalidInput, match="is retired"):
        edit_camera(db, actor=admin, code="PEN-01", name="x", location_id=old_site.id, bearing_deg=None)
    with pytest.raises(InvalidInput, match="bearing"):
        edit_camera(db, actor=admin, code="PEN-01", name="x", location_id=new_site.id, bearing_deg=400.0)
    assert camera.location_id == new_site.id and camera.name == "Bus stop east"


def test_investigators_cannot_edit_or_retire(db: Session) -> None:
    make_camera(db, "PEN-01")
    ivy = make_user(db, "ivy", "investigator")
    with pytest.raises(NotPermitted):
        set_camera_active(db, actor=ivy, code="PEN-01", active=False)
    assert (_last(db).actor, _last(db).outcome) == ("ivy", "refused")
