from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.registry.builders import active_owner, camera
from tests.registry.smtp import Mailbox
from tests.support.builders import make_camera
from tests.support.registry_nearby import CONTEXT, LAT, LON, officer, offset
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.errors import InvalidInput, NotPermitted
from vigil.registry import geo
from vigil.registry.nearby import (
    NearQuery,
    bbox_within,
    cameras_near,
    postgis_schema,
    postgis_within,
    probably_retained,
)
from vigil.registry.owners import delete_registration
from vigil.settings import Settings


def query(radius: float = 250.0, hours_ago: float = 24.0) -> NearQuery:
    return NearQuery(LAT, LON, radius, utcnow() - timedelta(hours=hours_ago))


def test_cameras_within_the_radius_are_found_with_great_circle_distances(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    user = officer(db)
    near, edge, far = offset(100, 0), offset(0, -240), offset(300, 0)
    active_owner(db, settings, mailbox, cameras=[camera(*near), camera(*edge), camera(*far)])
    found = cameras_near(db, settings=settings, user=user, context=CONTEXT, query=query())
    registered = [c for c in found if c.source == "registered"]
    assert sorted(round(c.distance_m, 1) for c in registered) == [100.0, 240.0]
    for cam in registered:
        assert cam.distance_m == pytest.approx(geo.distance_m(LAT, LON, cam.latitude, cam.longitude), abs=0.01)


@pytest.mark.postgres
def test_postgis_and_the_bounding_box_agree(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    schema = postgis_schema(db)
    if schema is None:
        pytest.skip("runs on PostgreSQL with PostGIS (the SQLite run uses the bounding box only)")
    points = [offset(n, e) for n in range(-600, 601, 150) for e in range(-600, 601, 150)]
    for start in range(0, len(points), 20):
        active_owner(db, settings, mailbox, cameras=[camera(*p) for p in points[start : start + 20]])
    for radius in (100.0, 320.0, 500.0, 700.0, 1000.0):  # none within a metre of a camera (grid of 150 m)
        q = NearQuery(LAT, LON, radius, utcnow())
        by_index = {cam.id: metres for cam, metres in postgis_within(db, q, schema)}
        by_box = {cam.id: metres for cam, metres in bbox_within(db, q)}
        assert by_index.keys() == by_box.keys() and by_index
        for key, metres in by_index.items():
            assert metres == pytest.approx(by_box[key], abs=0.01)


def test_results_say_whether_the_camera_faces_the_point_and_still_has_the_footage(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    user = officer(db)
    west = offset(0, -100)  # 100 m west of the incident
    active_owner(
        db,
        settings,
        mailbox,
        cameras=[
            camera(*west, facing=90.0, days=30),  # faces east, towards the incident; keeps a month
            camera(*west, facing=270.0, days=30),  # faces away
            camera(*offset(0, -50), facing=None, days=3),  # nearer, facing unknown, keeps 3 days only
        ],
    )
    found = cameras_near(db, settings=settings, user=user, context=CONTEXT, query=query(hours_ago=24 * 5))
    summary = [(c.faces_point, c.probably_retained, round(c.distance_m)) for c in found if c.source == "registered"]
    # kept footage first, then facing the point, then nearest
    assert summary == [(True, True, 100), (False, True, 100), (None, False, 50)]


@pytest.mark.parametrize(
    ("days_ago", "retention_days", "expected"),
    [(1, 7, True), (6.9, 7, True), (7.1, 7, False), (30, 31, True), (40, 31, False)],
)
def test_footage_is_probably_retained_while_the_incident_is_younger_than_the_retention(
    days_ago: float, retention_days: int, expected: bool
) -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert probably_retained(now - timedelta(days=days_ago), retention_days, now) is expected


def test_force_cameras_appear_with_their_pia_status(db: Session, settings: Settings) -> None:
    user = officer(db)
    with_pia = make_camera(db, "PEN-01", pia_review=utcnow().date() + timedelta(days=100))
    without = make_camera(db, "PEN-02")
    for cam in (with_pia, without):
        cam.location.latitude, cam.location.longitude = offset(20, 20)
    cam_far = make_camera(db, "KES-01")
    cam_far.location.latitude, cam_far.location.longitude = 54.6013, -3.1347  # Keswick
    db.flush()
    found = [
        c for c in cameras_near(db, settings=settings, user=user, context=CONTEXT, query=query()) if c.source == "force"
    ]
    assert {(c.label.split()[0], c.pia) for c in found} == {("PEN-01", "PIA-PEN-01"), ("PEN-02", "")}


def test_contact_details_only_for_the_requests_capability_and_every_view_audited(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    owner, _ = active_owner(db, settings, mailbox, name="Pat Private", cameras=[camera(*offset(10, 10))])
    registry_only = officer(db, "rita", trained=("registry",))
    found = cameras_near(db, settings=settings, user=registry_only, context=CONTEXT, query=query())
    assert [c.contact for c in found if c.owner_id == owner.id] == [None]
    full = officer(db, "rory")
    found = cameras_near(db, settings=settings, user=full, context=CONTEXT, query=query())
    contact = next(c.contact for c in found if c.owner_id == owner.id)
    assert contact is not None and contact.name == "Pat Private" and contact.email == owner.email
    entries = db.execute(select(AuditEntry).where(AuditEntry.action.like("registry.%"))).scalars().all()
    views = [(e.actor, e.action, e.case_ref, e.purpose) for e in entries if e.actor in ("rita", "rory")]
    assert views == [
        ("rita", "registry.near", CONTEXT.case_ref, CONTEXT.purpose),
        ("rory", "registry.near", CONTEXT.case_ref, CONTEXT.purpose),
        ("rory", "registry.owner.view", CONTEXT.case_ref, CONTEXT.purpose),
    ]
    assert owner.id in json.loads(entries[-1].details)["registrations"]


def test_searching_needs_the_registry_capability_and_is_refused_otherwise(db: Session, settings: Settings) -> None:
    untrained = officer(db, "uma", trained=())
    with pytest.raises(NotPermitted, match="registry"):
        cameras_near(db, settings=settings, user=untrained, context=CONTEXT, query=query())
    refusal = db.execute(select(AuditEntry).where(AuditEntry.actor == "uma")).scalars().one()
    assert (refusal.action, refusal.outcome) == ("registry.near", "refused")


def test_deleted_and_unconfirmed_registrations_are_never_found(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    user = officer(db)
    owner, manage = active_owner(db, settings, mailbox, cameras=[camera(*offset(5, 5))])
    assert any(
        c.owner_id == owner.id for c in cameras_near(db, settings=settings, user=user, context=CONTEXT, query=query())
    )
    delete_registration(db, token=manage)
    assert not any(
        c.owner_id == owner.id for c in cameras_near(db, settings=settings, user=user, context=CONTEXT, query=query())
    )


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (NearQuery(91, 0, 100, utcnow()), "latitude"),
        (NearQuery(LAT, LON, 0, utcnow()), "radius"),
        (NearQuery(LAT, LON, 50_000, utcnow()), "radius"),
        (NearQuery(LAT, LON, 100, utcnow() + timedelta(days=1)), "future"),
    ],
)
def test_bad_searches_are_refused_with_a_clear_message(
    db: Session, settings: Settings, q: NearQuery, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        cameras_near(db, settings=settings, user=officer(db), context=CONTEXT, query=q)
