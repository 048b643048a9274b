"""Live-camera tests: a real RTSP server on loopback looping PETS09 (vtest.avi) and real worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings, shared_data_dir
from tests.support.builders import make_camera, make_user
from tests.support.rtsp import camera_clip
from vigil.db.session import session_scope
from vigil.settings import Settings
from vigil.system import System, open_system, prepare

VTEST = Path("pets09-s2l1") / "vtest.avi"
RECORDER = "recorder"


@pytest.fixture(scope="session")
def pets_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PETS09 S2L1 re-encoded with a keyframe a second (as CCTV cameras send), made once per test session."""
    video = shared_data_dir() / VTEST
    if not video.exists():
        pytest.skip(f"{video} is not available")
    return camera_clip(video, tmp_path_factory.mktemp("clips") / "pets09-gop10.mp4")


def live_settings(data_dir: Path, cameras: dict[str, str | dict[str, str]], **live: object) -> Settings:
    """Settings of a system recording ``cameras`` (code -> URL, or -> {"url": ..., "recording": ...})."""
    options: dict[str, object] = {
        "recorder_user": RECORDER,
        "segment_seconds": 3,
        "connect_timeout_seconds": 3,
        "backoff_initial_seconds": 0.5,
        "backoff_max_seconds": 2,
        "health_every_seconds": 0.5,
        "cameras": [
            {"code": code, **(url if isinstance(url, dict) else {"url": url})} for code, url in cameras.items()
        ],
        **live,
    }
    return make_settings(data_dir, live=options)


@pytest.fixture
def live_system(tmp_path: Path) -> Iterator[Callable[..., System]]:
    """A factory of prepared systems whose cameras stream from the given URLs; closed (workers stopped) after."""
    systems: list[System] = []

    def build(cameras: dict[str, str], **live: object) -> System:
        system = open_system(live_settings(tmp_path / "data", cameras, **live))
        prepare(system)
        with session_scope(system.sessions) as db:
            make_user(db, RECORDER, "operator", trained_for=("analytics",))
            make_user(db, "watcher", "operator")
            for code in cameras:
                make_camera(db, code)
        systems.append(system)
        return system

    yield build
    for system in systems:
        system.close()
