from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.registry.builders import active_owner, camera
from tests.registry.smtp import Mailbox
from tests.support.builders import make_camera, make_user
from tests.support.registry_cameras import CSV
from vigil.db.base import utcnow
from vigil.db.models import Camera
from vigil.errors import Conflict, InvalidInput, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.registry.cameras import export_geojson, import_cameras, map_markers, parse_csv, parse_geojson
from vigil.settings import Settings


def test_csv_import_adds_cameras_and_their_locations_and_the_export_round_trips(db: Session) -> None:
    admin = make_user(db, "ada", role="admin")
    assert import_cameras(db, user=admin, rows=parse_csv(CSV)) == 3
    collection = export_geojson(db, user=admin)
    by_code = {f["properties"]["code"]: f for f in collection["features"]}
    assert set(by_code) >= {"PEN-10", "PEN-11", "KES-01"}
    assert by_code["KES-01"]["geometry"]["coordinates"] == [-3.1347, 54.6013]
    assert by_code["PEN-10"]["properties"]["bearing"] == 90.0 and by_code["PEN-11"]["properties"]["bearing"] is None
    assert by_code["PEN-10"]["properties"]["pia"] is None  # no PIA recorded yet
    again = parse_geojson(json.dumps(collection))
    assert {(r.code, r.location, r.latitude, r.longitude) for r in again} >= {
        ("KES-01", "Keswick Market Place", 54.6013, -3.1347)
    }


def test_the_export_shows_each_camera_s_pia(db: Session) -> None:
    admin = make_user(db, "ada", role="admin")
    make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=30))
    [feature] = [f for f in export_geojson(db, user=admin)["features"] if f["properties"]["code"] == "PEN-01"]
    assert feature["properties"]["pia"] == "PIA-PEN-01"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("code,name\nX,Y\n", "needs the columns"),
        ("code,name,location,latitude,longitude\n,a,b,1,2\n", "row 2: the camera code is missing"),
        ("code,name,location,latitude,longitude\nA,a,b,north,2\n", "row 2: latitude must be a number"),
        ("code,name,location,latitude,longitude\nA,a,b,1,2\na,c,d,1,2\n", "appear twice in the file: A"),
        ("code,name,location,latitude,longitude\n", "holds no cameras"),
    ],
)
def test_bad_csv_files_are_refused_with_the_row(content: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_csv(content)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"type": "Feature"}', "must be a FeatureCollection"),
        ('{"type": "FeatureCollection", "features": [{"geometry": {"type": "LineString"}}]}', "only Point"),
    ],
)
def test_bad_geojson_is_refused(content: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_geojson(content)


def test_a_file_with_a_bad_row_is_refused_before_anything_is_added(db: Session) -> None:
    admin = make_user(db, "ada", role="admin")
    with pytest.raises(InvalidInput, match="row 5: latitude must be between -90 and 90"):
        import_cameras(db, user=admin, rows=parse_csv(CSV + "pen-12,Far,Nowhere,95,0,\n"))
    with pytest.raises(InvalidInput, match="row 5: bearing must be in degrees"):
        parse_csv(CSV + "pen-12,Far,Nowhere,54,-3,400\n")
    assert db.execute(select(Camera).where(Camera.code == "PEN-10")).first() is None
    import_cameras(db, user=admin, rows=parse_csv(CSV))
    with pytest.raises(Conflict, match="already exists"):
        import_cameras(db, user=admin, rows=parse_csv(CSV))


def test_importing_needs_the_manage_locations_permission(db: Session) -> None:
    with pytest.raises(NotPermitted):
        import_cameras(db, user=make_user(db, "ivy"), rows=parse_csv(CSV))


def test_the_map_shows_registered_and_force_cameras_without_personal_details(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    officer = make_user(db, "olly", trained_for=("registry",), cases=("CUM-2026-000417",))
    owner, _ = active_owner(db, settings, mailbox, name="Mo Marker", cameras=[camera(facing=None, kind="dashcam")])
    make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=30))
    context = AuditContext("CUM-2026-000417", "look at the cameras around the incident on the map")
    markers = map_markers(db, user=officer, context=context)
    mine = [m for m in markers if m["source"] == "registered" and m["kind"] == "dashcam"]
    assert mine and mine[0]["facing"] is None
    assert any(m["source"] == "force" and m["pia"] == "PIA-PEN-01" for m in markers)
    assert "Mo Marker" not in json.dumps(markers) and owner.email not in json.dumps(markers)
