"""Bad sources and faults: each camera shows why it is not recording, reconnects, and never disturbs another."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.support.live import health_of, spooled_video
from tests.support.rtsp import free_port, rtsp_server, wait_for
from vigil.cli import app
from vigil.db.live_models import LiveGap
from vigil.db.models import AuditEntry, Footage
from vigil.db.session import session_scope
from vigil.live.store import list_gaps, list_segments
from vigil.system import System

pytestmark = pytest.mark.data


def reason_of(system: System, code: str, *, state: str, words: tuple[str, ...], timeout: float = 60) -> str:
    """Wait until the camera is in ``state`` with a reason holding one of ``words``; return the reason."""

    def shown() -> bool:
        row = health_of(system, code)
        return row is not None and row.state == state and any(w in row.reason.lower() for w in words)

    try:
        wait_for(shown, timeout=timeout, what=f"{code} {state} ({' / '.join(words)})")
    except AssertionError as exc:
        row = health_of(system, code)
        raise AssertionError(f"{exc}; last health: {row.state if row else None}: {row.reason if row else ''}") from None
    row = health_of(system, code)
    assert row is not None
    return row.reason


def segment_count(system: System, code: str) -> int:
    with session_scope(system.sessions) as db:
        return len(list_segments(db, code))


def gaps(system: System, code: str) -> list[LiveGap]:
    with session_scope(system.sessions) as db:
        return list_gaps(db, code)


def test_bad_sources_show_why_reconnect_and_leave_the_good_camera_recording(
    pets_clip: Path, live_system: Callable[..., System], monkeypatch: pytest.MonkeyPatch
) -> None:
    streams = {"pets": pets_clip, "junk": pets_clip, "stalls": pets_clip}
    with rtsp_server(streams, stall={"stalls": 4.5}, garbage=("junk",)) as server:
        cameras = {
            "CAM-OK": server.url("pets"),
            "CAM-DOWN": f"rtsp://admin:secret@127.0.0.1:{free_port()}/stream1",  # nothing listens there
            "CAM-404": server.url("no-such-stream"),
            "CAM-JUNK": server.url("junk"),
            "CAM-STALL": server.url("stalls"),
        }
        system = live_system(cameras)
        system.live.start()
        good_pid = system.live.workers()["CAM-OK"]
        refused = reason_of(system, "CAM-DOWN", state="offline", words=("refused",))
        assert "secret" not in refused  # the stream's credentials are never shown
        reason_of(system, "CAM-404", state="offline", words=("404", "not found"))
        reason_of(system, "CAM-JUNK", state="offline", words=("not video", "stalled", "failed", "invalid"))
        reason_of(system, "CAM-STALL", state="offline", words=("stalled",))
        wait_for(lambda: any(g.ended_at for g in gaps(system, "CAM-STALL")), timeout=60, what="the stall's gap closed")
        recorded = segment_count(system, "CAM-OK")
        wait_for(lambda: segment_count(system, "CAM-OK") >= recorded + 1, timeout=30, what="CAM-OK still recording")
        assert system.live.workers()["CAM-OK"] == good_pid  # never restarted, never disturbed
        row = health_of(system, "CAM-OK")
        assert row is not None and row.state == "online" and row.restarts == 0
        assert health_of(system, "CAM-DOWN").restarts == 0  # type: ignore[union-attr]  # reconnects in its worker

        monkeypatch.setenv("VIGIL_DATA_DIR", str(system.settings.data_dir))
        monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
        monkeypatch.setenv(
            "VIGIL_LIVE__CAMERAS", json.dumps([{"code": code, "url": url} for code, url in cameras.items()])
        )
        result = CliRunner().invoke(app, ["live", "status", "--as", "watcher", "--json"])
        assert result.exit_code == 0, result.output
        listed = {item["camera"]: item for item in json.loads(result.output)}
        monkeypatch.setenv("COLUMNS", "200")
        table = CliRunner().invoke(app, ["live", "status", "--as", "watcher"])
        print(table.output)
        assert table.exit_code == 0 and "CAM-OK" in table.output and "CAM-STALL" in table.output
    assert set(listed) == set(cameras)
    assert listed["CAM-OK"]["state"] == "online" and listed["CAM-OK"]["resolution"] == "480x360"
    assert listed["CAM-DOWN"]["state"] in ("offline", "connecting") and "secret" not in json.dumps(listed)
    stall_gap = next(g for g in gaps(system, "CAM-STALL") if g.ended_at is not None)
    assert "stalled" in stall_gap.reason and stall_gap.ended_at > stall_gap.started_at  # type: ignore[operator]
    assert not gaps(system, "CAM-OK")
    with session_scope(system.sessions) as db:
        views = db.execute(select(AuditEntry).where(AuditEntry.action == "live.status")).scalars().all()
        assert [v.actor for v in views] == ["watcher", "watcher"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB filesystem (tmpfs) with under 100 KB left free; skipped where mounting is not permitted."""
    folder = tmp_path / "tiny-disk"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)]).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        (folder / "ballast").write_bytes(b"\0" * (2 * 1024 * 1024 - 96 * 1024))
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_stops_recording_with_a_clear_state_and_nothing_half_written_is_ingested(
    pets_clip: Path, live_system: Callable[..., System], tiny_disk: Path
) -> None:
    with rtsp_server({"pets": pets_clip}) as server:
        system = live_system({"CAM-FULL": server.url("pets")}, spool_dir=str(tiny_disk), segment_seconds=4)
        system.live.start()
        reason = reason_of(system, "CAM-FULL", state="error", words=("no space left",))
        assert reason.startswith("recording stopped")
        pid = system.live.workers()["CAM-FULL"]
        wait_for(  # the worker stays connected (its health goes on) but records nothing more
            lambda: (row := health_of(system, "CAM-FULL")) is not None and row.state == "error" and row.fps > 0,
            timeout=30,
            what="health reported after the failure",
        )
        assert system.live.workers()["CAM-FULL"] == pid
        system.live.stop()
    assert segment_count(system, "CAM-FULL") == 0
    with session_scope(system.sessions) as db:
        assert not db.execute(select(Footage)).first()  # the partial segment was never taken for evidence
    assert spooled_video(tiny_disk / "CAM-FULL") == []  # and it was deleted
    gap = gaps(system, "CAM-FULL")
    assert len(gap) == 1 and "no space left" in gap[0].reason.lower() and gap[0].ended_at is None
