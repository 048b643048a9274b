"""The supervisor follows the cameras' sources while it runs: a camera whose source appears gets a worker process, one
whose source is cleared has its worker stopped, and one whose source changed has its worker restarted with the new
source (real spawned worker processes; the sources point at a closed loopback port, so nothing is recorded)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.live.conftest import live_settings
from tests.support.rtsp import free_port
from vigil.db.session import make_engine, make_session_factory
from vigil.live.sources import StreamSource
from vigil.live.supervisor import LiveSupervisor
from vigil.settings import Settings
from vigil.system import open_system, prepare


@dataclass
class Register:
    """The sources as an administrator edits them (the supervisor's resolver)."""

    listed: list[StreamSource] = field(default_factory=list)

    def sources(self) -> list[StreamSource]:
        return list(self.listed)


def _supervisor(tmp_path: Path) -> tuple[LiveSupervisor, Register, Callable[[], None]]:
    settings: Settings = live_settings(tmp_path / "data", {}, connect_timeout_seconds=1, backoff_max_seconds=1)
    system = open_system(settings)
    prepare(system)
    system.close()
    engine = make_engine(settings)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    register = Register()
    supervisor = LiveSupervisor(settings=settings, sessions=sessions, resolver=register, poll_seconds=3600)

    def close() -> None:
        supervisor.stop(timeout=10)
        engine.dispose()

    return supervisor, register, close


def test_workers_follow_sources_registered_changed_and_cleared(tmp_path: Path) -> None:
    closed = free_port()
    first = StreamSource("CAM-A", f"rtsp://127.0.0.1:{closed}/a", recording="off", analysis=False)
    supervisor, register, close = _supervisor(tmp_path)
    try:
        supervisor.start()
        assert supervisor.workers() == {}, "no source yet: no worker"
        register.listed = [first]
        supervisor.refresh()
        [(code, pid)] = supervisor.workers().items()
        assert code == "CAM-A" and pid is not None
        supervisor.refresh()
        assert supervisor.workers() == {"CAM-A": pid}, "an unchanged source keeps its worker"

        second = StreamSource("CAM-B", f"rtsp://127.0.0.1:{closed}/b", recording="off", analysis=False)
        moved = StreamSource("CAM-A", f"rtsp://127.0.0.1:{closed}/a2", recording="off", analysis=False)
        register.listed = [moved, second]
        supervisor.refresh()
        workers = supervisor.workers()
        assert set(workers) == {"CAM-A", "CAM-B"} and workers["CAM-A"] not in (None, pid), "restarted"
        assert not _alive(pid), "the old worker of the changed source has stopped"

        register.listed = [second]
        gone = workers["CAM-A"]
        supervisor.refresh()
        assert set(supervisor.workers()) == {"CAM-B"} and gone is not None and not _alive(gone)
    finally:
        close()


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()
