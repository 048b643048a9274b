"""The offline base map (issue 10, item 3): with no tile server configured the registry maps draw land and place
names from data shipped with vigil (served by vigil, gzip, cached), under the markers and out of the clicks' way."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.registry.builders import PENRITH, active_owner
from tests.registry.smtp import smtp_server
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.web.app import create_app

TIMEOUT_MS = 20_000


def test_the_base_map_layers_are_served_without_login_gzipped_and_cacheable(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    with TestClient(app) as client:
        land = client.get("/static/basemap/land.geojson", headers={"Accept-Encoding": "gzip"})
        assert land.status_code == 200 and land.headers["content-encoding"] == "gzip"
        assert land.headers["content-type"] == "application/geo+json"
        assert "max-age" in land.headers["cache-control"]
        collection = land.json()  # (the client undoes the gzip)
        assert collection["type"] == "FeatureCollection" and collection["features"][0]["geometry"]["coordinates"]
        again = client.get("/static/basemap/land.geojson", headers={"If-None-Match": land.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        places = client.get("/static/basemap/places.geojson").json()["features"]
        penrith = [p for p in places if p["properties"]["name"] == "Penrith"]
        assert penrith and abs(penrith[0]["geometry"]["coordinates"][1] - PENRITH[0]) < 0.01
        assert client.get("/static/basemap/secrets.geojson").status_code == 404
        plain = client.get("/static/basemap/places.geojson", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and json.loads(plain.content)["features"]
        assert len(gzip.compress(plain.content)) < len(plain.content) / 3


@pytest.mark.browser
def test_with_no_tile_server_the_maps_draw_land_and_places_and_a_click_places_the_camera(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with smtp_server() as mailbox:
        settings = make_settings(tmp_path / "data", mail={"port": mailbox.port})
        assert settings.registry.tile_url == ""  # the default: no tile server
        app = create_app(settings)

        def people(db: Session) -> None:
            make_user(db, "olly", trained_for=("registry", "requests"), cases=("CUM-2026-000417",))
            active_owner(db, settings, mailbox)

        seed(app, people)
        with serve(app) as base, chromium() as browser:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(base + "/register")
            picker = page.locator("#registry-picker")
            expect(picker).to_have_attribute("data-basemap-loaded", "land,places", timeout=TIMEOUT_MS)
            assert picker.locator(".leaflet-basemap-pane path").count() >= 1  # the land, drawn as SVG
            picker.click(position={"x": 200, "y": 150})
            expect(page.get_by_label("Camera 1 latitude")).to_have_value(re.compile(r"^5\d\.\d{6}$"))
            expect(page.get_by_label("Camera 1 longitude")).to_have_value(re.compile(r"^-?\d+\.\d{6}$"))
            expect(picker.locator(".leaflet-overlay-pane path")).to_have_count(1)  # the camera's pin
            page.screenshot(path="/tmp/vigil-registry-offline-map.png", full_page=True)

            page.goto(base + "/login")
            page.get_by_label("Username").fill("olly")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto(base + "/registry?case=CUM-2026-000417")
            page.get_by_label("Case reference").select_option("CUM-2026-000417")
            page.get_by_label("Purpose").fill("find cameras near the robbery on Market Square")
            page.get_by_role("button", name="Continue").click()
            officer = page.locator("#registry-map")
            expect(officer).to_have_attribute("data-basemap-loaded", "land,places", timeout=TIMEOUT_MS)
            assert officer.locator(".leaflet-basemap-pane path").count() >= 1
            page.screenshot(path="/tmp/vigil-registry-officer-offline-map.png", full_page=True)
            assert problems == [], problems
