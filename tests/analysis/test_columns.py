"""The search columns: bit masks and local start minute, and the migration that backfills them for old rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tests.conftest import make_settings
from vigil.analysis.columns import carried_mask, colour_mask, local_minute
from vigil.db.migrate import upgrade
from vigil.db.session import make_engine
from vigil.domain.vocabulary import PALETTE


def test_masks_follow_the_palette_and_carried_order() -> None:
    assert colour_mask(["black"]) == 1 and colour_mask([PALETTE[-1].value]) == 1 << (len(PALETTE) - 1)
    assert colour_mask(["red", "blue", "", "mauve"]) == (1 << PALETTE.index("red")) | (1 << PALETTE.index("blue"))
    assert carried_mask(["backpack", "suitcase"]) == 0b1001
    assert carried_mask([""]) == 0


def test_local_minute_follows_the_clock_changes() -> None:
    london = ZoneInfo("Europe/London")
    assert local_minute(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), london) == 59  # 00:59 GMT
    assert local_minute(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), london) == 120  # 02:00 BST
    assert local_minute(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), london) == 90  # 01:30 BST
    assert local_minute(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), london) == 90  # 01:30 GMT


ROWS = [
    "INSERT INTO users (id, username, display_name, role, password_hash, is_active, must_change_password, "
    "failed_logins, created_at) VALUES (1, 'u', 'U', 'investigator', 'x', 1, 0, 0, '2026-01-01 00:00:00.000000')",
    "INSERT INTO locations (id, name, address, created_at) VALUES (1, 'L', '', '2026-01-01 00:00:00.000000')",
    "INSERT INTO cameras (id, code, name, location_id, zones, is_active, created_at) "
    "VALUES (1, 'C-1', 'C', 1, '[]', 1, '2026-01-01 00:00:00.000000')",
    "INSERT INTO footage (id, camera_id, original_name, stored_path, sha256, size_bytes, container, codec, width, "
    "height, fps, duration_s, start_time, start_time_source, ingested_at, ingested_by_id, source) VALUES (1, 1, "
    "'a.mp4', 'a', 'h', 1, 'mp4', 'h264', 10, 10, 25, 10, '2026-07-01 13:00:00.000000', 'operator', "
    "'2026-07-01 13:00:00.000000', 1, 's')",
    "INSERT INTO analysis_jobs (id, footage_id, status, params, total_frames, progress_frames, checkpoint_frame, "
    "tracks_written, created_by_id, created_at) VALUES (1, 1, 'done', '{}', 0, 0, 0, 0, 1, "
    "'2026-07-01 13:00:00.000000')",
    "INSERT INTO tracks (footage_id, camera_id, job_id, track_no, class_name, first_seen, last_seen, first_frame, "
    "last_frame, upper_colours, lower_colours, body_colours, carried, height_px, speed_px_s, heading, dwell_s, "
    "zone_dwell, path, score) VALUES (1, 1, 1, 1, 'person', '2026-07-01 13:05:00.000000', "
    "'2026-07-01 13:05:09.000000', 0, 9, 'red,white', 'blue', '', 'umbrella,suitcase', 40, 20, 'N', 9, '{}', "
    "'[]', 0.9)",
]


def test_the_migration_backfills_tracks_stored_before_it(tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path))
    upgrade(engine, "0004")
    with engine.begin() as connection:
        for row in ROWS:
            connection.execute(text(row))
    upgrade(engine)
    with engine.connect() as connection:
        masks = connection.execute(
            text("SELECT upper_mask, lower_mask, body_mask, carried_mask, start_minute FROM tracks")
        ).one()
    engine.dispose()
    assert tuple(masks) == (colour_mask(["red", "white"]), colour_mask(["blue"]), 0, 0b1010, 14 * 60 + 5)
