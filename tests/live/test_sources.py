"""Stream sources from settings: the scheme allow-list, the segment length bounds, and credentials never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

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
        ("VIGIL_LIVE__CAMERAS", '[{"code": "C1", "url": "rtsp://h/s", "recording": "sometimes"}]', "motion' or 'off"),
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


def test_registered_camera_sources_are_supervised_after_the_settings_ones_and_a_stale_one_is_left_out(
    tmp_path: Path,
) -> None:
    """A force camera's registered source (sealed in the database) becomes a live stream; a source sealed with a
    key this server no longer has is skipped rather than stopping every camera."""
    from tests.support.builders import make_camera, make_user
    from vigil.db.models import CameraSource
    from vigil.db.session import session_scope
    from vigil.governance.camera_sources import seal, set_source, source_policy
    from vigil.live.sources import CameraSources
    from vigil.system import open_system, prepare

    settings = make_settings(tmp_path, live={"cameras": [{"code": "C1", "url": "rtsp://10.0.0.4/s"}]})
    system = open_system(settings)
    try:
        prepare(system)

        def register(db: Session) -> None:
            admin = make_user(db, "ada", "admin")
            for code in ("PEN-01", "PEN-02", "C1"):
                make_camera(db, code)
            policy = source_policy(settings)
            set_source(db, user=admin, camera_code="pen-01", url="rtsp://u:hunter2@10.0.0.5/s1", policy=policy)
            set_source(db, user=admin, camera_code="C1", url="rtsp://10.0.0.6/ignored", policy=policy)
            stale = set_source(db, user=admin, camera_code="PEN-02", url="rtsp://10.0.0.7/s", policy=policy)
            stale.sealed = seal("rtsp://10.0.0.7/s", b"0" * 43 + b"=")  # another server's key

        with session_scope(system.sessions) as db:
            register(db)
        sources = CameraSources(settings, system.sessions).sources()
        assert [(s.camera_code, s.url) for s in sources] == [
            ("C1", "rtsp://10.0.0.4/s"),  # settings first; the registered C1 source does not double it
            ("PEN-01", "rtsp://u:hunter2@10.0.0.5/s1"),
        ]
        assert sources[1].shown == f"rtsp://{SECRET_MASK}@10.0.0.5/s1"
        with system.sessions() as db:
            assert "hunter2" not in " ".join(s.sealed + s.masked for s in db.query(CameraSource))
    finally:
        system.close()
