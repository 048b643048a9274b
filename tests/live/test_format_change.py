"""A camera that changes resolution mid-stream (the RTSP test server switches to a smaller re-encoding of PETS09):
the segment is cut at the change and a new one started in the new format; every segment decodes at one size, the
chain has no seam, and the camera's health (what the wall shows) reports the new resolution."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from tests.conftest import shared_data_dir
from tests.live.conftest import VTEST
from tests.support.live import check_chain, health_of, wait_segments
from tests.support.rtsp import camera_clip, rtsp_server, wait_for
from vigil.db.live_models import LiveSegment
from vigil.db.models import Footage
from vigil.db.session import session_scope
from vigil.footage.custody import footage_path
from vigil.live.segments import FormatWatch, parameter_sets
from vigil.system import System

pytestmark = pytest.mark.data
SMALL = (320, 240)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    video = shared_data_dir() / VTEST
    if not video.exists():
        pytest.skip(f"{video} is not available")
    folder = tmp_path_factory.mktemp("switch")
    first = camera_clip(video, folder / "native.mp4", max_frames=50)  # 5 s at the camera's own size
    then = camera_clip(video, folder / "small.mp4", max_frames=300, size=SMALL)
    return first, then


def sizes(system: System, segment: LiveSegment) -> set[tuple[int, int]]:
    with session_scope(system.sessions) as db:
        footage = db.get(Footage, segment.footage_id)
        assert footage is not None
        path = footage_path(system.settings, footage)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        header = (stream.codec_context.width, stream.codec_context.height)
        return {header} | {(frame.width, frame.height) for frame in container.decode(stream)}


def test_a_stream_that_changes_resolution_is_cut_into_a_new_segment_and_reports_the_new_size(
    clips: tuple[Path, Path], live_system: Callable[..., System]
) -> None:
    first, then = clips
    with av.open(str(first)) as container:
        native = (container.streams.video[0].width, container.streams.video[0].height)
    assert native != SMALL
    with rtsp_server({"cam": first}, switch={"cam": then}) as server:
        system = live_system({"CAM-SW": server.url("cam")}, segment_seconds=3)
        system.live.start()
        wait_for(
            lambda: (row := health_of(system, "CAM-SW")) is not None and (row.width, row.height) == SMALL,
            timeout=60,
            what="the new resolution reported",
        )
        wait_segments(system, "CAM-SW", 4, timeout=90)
        system.live.stop()
    segments = check_chain(system, "CAM-SW")  # cut, not broken: each segment starts where the last ended
    for before, after in itertools.pairwise(segments):
        assert abs((after.started_at - before.ended_at).total_seconds()) < 0.05
    seen = [sizes(system, segment) for segment in segments]
    assert all(len(s) == 1 for s in seen), seen  # no segment mixes two sizes
    order = [next(iter(s)) for s in seen]
    switch = order.index(SMALL)
    assert switch >= 1 and set(order[:switch]) == {native} and set(order[switch:]) == {SMALL}


def keyframes_of(clip: Path, count: int) -> list[bytes]:
    """The first ``count`` keyframes of an MP4 clip as Annex B access units (as an RTSP camera sends them)."""
    found: list[bytes] = []
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        annexb = av.BitStreamFilterContext("h264_mp4toannexb", stream)
        for packet in container.demux(stream):
            found += [bytes(out) for out in annexb.filter(packet) if out.is_keyframe]
            if len(found) >= count:
                return found[:count]
    return found


def test_the_format_watch_reports_a_change_only_when_the_parameter_sets_change(clips: tuple[Path, Path]) -> None:
    first, then = clips
    keyframes = keyframes_of(first, 2) + keyframes_of(then, 3)
    assert all(parameter_sets(frame) for frame in keyframes)
    watch = FormatWatch("h264")
    changes = [watch.keyframe(frame) for frame in keyframes]
    assert [c is not None for c in changes] == [False, False, True, False, False]
    change = changes[2]
    assert change is not None and (change.width, change.height) == SMALL
    assert FormatWatch("hevc").keyframe(keyframes[2]) is None  # only H.264 parameter sets are read
