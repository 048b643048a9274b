from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.registry.builders import active_owner, camera
from tests.registry.smtp import Mailbox
from tests.support.builders import PASSWORD, make_user
from tests.support.registry_nearby import CONTEXT, officer, offset
from tests.support.webapp import chromium, seed, serve
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.errors import InvalidInput
from vigil.registry import geo
from vigil.registry.area import AreaQuery, cameras_in_area, centroid, contains, distance_to_area
from vigil.settings import Settings
from vigil.web.app import create_app

# a 200 m square centred on Market Square
SQUARE = (offset(-100, -100), offset(-100, 100), offset(100, 100), offset(100, -100))


def area(vertices: tuple[tuple[float, float], ...] = SQUARE, radius: float = 150.0) -> AreaQuery:
    return AreaQuery(vertices, radius, utcnow() - timedelta(hours=24))


def test_the_geometry_is_right_for_a_square() -> None:
    assert contains(SQUARE, *offset(50, -50))
    assert not contains(SQUARE, *offset(150, 0))
    assert distance_to_area(SQUARE, *offset(0, 0)) == 0.0
    assert distance_to_area(SQUARE, *offset(0, 220)) == pytest.approx(120.0, abs=0.1)
    middle = centroid(SQUARE)
    assert geo.distance_m(*middle, *offset(0, 0)) < 0.1


def test_cameras_inside_the_area_and_within_the_radius_of_its_edge_are_found(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    user = officer(db)
    inside_a, inside_b, beside, corner, far = (
        offset(50, 50),
        offset(-90, -20),
        offset(0, 220),
        offset(200, 200),
        offset(0, 400),
    )
    cams = [camera(*p) for p in (inside_a, inside_b, beside, corner, far)]
    active_owner(db, settings, mailbox, cameras=cams)
    found = cameras_in_area(db, settings=settings, user=user, context=CONTEXT, query=area())
    by_place = {(round(c.latitude, 7), round(c.longitude, 7)): c.distance_m for c in found if c.source == "registered"}
    assert by_place[tuple(round(v, 7) for v in inside_a)] == 0.0
    assert by_place[tuple(round(v, 7) for v in inside_b)] == 0.0
    assert by_place[tuple(round(v, 7) for v in beside)] == pytest.approx(120.0, abs=0.1)
    # the corner camera is 141 m from the nearest corner: within 150 m of the edge
    assert by_place[tuple(round(v, 7) for v in corner)] == pytest.approx(141.4, abs=0.2)
    assert tuple(round(v, 7) for v in far) not in by_place
    assert len(by_place) == 4
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "registry.near")).scalars().one()
    details = json.loads(entry.details)
    assert details["polygon"] == [[round(lat, 6), round(lon, 6)] for lat, lon in SQUARE]
    assert details["radius_m"] == 150.0
    assert details["results"] == len(found)


def test_a_zero_radius_finds_only_cameras_inside(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    user = officer(db)
    active_owner(db, settings, mailbox, cameras=[camera(*offset(10, 10)), camera(*offset(0, 120))])
    found = cameras_in_area(db, settings=settings, user=user, context=CONTEXT, query=area(radius=0.0))
    assert [c.distance_m for c in found if c.source == "registered"] == [0.0]


@pytest.mark.parametrize(
    ("vertices", "message"),
    [
        (SQUARE[:2], "3 to 50 corners"),
        ((*SQUARE, (91.0, 0.0)), "corner 5: latitude"),
        ((offset(0, 0), offset(10, 10), offset(20, 20)), "on one line"),
        ((SQUARE[0], SQUARE[2], SQUARE[1], SQUARE[3]), "cross"),
        ((SQUARE[0], (float("nan"), 0.0), SQUARE[2]), "corner 2"),
        ((SQUARE[0], (SQUARE[1][0], SQUARE[1][1] + 3), SQUARE[2]), "span"),
    ],
)
def test_bad_areas_are_refused_with_a_clear_message(
    db: Session, settings: Settings, vertices: tuple[tuple[float, float], ...], message: str
) -> None:
    user = officer(db)
    with pytest.raises(InvalidInput, match=message):
        cameras_in_area(db, settings=settings, user=user, context=CONTEXT, query=area(vertices))


def test_a_negative_radius_is_refused(db: Session, settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="radius"):
        cameras_in_area(db, settings=settings, user=officer(db), context=CONTEXT, query=area(radius=-1.0))


@pytest.mark.browser
def test_an_officer_draws_an_area_on_the_map_and_it_is_searched(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed(app, lambda db: make_user(db, "olly", trained_for=("registry", "requests"), cases=(CONTEXT.case_ref,)))
    with serve(app) as base, chromium() as browser:
        page = browser.new_context().new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("olly")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Camera registry").click()
        page.get_by_label("Case reference").select_option(CONTEXT.case_ref)
        page.get_by_label("Purpose").fill(CONTEXT.purpose)
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Draw area").click()
        for x, y in ((200, 150), (300, 150), (300, 250), (200, 250)):
            page.locator("#registry-map").click(position={"x": x, "y": y})
        expect(page.locator("#area-status")).to_contain_text("4 corners")
        page.get_by_role("button", name="Finish").click()
        corners = json.loads(page.locator("#near-area").input_value())
        assert len(corners) == 4 and corners[0][0] > corners[2][0] and corners[0][1] < corners[2][1]
        assert page.get_by_label("Incident latitude").input_value() == ""  # drawing did not set the point
        page.get_by_label("Radius (metres)").fill("0")
        page.get_by_label("Incident time (local)").fill((utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_role("button", name="Find cameras").click()
        expect(page.locator("#near-results")).to_contain_text("0 cameras within 0 m")
        assert json.loads(page.locator("#near-area").input_value()) == corners
        page.get_by_role("button", name="Clear").click()
        assert page.locator("#near-area").input_value() == ""
        assert problems == [], problems
