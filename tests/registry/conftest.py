"""Fixtures of the registry tests: a real SMTP server and settings that send mail to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.registry.live_support import owner_clip
from tests.registry.smtp import Mailbox, smtp_server
from tests.support.rtsp import RtspServer, rtsp_server
from vigil.settings import Settings


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def settings(tmp_path: Path, mailbox: Mailbox) -> Settings:
    return make_settings(
        tmp_path / "data",
        mail={"host": "127.0.0.1", "port": mailbox.port, "link_base_url": "https://vigil.example.org"},
    )


@pytest.fixture(scope="session")
def camera_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    """An owner's camera: the real RTSP test server looping a generated H.264 clip as 'shop' and 'till'."""
    clip = owner_clip(tmp_path_factory.mktemp("owner-camera"))
    with rtsp_server({"shop": clip, "till": clip}) as server:
        yield server


@pytest.fixture
def live_settings(tmp_path: Path, mailbox: Mailbox) -> Settings:
    """Settings whose owners' streams may be on loopback (where the test camera is)."""
    return make_settings(
        tmp_path / "data",
        mail={"host": "127.0.0.1", "port": mailbox.port, "link_base_url": "https://vigil.example.org"},
        registry={"allow_local_streams": True, "live_connect_timeout_seconds": 5},
    )
