"""Recording a live camera: a real RTSP server looping PETS09, real worker processes, real footage ingest."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.live import check_chain, decoded_frames, health_of, segments_of, spooled_video, wait_segments
from tests.support.rtsp import rtsp_server, wait_for
from vigil.db.live_models import LiveGap
from vigil.db.models import CustodyEvent, Footage
from vigil.db.session import session_scope
from vigil.footage.custody import DUPLICATE_SUBMITTED, footage_path
from vigil.live.segments import PARTIAL_PREFIX
from vigil.live.store import list_gaps
from vigil.system import System

pytestmark = pytest.mark.data
FRAME = 0.1  # PETS09 runs at 10 frames a second


def test_a_camera_is_recorded_into_chained_segments_that_decode_and_cover_the_recorded_time(
    pets_clip: Path, live_system: Callable[..., System]
) -> None:
    with rtsp_server({"pets-a": pets_clip, "pets-b": pets_clip}) as server:
        watched_only = {"url": server.url("pets-a"), "recording": "off"}
        system = live_system({"CAM-A": server.url("pets-a"), "CAM-B": server.url("pets-b"), "CAM-W": watched_only})
        system.live.start()
        wait_segments(system, "CAM-A", 2, timeout=90)
        wait_segments(system, "CAM-B", 1, timeout=30)
        health = health_of(system, "CAM-A")
        assert health is not None and health.state == "online"
        assert (health.codec, health.width, health.height) == ("h264", 480, 360)
        assert 5 <= health.fps <= 15 and health.last_frame_at is not None
        wait_for(
            lambda: (row := health_of(system, "CAM-W")) is not None and row.state == "online" and row.fps > 0,
            timeout=30,
            what="CAM-W online",
        )
        assert (watched := health_of(system, "CAM-W")) is not None and watched.recording == "off"
        system.live.stop()  # each worker finishes and ingests its segment in progress
    assert not segments_of(system, "CAM-W") and not segments_gaps(system, "CAM-W")  # recording 'off': health only
    for code in ("CAM-A", "CAM-B"):
        segments = check_chain(system, code)
        assert len(segments) >= 2
        for before, after in itertools.pairwise(segments):
            assert before.ended_at == after.started_at  # contiguous on the stream clock: nothing lost at a cut
        with session_scope(system.sessions) as db:
            stored = [db.get(Footage, s.footage_id) for s in segments]
            frames = [decoded_frames(footage_path(system.settings, f)) for f in stored if f is not None]
            durations = [f.duration_s for f in stored if f is not None]
        recorded = (segments[-1].ended_at - segments[0].started_at).total_seconds()
        for segment, count, duration in zip(segments, frames, durations, strict=True):
            span = (segment.ended_at - segment.started_at).total_seconds()
            assert abs(count * FRAME - span) <= 2 * FRAME + 1e-6  # every frame decodes
            assert abs(duration - span) <= 2 * FRAME + 1e-6
        assert abs(sum(frames) * FRAME - recorded) <= 2 * FRAME + 1e-6
        assert sum(durations) == pytest.approx(recorded, abs=2 * FRAME)
        assert not segments_gaps(system, code)
        assert spooled_video(system.settings.live_spool_dir / code) == []  # every segment was ingested
    assert 3 <= (segments_of(system, "CAM-A")[0].ended_at - segments_of(system, "CAM-A")[0].started_at).seconds <= 4


def segments_gaps(system: System, code: str) -> list[LiveGap]:
    with session_scope(system.sessions) as db:
        return list_gaps(db, code)


def test_a_killed_worker_is_restarted_and_its_outage_is_a_gap_with_nothing_ingested_twice(
    pets_clip: Path, live_system: Callable[..., System]
) -> None:
    with rtsp_server({"pets": pets_clip}) as server:
        system = live_system({"CAM-K": server.url("pets")})
        system.live.start()
        wait_segments(system, "CAM-K", 1, timeout=60)
        before = segments_of(system, "CAM-K")
        pid = system.live.workers()["CAM-K"]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: system.live.workers().get("CAM-K") not in (None, pid), timeout=30, what="a restarted worker")
        health = health_of(system, "CAM-K")
        assert health is not None and health.restarts == 1
        wait_segments(system, "CAM-K", len(before) + 2, timeout=60)
        system.live.stop()
    segments = check_chain(system, "CAM-K")
    gaps = segments_gaps(system, "CAM-K")
    assert len(gaps) == 1
    gap = gaps[0]
    assert "SIGKILL" in gap.reason and gap.ended_at is not None
    last_before = max((s for s in segments if s.started_at <= gap.started_at), key=lambda s: s.ended_at)
    first_after = min((s for s in segments if s.started_at >= gap.started_at), key=lambda s: s.started_at)
    assert gap.started_at == last_before.ended_at  # the gap covers exactly what was not recorded
    assert gap.ended_at == first_after.started_at
    for before_gap, after_gap in itertools.pairwise(segments):
        if before_gap is not last_before:
            assert before_gap.ended_at == after_gap.started_at
    with session_scope(system.sessions) as db:
        assert db.query(Footage).count() == len(segments)  # no segment stored twice
        duplicates = db.execute(select(CustodyEvent).where(CustodyEvent.action == DUPLICATE_SUBMITTED)).all()
        assert not duplicates
    assert not list(system.settings.live_spool_dir.joinpath("CAM-K").glob(f"{PARTIAL_PREFIX}*"))
