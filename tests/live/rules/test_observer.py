"""The rules observer in a real system: frames in, alerts stored with a snapshot, clips cut by stream copy from
recorded segments once they are ingested ("clip pending" until then), and the retention rule registered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import make_settings
from tests.support.builders import make_camera, make_user
from tests.support.live import make_scene, person
from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.db.rule_models import LiveRuleAlert
from vigil.db.session import session_scope
from vigil.live.observers import LiveFrame, build_observers
from vigil.live.rules.observer import RulesObserver
from vigil.live.rules.service import create_rule, parse_request
from vigil.live.store import RecordedSegment, ingest_segment
from vigil.system import System, default_rules, open_system, prepare

CASE = "CUM-2026-000303"


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    built = open_system(make_settings(tmp_path / "data"))
    prepare(built)
    with session_scope(built.sessions) as db:
        olive = make_user(db, "olive", "operator", trained_for=("analytics",), cases=[CASE])
        make_user(db, "recorder", "operator", trained_for=("analytics",))
        make_camera(db, "PEN-01")
        request = parse_request(
            {"name": "Door", "camera": "PEN-01", "kind": "zone_entry", "days": 1,
             "polygon": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]}
        )  # fmt: skip
        create_rule(db=db, user=olive, request=request, case=CASE, purpose="watch the doorway tonight")
    yield built
    built.close()


def write_segment(path: Path, seconds: float, *, shade: int, fps: int = 10) -> None:
    """An H.264 segment with a keyframe a second, as a recorder writes them (``shade`` makes each one differ)."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 200, 100, "yuv420p"
        stream.codec_context.gop_size = fps
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            image = np.full((100, 200, 3), (shade + i * 5) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def feed(observer: RulesObserver, start: datetime) -> None:
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    for i in range(41):  # track 7 walks from x = 0.1 to 0.9 in 4 s: enters the right half at t = 2 s
        scene = make_scene(i / 10, [person(7, 0.1 + 0.02 * i)])
        observer.observe(LiveFrame("PEN-01", image, start + timedelta(seconds=i / 10), scene))


def test_an_alert_gets_its_snapshot_then_its_clip_when_the_segment_is_ingested(system: System, tmp_path: Path) -> None:
    settings = system.settings
    [observer] = [
        o
        for o in build_observers(settings=settings, sessions=system.sessions, camera_code="PEN-01")
        if isinstance(o, RulesObserver)
    ]
    start = utcnow().replace(microsecond=0) - timedelta(seconds=20)
    feed(observer, start)
    with session_scope(system.sessions) as db:
        [alert] = db.execute(select(LiveRuleAlert)).scalars().all()
        assert alert.track_id == 7 and alert.clip_state == "pending" and alert.state == "new"
        assert abs((alert.at - start).total_seconds() - 2.0) <= 0.11
        snapshot = cv2.imread(str(settings.data_dir / str(alert.snapshot_path)))
    assert snapshot is not None and snapshot.shape == (100, 200, 3)
    assert snapshot[:, :, 2].max() > 200  # the box is drawn in red on a black frame

    observer.cut_clips()  # nothing recorded yet: still pending
    with session_scope(system.sessions) as db:
        assert db.execute(select(LiveRuleAlert.clip_state)).scalar_one() == "pending"

    for n, begins in enumerate((start - timedelta(seconds=3), start + timedelta(seconds=3))):
        path = tmp_path / f"PEN-01-{n}.mp4"
        write_segment(path, 6.0, shade=100 * n)
        with session_scope(system.sessions) as db:
            recorder = db.execute(select(User).where(User.username == "recorder")).scalar_one()
            segment = RecordedSegment("PEN-01", path, begins, begins + timedelta(seconds=6))
            ingest_segment(db, settings=settings, user=recorder, segment=segment)
    observer.cut_clips()
    with session_scope(system.sessions) as db:
        alert = db.execute(select(LiveRuleAlert)).scalar_one()
        assert alert.clip_state == "ready" and alert.clip_path is not None
        clip = settings.data_dir / alert.clip_path
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        packets = [p for p in container.demux(stream) if p.size]
    with av.open(str(clip)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert packets[0].is_keyframe
    # the alert at start + 2 s: 4 s before (from the keyframe at start - 2 s) to 6 s after, across both segments
    assert 95 <= len(packets) <= 105 and frames == len(packets)


def test_a_moment_that_was_never_recorded_gets_no_clip(system: System) -> None:
    observer = RulesObserver(settings=system.settings, sessions=system.sessions, camera_code="PEN-01")
    observer.clip_wait = timedelta(0)
    feed(observer, utcnow() - timedelta(minutes=5))
    observer.cut_clips()
    with session_scope(system.sessions) as db:
        alert = db.execute(select(LiveRuleAlert)).scalar_one()
        assert alert.clip_state == "unavailable" and alert.clip_path is None


def test_alert_retention_is_registered(system: System) -> None:
    assert "live_rule_alerts" in {rule.data_class for rule in default_rules(system.settings)}
