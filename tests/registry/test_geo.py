from __future__ import annotations

import math
import random

import pytest

from vigil.registry import geo

R = geo.EARTH_RADIUS_M


@pytest.mark.parametrize(
    ("a", "b", "expected_m"),
    [
        ((0.0, 0.0), (1.0, 0.0), R * math.pi / 180),  # one degree along a meridian
        ((0.0, 0.0), (0.0, 90.0), R * math.pi / 2),  # a quarter of the equator
        ((90.0, 0.0), (-90.0, 0.0), R * math.pi),  # pole to pole
        ((51.5074, -0.1278), (48.8566, 2.3522), 343_557.0),  # London to Paris (haversine, mean sphere)
        ((54.6641, -2.7527), (54.6641, -2.7527), 0.0),
    ],
)
def test_great_circle_distances_match_known_values(
    a: tuple[float, float], b: tuple[float, float], expected_m: float
) -> None:
    assert geo.distance_m(*a, *b) == pytest.approx(expected_m, abs=1.0)
    assert geo.distance_m(*b, *a) == pytest.approx(expected_m, abs=1.0)


@pytest.mark.parametrize(
    ("to", "expected"),
    [((1.0, 0.0), 0.0), ((0.0, 1.0), 90.0), ((-1.0, 0.0), 180.0), ((0.0, -1.0), 270.0)],
)
def test_bearings_point_the_right_way(to: tuple[float, float], expected: float) -> None:
    assert geo.bearing_deg(0.0, 0.0, *to) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("facing", "expected"),
    [
        (90.0, True),  # faces east, point is due east
        (140.0, True),  # 50 degrees off: inside the 60-degree half field of view
        (160.0, False),  # 70 degrees off
        (270.0, False),  # faces away
        (30.0, True),  # exactly 60 degrees off
        (None, None),  # facing unknown
    ],
)
def test_a_camera_faces_a_point_within_its_field_of_view(facing: float | None, expected: bool | None) -> None:
    camera = (54.6641, -2.7527)
    east = (54.6641, -2.7527 + 0.002)  # about 129 m due east
    result = geo.faces(
        camera_lat=camera[0], camera_lon=camera[1], facing_deg=facing, point_lat=east[0], point_lon=east[1]
    )
    assert result is expected


def test_a_point_at_the_camera_counts_as_faced_whatever_the_facing() -> None:
    assert geo.faces(camera_lat=54.0, camera_lon=-2.0, facing_deg=0.0, point_lat=54.0, point_lon=-2.00001) is True


def test_the_bounding_box_holds_every_point_within_the_radius() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        lat, lon = rng.uniform(-80, 80), rng.uniform(-170, 170)
        radius = rng.uniform(10, 50_000)
        box = geo.bounding_box(lat, lon, radius)
        bearing = math.radians(rng.uniform(0, 360))
        # a point at exactly the radius, on a random bearing (direct geodesic problem on the sphere)
        d = radius / R * 0.999999
        phi1, lambda1 = math.radians(lat), math.radians(lon)
        phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(bearing))
        lambda2 = lambda1 + math.atan2(
            math.sin(bearing) * math.sin(d) * math.cos(phi1), math.cos(d) - math.sin(phi1) * math.sin(phi2)
        )
        plat, plon = math.degrees(phi2), math.degrees(lambda2)
        assert geo.distance_m(lat, lon, plat, plon) <= radius
        assert box.south <= plat <= box.north
        assert box.west <= plon <= box.east


def test_near_a_pole_the_box_spans_every_longitude() -> None:
    box = geo.bounding_box(89.99, 10.0, 5_000)
    assert (box.west, box.east, box.north) == (-180.0, 180.0, 90.0)


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [(91, 0, "latitude"), (-91, 0, "latitude"), (0, 181, "longitude"), (float("nan"), 0, "latitude")],
)
def test_coordinates_off_the_globe_are_refused(lat: float, lon: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        geo.check_point(lat, lon)
