"""Stream sources from settings: the scheme allow-list, the segment length bounds, and credentials never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_settings
from vigil.live.sources import SettingsSources, StreamSource, mask_url
from vigil.settings import SECRET_MASK, SettingsError, load_settings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:hunter2@10.0.0.5:554/Streaming/101", f"rtsp://{SECRET_MASK}@10.0.0.5:554/Streaming/101"),
        ("rtsp://admin@10.0.0.5/s1", f"rtsp://{SECRET_MASK}@10.0.0.5/s1"),
        ("https://10.0.0.7/video.mjpg", "https://10.0.0.7/video.mjpg"),
        ("rtsp://a:b@[::1]:99999/x", SECRET_MASK),  # unparseable port: nothing of it is shown
    ],
)
def test_stream_addresses_are_shown_without_credentials(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert "hunter2" not in repr(StreamSource(camera_code="C1", url=url))


@pytest.mark.parametrize(
    ("env", "value", "error"),
    [
        ("VIGIL_LIVE__CAMERAS", '[{"code": "C1", "url": "file:///etc/passwd"}]', "must start with one of rtsp://"),
        ("VIGIL_LIVE__CAMERAS", '[{"code": "C1", "url": "rtsp://h/s", "recording": "motion"}]', "continuous"),
        ("VIGIL_LIVE__CAMERAS", '[{"code": "C1"}]', "VIGIL_LIVE__CAMERAS__0__URL"),
        ("VIGIL_LIVE__SEGMENT_SECONDS", "601", "VIGIL_LIVE__SEGMENT_SECONDS"),
        ("VIGIL_LIVE__SEGMENT_SECONDS", "1", "VIGIL_LIVE__SEGMENT_SECONDS"),
    ],
)
def test_bad_live_settings_name_the_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: str, value: str, error: str
) -> None:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=error):
        load_settings()


def test_sources_come_from_settings_and_the_masked_settings_hide_their_addresses(tmp_path: Path) -> None:
    cameras = [{"code": " pen-01 ", "url": "rtsp://u:hunter2@10.0.0.5/s1"}, {"code": "C2", "url": "http://h/m.mjpg"}]
    settings = make_settings(tmp_path, live={"cameras": cameras})
    sources = SettingsSources(settings).sources()
    assert [(s.camera_code, s.url, s.recording) for s in sources] == [
        ("PEN-01", "rtsp://u:hunter2@10.0.0.5/s1", "continuous"),
        ("C2", "http://h/m.mjpg", "continuous"),
    ]
    assert settings.live.segment_seconds == 60  # the default segment is a minute
    assert "hunter2" not in str(settings.masked()) and "hunter2" not in repr(settings)
