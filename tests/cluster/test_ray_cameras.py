"""Live cameras as Ray actors on the loopback two-node cluster, recording and analysing real RTSP streams into
PostgreSQL: four cameras spread two per node by declared CPU, a ``kill -9`` of one actor's process restarts it
with its gap recorded, its analysis resumes from the checkpoint writing no track twice, and ``vigil cluster
status`` shows each camera's node and lag."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from sqlalchemy import select

from tests.cluster.conftest import ClusterSystem
from tests.support.live import segments_of
from tests.support.rtsp import wait_for
from vigil.cluster.cameras import RESTARTED, RayCameras
from vigil.cluster.status import cluster_status, render
from vigil.db.live_models import LiveCheckpoint, LiveHealth
from vigil.db.models import Camera, CustodyEvent, Footage, Track
from vigil.db.session import session_scope
from vigil.footage.custody import DUPLICATE_SUBMITTED
from vigil.live.sources import SettingsSources
from vigil.live.store import list_gaps, list_segments
from vigil.live.tracks import RESERVED_SOURCE
from vigil.system import System

pytestmark = [pytest.mark.ray, pytest.mark.postgres, pytest.mark.data]


def checkpoint_tracks(system: System, code: str) -> int:
    with session_scope(system.sessions) as db:
        row = db.get(LiveCheckpoint, code)
        return row.tracks if row is not None else 0


def final_tracks(system: System, code: str) -> list[Track]:
    with session_scope(system.sessions) as db:
        stmt = select(Track).join(Track.camera).where(Camera.code == code, Track.track_no > 0)
        tracks = list(db.execute(stmt.order_by(Track.track_no)).scalars())
        for track in tracks:
            db.expunge(track)
        return tracks


def test_four_cameras_spread_two_per_node_and_a_killed_actor_resumes_recording_and_analysis_writing_nothing_twice(
    cluster_system: ClusterSystem,
) -> None:
    # Half a CPU a camera on 1-CPU nodes: placed by declared CPU, two cameras fit on each node. CAM-A (full size)
    # is recorded and analysed; the three others are recorded from a small stream (light on this machine).
    codes = ("CAM-A", "CAM-B", "CAM-C", "CAM-D")
    system = cluster_system(
        codes,
        analysed=("CAM-A",),
        small=codes[1:],
        ray={"cpus_per_camera": 0.5},
        checkpoint_seconds=3,
        tracks_every_seconds=1,
    )
    cameras = RayCameras(settings=system.settings, resolver=SettingsSources(system.settings))
    cameras.start()
    try:
        wait_for(lambda: all(w is not None for w in cameras.workers().values()), timeout=60, what="camera actors")
        placed = cameras.workers()
        per_node = Counter(where[0] for where in placed.values() if where)
        assert sorted(per_node.values()) == [2, 2], f"two cameras on each node: {placed}"
        wait_for(
            lambda: all(len(segments_of(system, code)) >= 1 for code in codes), timeout=90, what="a segment of each"
        )
        status = cluster_status(system.settings)
        assert sorted(camera for node in status.nodes for camera in node.cameras) == list(codes)
        assert all(len(node.cameras) == 2 for node in status.nodes)
        text = render(status)
        for node in status.nodes:
            assert f"2 camera(s): {', '.join(sorted(node.cameras))}" in text
            assert sorted(node.cameras) == sorted(c for c, w in placed.items() if w and w[0] == node.node_id)
        for code, where in placed.items():
            assert where is not None
            [shown] = [camera for camera in status.cameras if camera.code == code]
            assert shown.node == f"127.0.0.1 {where[0][:12]}", "the health row names the actor's node"
            assert shown.state in {"online", "connecting"} and 0 <= shown.lag_s < 30
            assert f"{code:<12} {shown.state:<10} lag {shown.lag_s:.2f} s  on 127.0.0.1 {where[0][:12]}" in text
        wait_for(lambda: checkpoint_tracks(system, "CAM-A") >= 1, timeout=120, what="tracks of CAM-A checkpointed")
        before_tracks = final_tracks(system, "CAM-A")
        assert before_tracks, "the camera's actor analyses: finished tracks are stored"
        before = len(segments_of(system, "CAM-A"))
        killed = placed["CAM-A"]
        assert killed is not None
        os.kill(killed[1], signal.SIGKILL)
        wait_for(
            lambda: (cameras.workers().get("CAM-A") or (None, killed[1]))[1] != killed[1],
            timeout=60,
            what="a restarted camera actor",
        )
        wait_for(lambda: len(segments_of(system, "CAM-A")) >= before + 2, timeout=90, what="recording resumed")
        saved = checkpoint_tracks(system, "CAM-A")
        wait_for(lambda: checkpoint_tracks(system, "CAM-A") >= saved + 1, timeout=120, what="tracks after restart")
    finally:
        cameras.stop()
    after = final_tracks(system, "CAM-A")
    numbers = [t.track_no for t in after]
    assert len(numbers) == len(set(numbers)), "a track was written twice"
    assert {t.id for t in before_tracks} <= {t.id for t in after}, "a finished track was lost"
    # The restarted actor went on from the checkpoint: it numbered on, it did not start again at 1.
    new = [t.track_no for t in after if t.id not in {b.id for b in before_tracks}]
    assert new and min(new) > max(t.track_no for t in before_tracks)
    assert checkpoint_tracks(system, "CAM-A") == len(after)
    assert not any(final_tracks(system, code) for code in codes[1:]), "a camera without a PIA is never analysed"
    with session_scope(system.sessions) as db:
        row = db.get(LiveHealth, "CAM-A")
        assert row is not None and row.restarts == 1
        gaps = list_gaps(db, "CAM-A")
        assert len(gaps) == 1 and gaps[0].reason == RESTARTED and gaps[0].ended_at is not None
        recorded = [segment for code in codes for segment in list_segments(db, code)]
        assert db.query(Footage).where(Footage.source != RESERVED_SOURCE).count() == len(recorded)
        assert not db.execute(select(Footage).where(Footage.source == RESERVED_SOURCE)).scalars().all()
        assert not db.execute(select(CustodyEvent).where(CustodyEvent.action == DUPLICATE_SUBMITTED)).all()
        for code in codes[1:]:
            assert not list_gaps(db, code), "the other cameras never stopped"
