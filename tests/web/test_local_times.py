"""One time rule on every page and form: local force time (settings.timezone) with the zone named. The upload form
reads a typed recording start as local time (British Summer Time in July) and the pages show it back the same way."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.footage_web import footage_client, footage_rows, put_upload, signed_in, small_video
from vigil.errors import InvalidInput
from vigil.web.forms import local_datetime
from vigil.web.rendering import when

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2026-07-01T14:05", datetime(2026, 7, 1, 13, 5, tzinfo=UTC)),  # BST: UTC+1
        ("2026-01-15T14:05:30", datetime(2026, 1, 15, 14, 5, 30, tzinfo=UTC)),  # GMT
        ("2026-07-01T14:05:00+00:00", datetime(2026, 7, 1, 14, 5, tzinfo=UTC)),  # an explicit offset wins
        ("", None),
    ],
)
def test_a_typed_time_is_local_force_time(typed: str, stored: datetime | None) -> None:
    assert local_datetime(typed, zone=LONDON, label="Start") == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [("yesterday", "Start must be a date and time"), ("9" * 50, "Start must be a date and time")],
)
def test_a_bad_time_gets_a_clear_error(typed: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        local_datetime(typed, zone=LONDON, label="Start")


def test_a_time_is_shown_in_local_force_time_with_its_zone() -> None:
    assert when(datetime(2026, 7, 1, 13, 5, tzinfo=UTC), zone=LONDON) == "2026-07-01 14:05:00 BST"
    assert when(datetime(2026, 1, 15, 14, 5, tzinfo=UTC), zone=LONDON) == "2026-01-15 14:05:00 GMT"
    assert when(None, zone=LONDON) == "—"


def test_the_upload_form_takes_local_time_and_the_footage_page_shows_it_back(tmp_path: Path) -> None:
    with footage_client(tmp_path) as client:
        signed_in(client)
        page = client.get("/footage").text
        assert "Recording start (Europe/London, optional)" in page and "UTC" not in page
        reply = put_upload(client, small_video(tmp_path), start="2026-07-01T14:05:00")
        assert reply.status_code == 200, reply.text
        [footage] = footage_rows(client)
        assert footage.start_time == datetime(2026, 7, 1, 13, 5, tzinfo=UTC)
        listed = client.get("/footage").text
        assert "2026-07-01 14:05:00 BST" in listed
        assert not re.search(r"\d\d:\d\d:\d\d UTC", listed)
