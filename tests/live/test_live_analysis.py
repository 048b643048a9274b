"""Live analysis: a real RTSP server looping PETS09, real worker processes, a real database and the real search.

Tracks must be searchable while the stream runs (within seconds, before the segment they are in is even
closed), end up on the recorded segment they were first seen in (so the review page plays that moment), survive
a ``kill -9`` of the worker exactly once, and never exist for a camera whose analysis is off.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.live.conftest import RECORDER, live_settings
from tests.support.builders import make_camera, make_case, make_user
from tests.support.rtsp import rtsp_server, wait_for
from vigil.cli import app
from vigil.db.base import utcnow
from vigil.db.live_models import LiveCheckpoint, LiveHealth, LiveSegment
from vigil.db.models import Camera, Footage, Track
from vigil.db.session import session_scope
from vigil.governance.access import make_context
from vigil.governance.users import get_user
from vigil.live.analysis import LiveAnalysis
from vigil.live.observers import LiveFrame
from vigil.live.segments import StreamClock
from vigil.live.sources import StreamSource
from vigil.live.tracks import RESERVED_SOURCE
from vigil.search.query.cards import ResultCard
from vigil.search.query.service import run_search
from vigil.search.query.track_query import TrackQuery
from vigil.system import System, open_system, prepare

pytestmark = pytest.mark.data
CASE = make_context("CUM-2026-000500", "live monitoring of the square: follow people as they pass")


@pytest.fixture
def analysed_system(tmp_path: Path) -> Iterator[Callable[..., System]]:
    """Systems whose cameras have a current PIA (the basis live analysis needs); ``no_pia`` cameras have none."""
    systems: list[System] = []

    def build(cameras: dict[str, str | dict[str, object]], *, no_pia: tuple[str, ...] = (), **live: object) -> System:
        system = open_system(live_settings(tmp_path / "data", cameras, **live))  # type: ignore[arg-type]
        prepare(system)
        with session_scope(system.sessions) as db:
            make_user(db, RECORDER, "operator", trained_for=("analytics",))
            analyst = make_user(db, "analyst", "investigator", trained_for=("analytics",))
            make_case(db, CASE.case_ref, members=[analyst])
            for code in cameras:
                make_camera(db, code, pia_review=None if code in no_pia else date.today() + timedelta(days=200))
        systems.append(system)
        return system

    yield build
    for system in systems:
        system.close()


def search(system: System, code: str) -> list[ResultCard]:
    """What the real search service finds on camera ``code`` for the analyst (audited like any search)."""
    with session_scope(system.sessions) as db:
        analyst = get_user(db, "analyst")
        return run_search(db=db, user=analyst, context=CASE, query=TrackQuery(cameras=[code], limit=500)).cards


def final_tracks(system: System, code: str) -> list[Track]:
    with session_scope(system.sessions) as db:
        stmt = select(Track).join(Track.camera).where(Camera.code == code, Track.track_no > 0)
        tracks = list(db.execute(stmt.order_by(Track.track_no)).scalars())
        for track in tracks:
            db.expunge(track)
        return tracks


def health(system: System, code: str) -> LiveHealth:
    with session_scope(system.sessions) as db:
        row = db.get(LiveHealth, code)
        assert row is not None, f"no health of {code}"
        db.expunge(row)
        return row


def checkpoint_tracks(system: System, code: str) -> int:
    with session_scope(system.sessions) as db:
        row = db.get(LiveCheckpoint, code)
        return row.tracks if row is not None else 0


def test_tracks_are_searchable_while_the_stream_runs_and_end_on_their_recorded_segment(
    pets_clip: Path, analysed_system: Callable[..., System], monkeypatch: pytest.MonkeyPatch
) -> None:
    cameras: dict[str, str | dict[str, object]] = {}
    with rtsp_server({"pets": pets_clip}) as server:
        cameras = {
            "CAM-LIVE": server.url("pets"),
            "CAM-OFF": {"url": server.url("pets"), "analysis": False},
            "CAM-NOPIA": server.url("pets"),
        }
        # Segments of 30 s: a track found in the first ones can only have come through the reserved segment.
        system = analysed_system(cameras, no_pia=("CAM-NOPIA",), segment_seconds=30, tracks_every_seconds=1)
        system.live.start()
        latencies: dict[int, float] = {}
        in_recording: set[int] = set()
        deadline = time.monotonic() + 120
        while len(latencies) < 5 and time.monotonic() < deadline:
            for card in search(system, "CAM-LIVE"):
                key = int(card.first_seen.timestamp() * 10)  # a provisional row's id changes; its first sight does not
                if key not in latencies:
                    latencies[key] = time.time() - card.first_seen.timestamp()
                    with session_scope(system.sessions) as db:
                        footage = db.get(Footage, card.footage_id)
                        if footage is not None and footage.source == RESERVED_SOURCE:
                            in_recording.add(key)
            time.sleep(0.5)
        assert len(latencies) >= 5, f"only {len(latencies)} tracks became searchable; {health(system, 'CAM-LIVE')}"
        seconds = sorted(latencies.values())
        print(f"frame to searchable: p50 {statistics.median(seconds):.1f} s, max {seconds[-1]:.1f} s")
        assert in_recording, "no track was searchable before its segment was closed"
        live = health(system, "CAM-LIVE")
        assert live.analysis == "on" and live.analysed_fps > 2
        assert health(system, "CAM-OFF").analysis == "off" and health(system, "CAM-NOPIA").analysis == "no PIA"
        wait_for(lambda: len(segments(system, "CAM-OFF")) >= 1, timeout=60, what="CAM-OFF recorded")
        monkeypatch.setenv("VIGIL_DATA_DIR", str(system.settings.data_dir))
        monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
        monkeypatch.setenv("VIGIL_LIVE__CAMERAS", json.dumps([{"code": c, "url": server.url("pets")} for c in cameras]))
        result = CliRunner().invoke(app, ["live", "status", "--as", "analyst", "--json"])
        assert result.exit_code == 0, result.output
        listed = {item["camera"]: item for item in json.loads(result.output)}
        assert listed["CAM-LIVE"]["analysis"] == "on" and listed["CAM-LIVE"]["analysed_fps"] > 2  # type: ignore[operator]
        assert listed["CAM-OFF"]["analysis"] == "off" and listed["CAM-NOPIA"]["analysis"] == "no PIA"
        system.live.stop()  # a clean stop: the last segments are closed and the finished tracks written

    tracks = final_tracks(system, "CAM-LIVE")
    assert tracks, "no track was finalised"
    assert [t.track_no for t in tracks] == sorted({t.track_no for t in tracks})  # each written once
    recorded = {s.footage_id: s for s in segments(system, "CAM-LIVE")}
    with session_scope(system.sessions) as db:
        assert not db.execute(select(Footage).where(Footage.source == RESERVED_SOURCE)).scalars().all()
        for track in tracks:
            footage = db.get(Footage, track.footage_id)
            assert footage is not None and track.footage_id in recorded  # a real recorded segment, with its file
            segment = recorded[track.footage_id]
            first = db.get(Track, track.id).observations[0]  # type: ignore[union-attr]
            # The review page plays the segment from the track's first frame: that moment is in this segment.
            assert segment.started_at - timedelta(seconds=0.2) <= track.first_seen < segment.ended_at
            assert abs(footage.start_time + timedelta(seconds=first.t) - track.first_seen) < timedelta(seconds=0.01)
            assert abs(first.frame_index / footage.fps - first.t) <= 1 / footage.fps
            # Its picture lies in the footage's own folder, which retention deletes with it.
            assert track.thumbnail_path and track.thumbnail_path.startswith(f"derived/{footage.id}/")
            assert (system.settings.data_dir / track.thumbnail_path).is_file()
        held = {p.name for p in (system.settings.data_dir / "derived").iterdir()}
        assert held <= {str(i) for i in db.execute(select(Footage.id)).scalars()}  # no folder of a reserved row
        for code in ("CAM-OFF", "CAM-NOPIA"):
            camera = db.execute(select(Camera).where(Camera.code == code)).scalar_one()
            assert not db.execute(select(Track).where(Track.camera_id == camera.id)).first()


def test_a_killed_worker_resumes_from_its_checkpoint_writing_each_track_once(
    pets_clip: Path, analysed_system: Callable[..., System]
) -> None:
    with rtsp_server({"pets": pets_clip}) as server:
        system = analysed_system(
            {"CAM-KILL": server.url("pets")}, segment_seconds=5, checkpoint_seconds=3, tracks_every_seconds=1
        )
        system.live.start()
        wait_for(lambda: checkpoint_tracks(system, "CAM-KILL") >= 2, timeout=120, what="tracks checkpointed")
        before = final_tracks(system, "CAM-KILL")
        pid = system.live.workers()["CAM-KILL"]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: system.live.workers().get("CAM-KILL") not in (None, pid), timeout=60, what="restarted")
        saved = checkpoint_tracks(system, "CAM-KILL")
        wait_for(lambda: checkpoint_tracks(system, "CAM-KILL") >= saved + 2, timeout=120, what="tracks after restart")
        system.live.stop()

    after = final_tracks(system, "CAM-KILL")
    numbers = [t.track_no for t in after]
    assert len(numbers) == len(set(numbers)), "a track was written twice"
    assert {t.id for t in before} <= {t.id for t in after}, "a finished track was lost"
    # The restarted worker went on from the checkpoint: it numbered on, it did not start again at 1.
    assert min(t.track_no for t in after if t.id not in {b.id for b in before}) > max(t.track_no for t in before)
    assert checkpoint_tracks(system, "CAM-KILL") == len(after)
    with session_scope(system.sessions) as db:
        assert not db.execute(select(Footage).where(Footage.source == RESERVED_SOURCE)).scalars().all()
        recorded = {s.footage_id for s in db.execute(select(LiveSegment)).scalars()}
        assert {t.footage_id for t in after} <= recorded  # a lost segment's tracks moved onto the next one


def segments(system: System, code: str) -> list[LiveSegment]:
    with session_scope(system.sessions) as db:
        rows = list(db.execute(select(LiveSegment).where(LiveSegment.camera_code == code)).scalars())
        for row in rows:
            db.expunge(row)
        return rows


class Seen:
    """An observer that keeps what it is shown."""

    def __init__(self) -> None:
        self.frames: list[LiveFrame] = []
        self.closed = False

    def observe(self, frame: LiveFrame) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        self.closed = True


class Broken(Seen):
    def observe(self, frame: LiveFrame) -> None:
        super().observe(frame)
        raise RuntimeError("a bug in an observer")


def feed(live: LiveAnalysis, clip: Path, *, seconds: float) -> float:
    """Hand ``live`` the packets of the clip's first ``seconds`` as a worker would; return the stream seconds fed."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        clock, last = StreamClock(stream.time_base), 0.0
        live.connected()
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            clock.observe(packet.pts, utcnow())
            last = float(packet.pts * stream.time_base)
            if last >= seconds:
                break
            live.packet(packet, clock=clock, segment=None)
    return last


@pytest.mark.parametrize("analysis", [True, False])
def test_observers_see_frames_at_the_analysis_rate_and_a_failing_one_is_dropped(
    pets_clip: Path, analysed_system: Callable[..., System], analysis: bool
) -> None:
    system = analysed_system({"CAM-OBS": {"url": "rtsp://127.0.0.1:9/none", "recording": "off"}}, analysis_fps=4)
    source = StreamSource(camera_code="CAM-OBS", url="rtsp://127.0.0.1:9/none", recording="off", analysis=analysis)
    seen, broken = Seen(), Broken()
    live = LiveAnalysis(settings=system.settings, sessions=system.sessions, source=source, observers=[broken, seen])
    fed = feed(live, pets_clip, seconds=10)
    assert len(broken.frames) == 1 and broken.closed  # logged, switched off and closed; the others go on
    assert abs(len(seen.frames) - 4 * fed) <= 2  # 4 of the clip's 10 frames a second
    assert all(f.camera_code == "CAM-OBS" and f.image.shape == (360, 480, 3) for f in seen.frames)
    scenes = [f.scene for f in seen.frames]
    if analysis:
        assert all(s is not None for s in scenes) and any(len(s.tracks) for s in scenes if s is not None)
        assert live.facts()["analysis"] == "on"
    else:
        assert scenes == [None] * len(scenes) and live.facts()["analysis"] == "off"
    live.close(None)
    assert seen.closed
    with session_scope(system.sessions) as db:  # recording off: nothing for a track to link to, nothing stored
        assert not db.execute(select(Track)).first()
        assert (db.get(LiveCheckpoint, "CAM-OBS") is not None) is analysis


class FailingDetector:
    def detect(self, image: object, *, roi: object = None, input_size: int | None = None) -> object:
        raise RuntimeError("the detector's model file is corrupt")


def test_a_failing_analysis_is_switched_off_and_observers_go_on_without_a_scene(
    pets_clip: Path, analysed_system: Callable[..., System]
) -> None:
    system = analysed_system({"CAM-ERR": {"url": "rtsp://127.0.0.1:9/none", "recording": "off"}}, analysis_fps=4)
    source = StreamSource(camera_code="CAM-ERR", url="rtsp://127.0.0.1:9/none", recording="off")
    seen = Seen()
    live = LiveAnalysis(
        settings=system.settings,
        sessions=system.sessions,
        source=source,
        observers=[seen],
        detector=FailingDetector(),  # type: ignore[arg-type]
    )
    fed = feed(live, pets_clip, seconds=5)  # raises nothing: the worker would go on recording
    assert live.facts()["analysis"] == "error" and live.analyser is None
    assert abs(len(seen.frames) - 4 * fed) <= 2 and seen.frames[-1].scene is None
