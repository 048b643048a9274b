"""An owner's stream addresses: bad input gets a clear message naming the camera, never repeats the password,
and stores nothing; several cameras at one site are shared in one go (or none is)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.registry.builders import active_owner
from tests.registry.live_support import password_refusing_camera
from tests.registry.smtp import Mailbox
from tests.support.rtsp import RtspServer, free_port
from vigil.db.share_models import SharedCamera
from vigil.errors import InvalidInput
from vigil.governance.camera_sources import unseal
from vigil.registry.sharing import parse_site, share_site
from vigil.registry.streams import probe_stream, stream_policy
from vigil.settings import Settings

SITE = {"site": "Main Street shop", "latitude": 54.6641, "longitude": -2.7527, "terms": "ask"}


def probe(url: str, masked: str) -> None:
    probe_stream(url, masked=masked, timeout_s=5)


def share(db: Session, settings: Settings, token: str, streams: dict[str, str], **site: object) -> list[SharedCamera]:
    cameras = [{"label": label, "url": url} for label, url in streams.items()]
    data = parse_site({**SITE, **site, "cameras": cameras}, settings=settings)
    return share_site(db, settings=settings, token=token, data=data, probe=probe)


def stored(db: Session) -> int:
    return int(db.execute(select(func.count(SharedCamera.id))).scalar_one())


@pytest.fixture
def strict_settings(tmp_path: Path, mailbox: Mailbox) -> Settings:
    """The production rules: no loopback, no force networks."""
    return make_settings(tmp_path / "data", mail={"host": "127.0.0.1", "port": mailbox.port})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("rtsp://admin:hunter2@127.0.0.1:554/live", "cannot be on the vigil server itself"),
        ("rtsp://admin:hunter2@localhost/live", "cannot be on the vigil server itself"),
        ("rtsp://[::1]:554/live", "cannot be on the vigil server itself"),
        ("rtsp://admin:hunter2@10.20.30.40/live", "inside the force's own network"),
        ("http://192.168.1.10/video.mjpg", "inside the force's own network"),
        ("rtsp://[fd00::5]/live", "inside the force's own network"),
        ("http://169.254.169.254/latest/meta-data", "link-local addresses"),
        ("ftp://admin:hunter2@cam.example.org/live", "not ftp://"),
        ("file:///etc/passwd", "give your camera's stream address"),
        ("/etc/passwd", "give your camera's stream address"),
        ("javascript:alert(1)", "give your camera's stream address"),
        ("rtsp://cam era.example.org/live", "without spaces"),
        ("rtsp://admin:hunter2@cam.example.org/" + "a" * 600, "at most 500 characters"),
        ("rtsp://admin:hunter2@cam.example.org/" + "a" * 3000, "at most 2000 characters"),
        ("rtsp://admin:hunter2@[cam.example.org/live", "not a valid URL"),
    ],
)
def test_addresses_outside_the_allow_list_are_refused_clearly_and_nothing_is_stored(
    db: Session, strict_settings: Settings, mailbox: Mailbox, url: str, message: str
) -> None:
    _, token = active_owner(db, strict_settings, mailbox)
    with pytest.raises(InvalidInput, match=message) as refused:
        share(db, strict_settings, token, {"front": url})
    assert "hunter2" not in refused.value.message
    db.rollback()
    assert stored(db) == 0


def test_unreachable_wrong_path_and_wrong_password_streams_are_refused_by_the_test_at_sign_up(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    _, token = active_owner(db, live_settings, mailbox)
    with password_refusing_camera() as refusing:
        cases = {
            f"rtsp://admin:hunter2@127.0.0.1:{free_port()}/live": "could not be reached",
            camera_server.url("nope").replace("rtsp://", "rtsp://admin:hunter2@"): "no stream at that path",
            refusing.replace("http://", "http://admin:hunter2@") + "/video.mjpg": "refused the user name or password",
        }
        for url, message in cases.items():
            with pytest.raises(InvalidInput, match=message) as refused:
                share(db, live_settings, token, {"front": url})
            assert "hunter2" not in refused.value.message and "Nothing was saved" in refused.value.message
            db.rollback()
    assert stored(db) == 0


def test_several_cameras_at_one_site_are_shared_in_one_go_sealed_or_none_is(
    db: Session, live_settings: Settings, mailbox: Mailbox, camera_server: RtspServer
) -> None:
    _, token = active_owner(db, live_settings, mailbox, kind="business")
    secret = camera_server.url("shop").replace("rtsp://", "rtsp://owner:hunter2@")
    with pytest.raises(InvalidInput, match=r"Camera 2 \(back\): .*no stream at that path"):
        share(db, live_settings, token, {"till": secret, "back": camera_server.url("nope")})
    db.rollback()
    assert stored(db) == 0
    shop, till = share(db, live_settings, token, {"shop": secret, "till": camera_server.url("till")}, terms="emergency")
    assert (shop.site, till.site) == ("Main Street shop", "Main Street shop") and shop.terms == "emergency"
    assert shop.masked == f"rtsp://***@127.0.0.1:{camera_server.port}/shop" and "hunter2" not in shop.sealed
    assert unseal(shop.sealed, stream_policy(live_settings).key) == secret


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"off_from": "22:00"}, "give both times when sharing is off"),
        ({"off_from": "25:00", "off_until": "07:00"}, "give a time as HH:MM"),
        ({"max_view_minutes": 31}, "a view may last at most 30 minutes"),
        ({"terms": "always"}, "terms"),
        ({"latitude": "north"}, "latitude"),
    ],
)
def test_bad_terms_are_refused_with_the_field_named(
    live_settings: Settings, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_site(
            {**SITE, **fields, "cameras": [{"label": "shop", "url": "rtsp://cam.example.org/s"}]},
            settings=live_settings,
        )
