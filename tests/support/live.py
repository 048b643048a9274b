"""Helpers shared by the live-camera tests: recorded segments and health, street pictures, built scenes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from tests.support.rtsp import wait_for
from vigil.db.live_models import LiveHealth, LiveSegment
from vigil.db.models import Footage
from vigil.db.session import session_scope
from vigil.domain.detections import Detections
from vigil.domain.scene import SceneState
from vigil.footage.custody import footage_path
from vigil.footage.storage import sha256_of
from vigil.live.store import SEGMENT_RECORDED, list_segments
from vigil.system import System


def segments_of(system: System, code: str) -> list[LiveSegment]:
    with session_scope(system.sessions) as db:
        return list_segments(db, code)


def health_of(system: System, code: str) -> LiveHealth | None:
    with session_scope(system.sessions) as db:
        return db.get(LiveHealth, code)


def wait_segments(system: System, code: str, count: int, *, timeout: float) -> None:
    """Wait until ``code`` has ``count`` recorded segments; on failure say what its worker reported."""
    try:
        wait_for(lambda: len(segments_of(system, code)) >= count, timeout=timeout, what=f"{count} segments of {code}")
    except AssertionError as exc:
        health = health_of(system, code)
        state = f"{health.state}: {health.reason}" if health else "no health reported"
        raise AssertionError(f"{exc} (camera {state})") from None


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def check_chain(system: System, code: str) -> list[LiveSegment]:
    """Each segment is stored under its SHA-256, starts where the last ended, and its custody names the last."""
    segments = segments_of(system, code)
    with session_scope(system.sessions) as db:
        previous: Footage | None = None
        for segment in segments:
            footage = db.get(Footage, segment.footage_id)
            assert footage is not None and footage.camera.code == code
            assert sha256_of(footage_path(system.settings, footage)) == footage.sha256
            assert footage.start_time == segment.started_at and footage.start_time_source == "operator"
            events = [e for e in footage.custody if e.action == SEGMENT_RECORDED]
            assert len(events) == 1
            details = json.loads(events[0].details)
            assert details["previous_footage_id"] == (previous.id if previous else None)
            assert details["previous_sha256"] == (previous.sha256 if previous else None)
            assert segment.previous_footage_id == (previous.id if previous else None)
            previous = footage
    return segments


def scene(width: int = 320, height: int = 240, box_x: int | None = None) -> npt.NDArray[np.uint8]:
    """A textured grey street; with ``box_x`` a dark figure standing at that x."""
    rng = np.random.default_rng(7)
    image = np.full((height, width, 3), 120, np.uint8) + rng.integers(0, 8, (height, width, 3), dtype=np.uint8)
    if box_x is not None:
        image[80:200, box_x : box_x + 40] = 20
    return image


W, H = 200, 100


def person(track: int, foot_x: float, foot_y: float = 0.8, cls: int = 0) -> tuple[int, int, float, float]:
    return (track, cls, foot_x, foot_y)


def make_scene(
    t: float, people: Sequence[tuple[int, int, float, float]] = (), bags: Sequence[tuple[float, float]] = ()
) -> SceneState:
    """Tracks given by (id, class, normalised foot x, foot y); bags by normalised centre."""
    boxes = [[x * W - 5, y * H - 20, x * W + 5, y * H] for _, _, x, y in people]
    tracks = Detections(
        xyxy=np.array(boxes, dtype=np.float32).reshape(-1, 4),
        score=np.ones(len(people), dtype=np.float32),
        class_id=np.array([c for _, c, _, _ in people], dtype=np.int32),
        track_id=np.array([i for i, _, _, _ in people], dtype=np.int64),
    )
    carried = Detections(
        xyxy=np.array([[x * W - 3, y * H - 3, x * W + 3, y * H + 3] for x, y in bags], dtype=np.float32).reshape(-1, 4),
        score=np.ones(len(bags), dtype=np.float32),
        class_id=np.full(len(bags), 24, dtype=np.int32),
    )
    return SceneState(t=t, frame_index=int(t * 10), width=W, height=H, tracks=tracks, carried=carried)


def spooled_video(folder: Path) -> list[Path]:
    """What a camera's spool folder holds besides the camera wall's latest picture: segments (finished or partial)
    not yet ingested, or anything else a worker left behind."""
    from vigil.live.wall import PICTURE_NAME

    return [path for path in folder.iterdir() if path.name != PICTURE_NAME]
