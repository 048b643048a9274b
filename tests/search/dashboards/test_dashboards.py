"""Research dashboards: exact counts, busiest times across a clock change, path and dwell heatmaps, pictures, CSV,
errors, audit and refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.analysed import analysed_footage, make_footage, make_track
from tests.support.builders import make_camera, make_case, make_user
from tests.support.scenes import crossing_scene, write_video
from vigil.db.models import AuditEntry, Camera, Footage, Observation, Track, User
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.search.dashboards.charts import BUSIEST_SIZE, COUNTS_SIZE, HEATMAP_SIZE, Charts
from vigil.search.dashboards.data import BucketSize, frame_footage
from vigil.search.dashboards.service import Dashboard, Dataset, dashboard, dashboard_csv, dashboard_media, to_csv
from vigil.settings import Settings

CONTEXT = AuditContext(case_ref="CUM-2026-000321", purpose="study footfall on Market Square for a patrol plan")
LONDON = ZoneInfo("Europe/London")
# Saturday 28 March 2026; British Summer Time starts at 01:00 UTC on Sunday 29 March.
SATURDAY = datetime(2026, 3, 28, tzinfo=UTC)
CELL = 7  # 320 px frames / 48 columns, rounded


def _analyst(db: Session) -> User:
    return db.query(User).filter_by(username="ana").one_or_none() or make_user(
        db, "ana", trained_for=("analytics",), cases=(CONTEXT.case_ref,)
    )


def _footage(db: Session, settings: Settings, code: str = "PEN-01", *, frames: int = 10) -> Footage:
    """A 1-second real video (320 x 240) of a camera, starting at midnight on the Saturday."""
    user = _analyst(db)
    camera = db.query(Camera).filter_by(code=code).one_or_none() or make_camera(db, code)
    video = write_video(crossing_scene(frames), settings.data_dir.parent / f"{code}-{frames}.mp4")
    return make_footage(db, camera=camera, user=user, video=video, data_dir=settings.data_dir, start=SATURDAY)


def _at(db: Session, footage: Footage, when: datetime, class_name: str = "person", **kwargs: object) -> Track:
    offset = (when - footage.start_time).total_seconds()
    return make_track(db, footage, class_name=class_name, offset_s=offset, **kwargs)  # type: ignore[arg-type]


def _with_path(track: Track, points: list[tuple[float, float]]) -> Track:
    """Give a track this path, stored as the pipeline stores it: (seconds from footage start, x, y) points."""
    offset = (track.first_seen - track.footage.start_time).total_seconds()
    track.path = json.dumps([[offset + i, x, y] for i, (x, y) in enumerate(points)])
    return track


def _board(db: Session, start: datetime, end: datetime, cameras: tuple[str, ...] = ("PEN-01",)) -> Dashboard:
    return dashboard(db=db, user=_analyst(db), context=CONTEXT, camera_codes=cameras, start=start, end=end, zone=LONDON)


def _cells(values: np.ndarray) -> dict[tuple[int, int], float]:
    return {(int(r), int(c)): float(values[r, c]) for r, c in zip(*np.nonzero(values), strict=True)}


def test_counts_per_quarter_hour_and_class_are_exact(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    for minute in (1, 14):
        _at(db, footage, SATURDAY + timedelta(minutes=minute))
    _at(db, footage, SATURDAY + timedelta(minutes=20), "car")
    _at(db, footage, SATURDAY + timedelta(hours=10, minutes=5))
    _at(db, footage, SATURDAY - timedelta(seconds=1))  # before the range
    _at(db, footage, SATURDAY + timedelta(days=1))  # at its end, which is excluded
    board = _board(db, SATURDAY, SATURDAY + timedelta(days=1))
    table = board.counts
    assert table.size is BucketSize.QUARTER_HOUR and len(table.buckets) == 96
    assert table.buckets[0] == SATURDAY and table.buckets[-1] == SATURDAY + timedelta(hours=23, minutes=45)
    assert table.classes == ["person", "car"]
    expected = np.zeros((96, 2), dtype=np.int64)
    expected[0, 0], expected[1, 1], expected[40, 0] = 2, 1, 1
    assert np.array_equal(table.counts, expected)
    assert board.total == 4


def test_busiest_times_are_in_local_time_across_the_clock_change(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    for when in ("2026-03-28T12:30", "2026-03-29T00:30", "2026-03-29T01:30", "2026-03-30T12:30", "2026-03-30T12:45"):
        _at(db, footage, datetime.fromisoformat(when).replace(tzinfo=UTC))
    board = _board(db, SATURDAY, SATURDAY + timedelta(days=3))
    # Sat 12:30 GMT; Sun 00:30 GMT; Sun 02:30 BST (01:30 UTC); Mon 13:30 and 13:45 BST (12:30, 12:45 UTC)
    assert _cells(board.busiest) == {(5, 12): 1, (6, 0): 1, (6, 2): 1, (0, 13): 2}
    hour = board.busiest_hour
    assert hour is not None and (hour.day, hour.hour, hour.tracks) == ("Mon", 13, 2)
    table = board.counts
    assert table.size is BucketSize.HOUR and len(table.buckets) == 72
    by_bucket = {b: int(n) for b, n in zip(table.buckets, table.counts[:, 0], strict=True) if n}
    assert by_bucket == {
        SATURDAY + timedelta(hours=12): 1,
        SATURDAY + timedelta(hours=24): 1,
        SATURDAY + timedelta(hours=25): 1,
        SATURDAY + timedelta(hours=60): 2,
    }


def test_day_buckets_follow_local_midnights(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    _at(db, footage, datetime(2026, 3, 29, 23, 30, tzinfo=UTC))  # 00:30 BST on Monday 30 March
    _at(db, footage, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "bicycle")  # 23:30 GMT on Saturday 28 March
    start = datetime(2026, 3, 22, tzinfo=UTC)
    board = _board(db, start, start + timedelta(days=14))
    table = board.counts
    assert table.size is BucketSize.DAY
    local_days = [b.astimezone(LONDON).date().isoformat() for b in table.buckets]
    assert local_days == [f"2026-03-{d}" for d in range(22, 32)] + [f"2026-04-0{d}" for d in range(1, 6)]
    assert all(b.astimezone(LONDON).hour == 0 for b in table.buckets)
    counts = {local_days[i]: dict(zip(table.classes, row.tolist(), strict=True)) for i, row in enumerate(table.counts)}
    assert counts["2026-03-30"] == {"person": 1, "bicycle": 0} and counts["2026-03-28"] == {"person": 0, "bicycle": 1}
    assert table.total == 2


def test_path_heatmap_is_hot_on_the_paths_and_nowhere_else(db: Session, settings: Settings) -> None:
    older = _footage(db, settings, frames=12)  # recorded at twice the size: its paths are scaled onto the frame
    older.width, older.height = 640, 480
    footage = _footage(db, settings)
    noon = SATURDAY + timedelta(hours=12)
    _with_path(_at(db, older, noon), [(40, 200), (400, 200)])  # = (20, 100) -> (200, 100) on the 320 x 240 frame
    _with_path(_at(db, footage, noon + timedelta(minutes=1)), [(20, 100), (200, 100)])
    _with_path(_at(db, footage, noon + timedelta(minutes=2)), [(50, 30), (50, 90), (150, 90), (50, 90)])
    db.flush()
    heatmap = _board(db, SATURDAY, SATURDAY + timedelta(days=1)).paths["PEN-01"]
    assert (heatmap.grid.width, heatmap.grid.height, heatmap.grid.cell_px) == (320, 240, CELL)
    assert heatmap.values.shape == (35, 46)
    row = 100 // CELL
    expected = {(row, col): 2.0 for col in range(20 // CELL, 200 // CELL + 1)}
    vertical = {(r, 50 // CELL): 1.0 for r in range(30 // CELL, 90 // CELL + 1)}
    across_and_back = {(90 // CELL, c): 1.0 for c in range(50 // CELL, 150 // CELL + 1)}  # counted once, not twice
    expected.update(vertical | across_and_back)
    assert _cells(heatmap.values) == expected


def test_dwell_heatmap_holds_each_tracks_time_where_it_stood(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    noon = SATURDAY + timedelta(hours=12)
    a = _at(db, footage, noon, duration_s=4.0, box=(100.0, 100.0, 114.0, 140.0))
    b = _at(db, footage, noon + timedelta(minutes=5), duration_s=6.5, box=(200.0, 150.0, 220.0, 200.0))
    heatmap = _board(db, SATURDAY, SATURDAY + timedelta(days=1)).dwell["PEN-01"]
    assert heatmap.values.sum() == pytest.approx(a.dwell_s + b.dwell_s)
    # make_track's observations step 5 px right at t, t + d/2, t + d: the first two hold d/2 each, the last none.
    expected: dict[tuple[int, int], float] = {}
    for track, (x0, _, x1, y1) in ((a, (100, 100, 114, 140)), (b, (200, 150, 220, 200))):
        for k in (0, 1):
            cell = (int(y1 // CELL), int(((x0 + x1) / 2 + 5 * k) // CELL))
            expected[cell] = expected.get(cell, 0.0) + track.dwell_s / 2
    assert _cells(heatmap.values) == pytest.approx(expected)


def test_tracks_of_other_cameras_are_left_out_and_several_cameras_add_up(db: Session, settings: Settings) -> None:
    pen, kes = _footage(db, settings), _footage(db, settings, "KES-02", frames=11)
    noon = SATURDAY + timedelta(hours=12)
    _at(db, pen, noon)
    _at(db, kes, noon, "car")
    _at(db, kes, noon + timedelta(minutes=30), "car")
    day = (SATURDAY, SATURDAY + timedelta(days=1))
    assert _board(db, *day).total == 1
    both = _board(db, *day, cameras=("PEN-01", "KES-02"))
    assert both.cameras == ("PEN-01", "KES-02") and both.total == 3 and both.counts.classes == ["car", "person"]
    assert both.paths["KES-02"].values.max() == 2 and both.paths["PEN-01"].values.max() == 1
    common = {"db": db, "user": _analyst(db), "context": CONTEXT, "camera_codes": ["PEN-01", "KES-02"], "zone": LONDON}
    one = dashboard_media(**common, start=day[0], end=day[1], heatmaps=[Dataset.DWELL], heatmap_camera="KES-02")  # type: ignore[arg-type]
    assert (set(one.dwell), one.paths, one.total) == ({"KES-02"}, {}, 3)
    assert np.array_equal(one.dwell["KES-02"].values, both.dwell["KES-02"].values)


def test_pictures_decode_to_their_size_and_are_not_blank(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    for minute in range(0, 600, 7):
        _at(db, footage, SATURDAY + timedelta(minutes=minute), ("person", "car", "bicycle")[minute % 3])
    board = _board(db, SATURDAY, SATURDAY + timedelta(days=1))
    charts = Charts(settings)
    assert charts.background(footage) is not None
    pictures = {
        "counts": (charts.counts(board), COUNTS_SIZE),
        "busiest": (charts.busiest(board), BUSIEST_SIZE),
        "paths": (charts.heatmap(board, Dataset.PATHS, "PEN-01"), HEATMAP_SIZE),
        "dwell": (charts.heatmap(board, Dataset.DWELL, "PEN-01"), HEATMAP_SIZE),
    }
    for name, (png, (width, height)) in pictures.items():
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, name
        assert image.shape == (height, width, 3), name
        assert image.std() > 20 and len(np.unique(image.reshape(-1, 3), axis=0)) > 50, name


def test_pictures_of_an_empty_range_and_a_missing_video_still_draw(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    (settings.data_dir / footage.stored_path).unlink()
    board = _board(db, SATURDAY, SATURDAY + timedelta(hours=2))
    charts = Charts(settings)
    assert board.total == 0 and board.busiest_hour is None and charts.background(footage) is None
    for png in (charts.counts(board), charts.heatmap(board, Dataset.DWELL, "PEN-01")):
        assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR) is not None


def test_csv_has_a_header_and_the_same_numbers(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    noon = SATURDAY + timedelta(hours=12)
    _with_path(_at(db, footage, noon, duration_s=3.0), [(20, 100), (60, 100)])
    _at(db, footage, noon + timedelta(minutes=20), "car", duration_s=2.0)
    board = _board(db, SATURDAY, SATURDAY + timedelta(days=1))

    counts = list(csv.DictReader(io.StringIO(to_csv(board, Dataset.COUNTS))))
    assert list(counts[0]) == ["bucket_start_utc", "bucket_start_local", "bucket", "car", "person", "total"]
    assert len(counts) == 96 and sum(int(r["total"]) for r in counts) == 2
    [noon_row] = [r for r in counts if r["bucket_start_utc"] == noon.isoformat()]
    assert (noon_row["person"], noon_row["car"], noon_row["bucket_start_local"]) == (
        "1",
        "0",
        "2026-03-28T12:00:00+00:00",
    )

    busiest = list(csv.DictReader(io.StringIO(to_csv(board, Dataset.BUSIEST))))
    assert len(busiest) == 168 and {(r["day"], r["hour"], r["tracks"]) for r in busiest if r["tracks"] != "0"} == {
        ("Sat", "12", "2")
    }

    paths = list(csv.DictReader(io.StringIO(to_csv(board, Dataset.PATHS))))
    assert list(paths[0]) == ["camera", "row", "column", "x0", "y0", "x1", "y1", "tracks"]
    assert {(int(r["row"]), int(r["column"])): float(r["tracks"]) for r in paths} == _cells(
        board.paths["PEN-01"].values
    )
    first = paths[0]
    assert int(first["x1"]) - int(first["x0"]) == CELL and int(first["y0"]) == int(first["row"]) * CELL

    dwell = list(csv.DictReader(io.StringIO(to_csv(board, Dataset.DWELL))))
    assert list(dwell[0])[-1] == "seconds" and sum(float(r["seconds"]) for r in dwell) == pytest.approx(5.0)


BAD_REQUESTS = [
    (("NOPE-9",), SATURDAY, SATURDAY + timedelta(hours=1), NotFound, "no camera NOPE-9"),
    (("PEN-01", "NOPE-9"), SATURDAY, SATURDAY + timedelta(hours=1), NotFound, "no camera NOPE-9"),
    ((), SATURDAY, SATURDAY + timedelta(hours=1), InvalidInput, "choose at least one camera"),
    (("PEN-01",), SATURDAY, SATURDAY, InvalidInput, "end of the range must be after its start"),
    (("PEN-01",), SATURDAY, SATURDAY - timedelta(hours=1), InvalidInput, "end of the range must be after its start"),
    (("PEN-01",), SATURDAY, SATURDAY + timedelta(days=93), InvalidInput, "at most 92 days"),
    (("PEN-01",), SATURDAY.replace(tzinfo=None), SATURDAY + timedelta(hours=1), InvalidInput, "time zone"),
]


@pytest.mark.parametrize(("cameras", "start", "end", "error", "message"), BAD_REQUESTS)
def test_bad_requests_are_refused_clearly_and_not_audited(
    db: Session,
    settings: Settings,
    cameras: tuple[str, ...],
    start: datetime,
    end: datetime,
    error: type[Exception],
    message: str,
) -> None:
    _footage(db, settings)
    with pytest.raises(error, match=message):
        _board(db, start, end, cameras)
    assert not db.execute(select(AuditEntry).where(AuditEntry.action == "dashboard.view")).scalars().all()


def test_the_maximum_range_is_configurable(db: Session, settings: Settings) -> None:
    _footage(db, settings)
    week = (SATURDAY, SATURDAY + timedelta(days=8))
    common = {"db": db, "user": _analyst(db), "context": CONTEXT, "camera_codes": ["PEN-01"], "zone": LONDON}
    with pytest.raises(InvalidInput, match="at most 7 days"):
        dashboard(**common, start=week[0], end=week[1], max_range=timedelta(days=7))  # type: ignore[arg-type]
    assert dashboard(**common, start=week[0], end=week[1], max_range=timedelta(days=8)).total == 0  # type: ignore[arg-type]


def test_a_view_is_audited_once_with_cameras_and_range_and_a_csv_download_too(db: Session, settings: Settings) -> None:
    footage = _footage(db, settings)
    _at(db, footage, SATURDAY + timedelta(hours=3))
    end = SATURDAY + timedelta(days=1)
    _board(db, SATURDAY, end)
    common = {"db": db, "user": _analyst(db), "context": CONTEXT, "camera_codes": ["PEN-01"], "zone": LONDON}
    dashboard_media(**common, start=SATURDAY, end=end)  # type: ignore[arg-type]
    text = dashboard_csv(**common, start=SATURDAY, end=end, dataset=Dataset.BUSIEST)  # type: ignore[arg-type]
    assert text.startswith("day,hour,tracks\n")
    entries = db.execute(select(AuditEntry).where(AuditEntry.action.like("dashboard.%"))).scalars().all()
    assert [e.action for e in entries] == ["dashboard.view", "dashboard.export"]
    view, export = entries
    assert (view.actor, view.case_ref, view.purpose, view.outcome) == ("ana", CONTEXT.case_ref, CONTEXT.purpose, "ok")
    details = json.loads(view.details)
    assert details == {"cameras": ["PEN-01"], "from": SATURDAY.isoformat(), "to": end.isoformat(), "tracks": 1}
    assert json.loads(export.details)["datasets"] == ["busiest"]


@pytest.mark.parametrize(("role", "trained"), [("investigator", ()), ("admin", ("analytics",))])
def test_users_without_the_analytics_capability_are_refused_and_audited(
    db: Session, settings: Settings, role: str, trained: tuple[str, ...]
) -> None:
    _footage(db, settings)
    user = make_user(db, "ned", role, trained_for=trained)
    with pytest.raises(NotPermitted):
        dashboard(
            db=db,
            user=user,
            context=CONTEXT,
            camera_codes=["PEN-01"],
            start=SATURDAY,
            end=SATURDAY + timedelta(days=1),
            zone=LONDON,
        )
    [refusal] = db.execute(select(AuditEntry).where(AuditEntry.action == "dashboard.view")).scalars().all()
    assert (refusal.actor, refusal.outcome) == ("ned", "refused")


def test_footage_analysed_by_the_real_pipeline(db: Session, settings: Settings) -> None:
    footage = analysed_footage(db, settings, start=SATURDAY + timedelta(hours=9))
    board = _board(db, SATURDAY, SATURDAY + timedelta(days=1))
    tracks = db.execute(select(Track).where(Track.footage_id == footage.id)).scalars().all()
    assert board.total == len(tracks) == 2 and board.counts.classes == ["person"]
    spans = 0.0
    for track in tracks:
        times = db.execute(select(Observation.t).where(Observation.track_id == track.id)).scalars().all()
        spans += max(times) - min(times)
    assert board.dwell["PEN-01"].values.sum() == pytest.approx(spans)
    paths = board.paths["PEN-01"]
    assert paths.values.max() == 2  # the two figures cross, so some cells hold both
    assert Path(settings.data_dir / footage.stored_path).is_file() and board.frames["PEN-01"] is not None
    assert Charts(settings).background(board.frames["PEN-01"]) is not None


@pytest.mark.parametrize("bad_path", ["not json", "[[1, 2, 3, 4]]", '{"x": 1}', "[]"])
def test_a_malformed_or_empty_path_is_left_out_of_the_path_heatmap(
    db: Session, settings: Settings, bad_path: str
) -> None:
    footage = _footage(db, settings)
    noon = SATURDAY + timedelta(hours=12)
    _with_path(_at(db, footage, noon), [(20, 100), (60, 100)])
    _at(db, footage, noon + timedelta(minutes=1)).path = bad_path
    _with_path(_at(db, footage, noon + timedelta(minutes=2)), [(20, 100)])  # one point: its own cell
    db.flush()
    board = _board(db, SATURDAY, SATURDAY + timedelta(days=1))
    row = 100 // CELL
    expected = {(row, col): 1.0 for col in range(20 // CELL, 60 // CELL + 1)}
    expected[(row, 20 // CELL)] = 2.0
    assert board.total == 3 and _cells(board.paths["PEN-01"].values) == expected


def test_footage_held_for_a_case_stays_out_of_the_force_figures(db: Session, settings: Settings) -> None:
    """F6: a case's footage (here KES-02's) is not counted, mapped or pictured for anyone stating another case."""
    pen, kes = _footage(db, settings), _footage(db, settings, "KES-02", frames=11)
    noon = SATURDAY + timedelta(hours=12)
    _at(db, pen, noon)
    _with_path(_at(db, kes, noon, "car"), [(10.0, 10.0), (200.0, 200.0)])
    kes.case_id = make_case(db, "CUM-2026-000999", members=[make_user(db, "olly")]).id
    db.flush()
    board = _board(db, SATURDAY, SATURDAY + timedelta(days=1), cameras=("PEN-01", "KES-02"))
    assert board.total == 1 and board.counts.classes == ["person"]
    assert board.paths["KES-02"].values.max() == 0 and board.dwell["KES-02"].values.max() == 0
    assert frame_footage(db, camera=kes.camera, start=SATURDAY, end=SATURDAY + timedelta(days=1)) is None
