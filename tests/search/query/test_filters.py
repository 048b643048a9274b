"""Each search filter on synthetic tracks with exact attributes, on SQLite and PostgreSQL; and the search columns
that analysis writes, on a real analysed video."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from tests.support.analysed import analysed_footage, make_footage, make_track
from tests.support.builders import make_camera, make_user
from vigil.analysis.columns import backfill_search_columns, fill_search_columns
from vigil.db.models import Camera, Footage, Track, User
from vigil.errors import InvalidInput
from vigil.search.query.filters import crosses, driver, find_tracks
from vigil.search.query.track_query import LineCrossing, MapArea, TrackQuery
from vigil.settings import Settings

LONDON = ZoneInfo("Europe/London")
WINTER = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)


def footage_at(db: Session, settings: Settings, code: str, start: datetime, *, lat: float = 54.664) -> Footage:
    """A footage row of camera ``code`` (made on first use, its location at ``lat``) starting at ``start``."""
    owner = _user(db)
    camera = db.query(Camera).filter_by(code=code).one_or_none()
    if camera is None:
        camera = make_camera(db, code)
        camera.location.latitude = lat
        db.flush()
    video = settings.data_dir / f"{code}-{start:%Y%m%d%H%M%S}.bin"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(f"{code} {start.isoformat()}".encode())
    return make_footage(db, camera=camera, user=owner, video=video, data_dir=settings.data_dir, start=start)


def _user(db: Session) -> User:
    return db.query(User).filter_by(username="analyst").one_or_none() or make_user(db, "analyst")


def track(db: Session, footage: Footage, **attributes: object) -> Track:
    path = attributes.pop("path", None)
    made = make_track(db, footage, **attributes)  # type: ignore[arg-type]
    if path is not None:
        made.path = json.dumps(path)
    fill_search_columns(made, LONDON)
    db.flush()
    return made


def ids(db: Session, **filters: object) -> set[int]:
    return {t.id for t in find_tracks(db, TrackQuery.model_validate(filters)).tracks}


@pytest.fixture
def scene(db: Session, settings: Settings) -> Footage:
    return footage_at(db, settings, "PEN-01", WINTER)


def test_colours_are_any_of_within_a_field_and_all_of_across_fields(db: Session, scene: Footage) -> None:
    red_blue = track(db, scene, upper="red", lower="blue")
    green_black = track(db, scene, upper="green,white", lower="black")
    blue_blue = track(db, scene, upper="blue", lower="blue")
    car = track(db, scene, class_name="car", body="red")
    assert ids(db, upper_colours=["red", "green"]) == {red_blue.id, green_black.id}
    assert ids(db, upper_colours=["white"]) == {green_black.id}
    assert ids(db, upper_colours=["red", "green"], lower_colours=["blue"]) == {red_blue.id}
    assert ids(db, lower_colours=["black", "grey", "blue"]) == {red_blue.id, green_black.id, blue_blue.id}
    assert ids(db, vehicle_colours=["red"]) == {car.id}
    assert ids(db, classes=["car", "bus"]) == {car.id}


def test_carried_objects_are_all_of(db: Session, scene: Footage) -> None:
    both = track(db, scene, carried="backpack,umbrella")
    backpack = track(db, scene, carried="backpack")
    track(db, scene, carried="handbag")
    assert ids(db, carried=["backpack"]) == {both.id, backpack.id}
    assert ids(db, carried=["backpack", "umbrella"]) == {both.id}
    assert ids(db, carried=["suitcase"]) == set()


def test_headings_speed_size_and_time_in_view(db: Session, scene: Footage) -> None:
    north = track(db, scene, heading="N", speed_px_s=100.0, height_px=40.0, duration_s=3.0)
    left = track(db, scene, heading="left", speed_px_s=20.0, height_px=80.0, duration_s=120.0)
    left.speed_m_s, left.height_m = 1.2, 1.75
    db.flush()
    assert ids(db, headings=["N", "NE"]) == {north.id}
    assert ids(db, headings=["left"]) == {left.id}
    assert ids(db, speed_min=1.5, speed_unit="heights/s") == {north.id}  # 100 / 40 = 2.5 heights per second
    assert ids(db, speed_max=1.0, speed_unit="heights/s") == {left.id}  # 20 / 80
    assert ids(db, speed_min=50, speed_unit="px/s") == {north.id}
    assert ids(db, speed_min=1.0, speed_unit="m/s") == {left.id}  # only calibrated tracks have m/s
    assert ids(db, size_min=60, size_unit="px") == {left.id}
    assert ids(db, size_min=1.7, size_max=1.8, size_unit="m") == {left.id}
    assert ids(db, dwell_min=60) == {left.id}
    assert ids(db, dwell_max=10) == {north.id}


def test_cameras_by_code_and_by_map_area(db: Session, settings: Settings) -> None:
    penrith = footage_at(db, settings, "PEN-01", WINTER, lat=54.664)
    carlisle = footage_at(db, settings, "CAR-07", WINTER, lat=54.890)
    a, b = track(db, penrith), track(db, carlisle)
    assert ids(db, cameras=["CAR-07"]) == {b.id}
    assert ids(db, area={"lat": 54.664, "lon": -2.752, "radius_m": 1000}) == {a.id}
    assert ids(db, area={"south": 54.8, "west": -3.0, "north": 55.0, "east": -2.5}) == {b.id}
    assert ids(db, cameras=["PEN-01"], area={"south": 54.8, "west": -3.0, "north": 55.0, "east": -2.5}) == set()
    with pytest.raises(InvalidInput, match="unknown camera code"):
        find_tracks(db, TrackQuery(cameras=["NOPE-1"]))


def test_a_time_range_finds_tracks_in_view_at_any_moment_of_it(db: Session, scene: Footage) -> None:
    long_before = track(db, scene, offset_s=0, duration_s=10)
    spanning = track(db, scene, offset_s=3000, duration_s=900)  # 12:50 to 13:05
    inside = track(db, scene, offset_s=4000, duration_s=10)
    after = track(db, scene, offset_s=9000, duration_s=10)
    found = ids(db, start=WINTER + timedelta(hours=1), end=WINTER + timedelta(hours=2))
    assert found == {spanning.id, inside.id}
    assert long_before.id not in found and after.id not in found


@pytest.mark.parametrize(
    ("window", "expected"),
    [((time(23), time(1)), {"23:30", "00:30"}), ((time(0), time(1)), {"00:30"}), ((time(12), time(23)), {"12:00"})],
)
def test_time_of_day_wraps_midnight(
    db: Session, settings: Settings, window: tuple[time, time], expected: set[str]
) -> None:
    made = {}
    for label, at in (("23:30", "2026-01-10T23:30"), ("00:30", "2026-01-11T00:30"), ("12:00", "2026-01-11T12:00")):
        footage = footage_at(db, settings, "PEN-01", datetime.fromisoformat(at).replace(tzinfo=UTC))
        made[track(db, footage).id] = label
    found = ids(db, time_from=window[0], time_to=window[1])
    assert {made[i] for i in found} == expected


def test_time_of_day_is_local_across_clock_changes(db: Session, settings: Settings) -> None:
    winter = track(db, footage_at(db, settings, "PEN-01", datetime(2026, 1, 14, 14, 30, tzinfo=UTC)))
    summer = track(db, footage_at(db, settings, "PEN-01", datetime(2026, 7, 14, 13, 30, tzinfo=UTC)))
    summer_late = track(db, footage_at(db, settings, "PEN-01", datetime(2026, 7, 14, 14, 30, tzinfo=UTC)))
    assert (winter.start_minute, summer.start_minute, summer_late.start_minute) == (870, 870, 930)
    assert ids(db, time_from=time(14), time_to=time(15)) == {winter.id, summer.id}


def test_zone_presence_needs_time_spent_in_that_zone(db: Session, scene: Footage) -> None:
    door = track(db, scene, zone_dwell={"doorway": 3.5, "stationary": 2.0})
    track(db, scene, zone_dwell={"doorway 2": 4.0})
    track(db, scene, zone_dwell={"doorway": 0.0})
    track(db, scene, zone_dwell={"stationary": 9.0})
    assert ids(db, zone="doorway") == {door.id}
    assert ids(db, zone="100%_doorway") == set()


def test_line_crossing_in_either_or_one_direction(db: Session, scene: Footage) -> None:
    rightwards = track(db, scene, path=[[0.0, 10.0, 100.0], [1.0, 90.0, 110.0], [2.0, 150.0, 110.0]])
    leftwards = track(db, scene, path=[[0.0, 150.0, 100.0], [1.0, 10.0, 100.0]])
    track(db, scene, path=[[0.0, 10.0, 100.0], [1.0, 40.0, 100.0]])  # stops short of the line
    track(db, scene, path=[[0.0, 10.0, 10.0], [1.0, 150.0, 10.0]])  # passes above the line's end
    vertical = {"camera": "PEN-01", "a": (100.0, 50.0), "b": (100.0, 200.0)}  # drawn downwards
    assert ids(db, line=vertical) == {rightwards.id, leftwards.id}
    # Standing at a=(100, 50) looking down the picture, the picture's right (larger x) is on the left hand.
    assert ids(db, line={**vertical, "direction": "right-to-left"}) == {rightwards.id}
    assert ids(db, line={**vertical, "direction": "left-to-right"}) == {leftwards.id}


def test_line_crossing_geometry() -> None:
    line = LineCrossing(camera="C", a=(0.0, 0.0), b=(100.0, 0.0))  # drawn rightwards: its left is up the picture
    assert crosses([(50.0, -10.0), (50.0, 10.0)], line.model_copy(update={"direction": "left-to-right"}))
    assert not crosses([(50.0, 10.0), (50.0, -10.0)], line.model_copy(update={"direction": "left-to-right"}))
    assert not crosses([(150.0, -10.0), (150.0, 10.0)], line)
    assert crosses([(50.0, 0.0), (50.0, 10.0)], line)  # from on the line to one side counts once


def test_paging_newest_first_and_track_ids(db: Session, scene: Footage) -> None:
    made = [track(db, scene, offset_s=10.0 * k) for k in range(5)]
    page = find_tracks(db, TrackQuery(limit=2))
    assert [t.id for t in page.tracks] == [made[4].id, made[3].id] and page.more
    last = find_tracks(db, TrackQuery(limit=2, offset=4))
    assert [t.id for t in last.tracks] == [made[0].id] and not last.more
    assert ids(db, track_ids=[made[1].id, made[2].id]) == {made[1].id, made[2].id}


def test_zone_search_pages_over_python_checked_candidates(db: Session, scene: Footage) -> None:
    wanted = [track(db, scene, offset_s=float(k), zone_dwell={"gate": 1.0}) for k in range(4)]
    for k in range(3):
        track(db, scene, offset_s=10.0 + k, zone_dwell={"gate": 0.0})
    page = find_tracks(db, TrackQuery(zone="gate", limit=3))
    assert [t.id for t in page.tracks] == [w.id for w in reversed(wanted)][:3] and page.more


def test_queries_refuse_bad_ranges_and_names() -> None:
    with pytest.raises(ValueError, match="minimum"):
        TrackQuery(speed_min=3, speed_max=1)
    with pytest.raises(ValueError, match="unknown class"):
        TrackQuery(classes=["giraffe"])
    with pytest.raises(ValueError, match="heading"):
        TrackQuery(headings=["northish"])
    with pytest.raises(ValueError, match="either a box"):
        MapArea(lat=1.0, lon=1.0)
    with pytest.raises(ValueError, match="both"):
        TrackQuery(time_from=time(1))
    with pytest.raises(ValueError, match="extra"):
        TrackQuery.model_validate({"face": "x"})


def test_analysis_writes_search_columns_that_find_the_red_top(db: Session, settings: Settings) -> None:
    footage = analysed_footage(db, settings)
    stored = db.query(Track).filter_by(footage_id=footage.id).all()
    assert len(stored) == 2 and all(t.upper_mask for t in stored)
    red = find_tracks(db, TrackQuery(upper_colours=["red"], lower_colours=["blue"], classes=["person"])).tracks
    assert [t.heading for t in red] == ["right"]
    local = footage.start_time.astimezone(LONDON)
    assert ids(db, time_from=local.time(), time_to=(local + timedelta(minutes=1)).time()) == {t.id for t in stored}


def test_backfill_recomputes_the_columns(db: Session, scene: Footage) -> None:
    made = make_track(db, scene, upper="red", carried="umbrella")
    assert made.upper_mask == 0
    assert backfill_search_columns(db, LONDON, batch=1) >= 1
    db.refresh(made)
    assert ids(db, upper_colours=["red"], carried=["umbrella"]) == {made.id}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"carried": ["suitcase"], "upper_colours": ["red"]}, "carried"),
        ({"time_from": time(22), "time_to": time(2), "classes": ["person"]}, "time of day"),
        ({"time_from": time(6), "time_to": time(20)}, "default"),  # most of the day: the class walk finds it sooner
        ({"carried": ["backpack"], "cameras": ["PEN-01"]}, "default"),  # the camera index narrows it first
        ({"carried": ["backpack"], "start": WINTER}, "default"),
        ({"upper_colours": ["red"]}, "default"),
    ],
)
def test_the_driving_index_is_chosen_only_when_nothing_narrows_cameras_or_time(
    filters: dict[str, object], expected: str
) -> None:
    query = TrackQuery.model_validate(filters)
    assert driver(query, [1] if query.cameras else None) == expected
