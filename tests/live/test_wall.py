"""The camera wall's picture observer and the 'motion' recording policy's gate, fed real decoded frames."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import make_settings
from tests.support.live import scene
from vigil.db.base import utcnow
from vigil.live.motion import MotionGate
from vigil.live.observers import LiveFrame, build_observers
from vigil.live.store import RecordedSegment
from vigil.live.wall import PICTURE_NAME, WallPicture, picture_path


def make_frame(code: str, image: npt.NDArray[np.uint8], at: datetime) -> LiveFrame:
    return LiveFrame(camera_code=code, image=image, at=at, scene=None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_wall_picture_is_the_latest_frame_written_at_most_twice_a_second_and_never_half_written(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    observer = WallPicture(folder=tmp_path / "CAM-1", every_seconds=0.5, clock=clock)
    wide = scene(1920, 1080, box_x=100)
    observer.observe(make_frame("CAM-1", wide, utcnow()))
    picture = tmp_path / "CAM-1" / PICTURE_NAME
    first = cv2.imread(str(picture))
    assert first is not None and first.shape[1] == 960  # scaled down for the wall
    clock.now += 0.2
    observer.observe(make_frame("CAM-1", scene(box_x=200), utcnow()))  # too soon: not written
    assert np.array_equal(cv2.imread(str(picture)), first)
    clock.now += 0.4
    observer.observe(make_frame("CAM-1", scene(640, 480, box_x=300), utcnow()))
    assert cv2.imread(str(picture)).shape[:2] == (480, 640)
    assert sorted(p.name for p in (tmp_path / "CAM-1").iterdir()) == [PICTURE_NAME]  # no temporary file left
    observer.close()


def test_the_worker_builds_the_wall_observer_into_the_cameras_spool_folder(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", live={"wall_picture_seconds": 0.2})
    built = build_observers(settings=settings, sessions=None, camera_code="CAM-7")  # type: ignore[arg-type]
    observers = [o for o in built if isinstance(o, WallPicture)]
    assert len(observers) == 1
    observers[0].observe(make_frame("CAM-7", scene(), utcnow()))
    assert (settings.live_spool_dir / "CAM-7" / PICTURE_NAME).is_file()


@pytest.mark.parametrize(
    "code",
    ["../CAM-1", "..", "CAM-1/../../secret", "cam-1", "CAM-1\x00", "%2e%2e", "/etc/passwd", "CAM-2", "", "A" * 65],
)
def test_a_crafted_or_unknown_camera_code_never_names_a_picture(tmp_path: Path, code: str) -> None:
    spool = tmp_path / "spool"
    WallPicture(folder=spool / "CAM-1", every_seconds=0).observe(make_frame("CAM-1", scene(), utcnow()))
    (tmp_path / PICTURE_NAME).write_bytes(b"outside the spool")
    known = {"CAM-1", code}  # even a code the caller wrongly believes known is checked for its shape
    assert picture_path(spool, code, known) is None
    assert picture_path(spool, "CAM-1", {"CAM-1"}) == (spool / "CAM-1" / PICTURE_NAME).resolve()


def _segment(index: int, start: datetime, seconds: float = 3.0) -> RecordedSegment:
    begin = start + timedelta(seconds=index * seconds)
    return RecordedSegment("CAM-M", Path(f"/spool/CAM-M-{index}.mp4"), begin, begin + timedelta(seconds=seconds))


def test_a_motion_camera_keeps_segments_with_movement_and_one_segment_before_and_after(tmp_path: Path) -> None:
    kept: list[int] = []
    dropped: list[int] = []
    gate = MotionGate(
        keep=lambda s: kept.append(int(s.path.stem.rsplit("-", 1)[1])),
        drop=lambda s: dropped.append(int(s.path.stem.rsplit("-", 1)[1])),
    )
    start = utcnow()
    moving_segments = {3}
    for index in range(7):  # 7 segments of 3 s at 5 fps; something walks across only in segment 3
        for step in range(15):
            at = start + timedelta(seconds=index * 3 + step / 5)
            x = 20 + step * 15 if index in moving_segments else None
            gate.observe(make_frame("CAM-M", scene(box_x=x), at))
        gate.offer(_segment(index, start))
    gate.close()
    assert kept == [2, 3, 4]  # pre-roll, the movement, post-roll
    assert dropped == [0, 1, 5, 6]


def test_a_segment_whose_frames_were_never_seen_is_kept_so_missing_analysis_never_loses_evidence() -> None:
    kept: list[RecordedSegment] = []
    gate = MotionGate(keep=kept.append, drop=lambda s: pytest.fail(f"dropped {s.path}"))
    start = utcnow()
    for index in range(3):
        gate.offer(_segment(index, start))
    gate.flush()
    assert len(kept) == 3


def test_a_motion_cameras_worker_hands_frames_to_the_wall_and_the_motion_gate(tmp_path: Path) -> None:
    from vigil.live.sources import StreamSource
    from vigil.live.worker import CameraWorker

    settings = make_settings(tmp_path / "data")
    for recording, count in (("motion", 3), ("continuous", 2)):
        source = StreamSource(camera_code="CAM-M", url="rtsp://10.0.0.5/s", recording=recording)  # type: ignore[arg-type]
        worker = CameraWorker(settings=settings, sessions=None, source=source)  # type: ignore[arg-type]
        observers = worker.observers()
        assert len(observers) == count and isinstance(observers[0], WallPicture)
        assert (worker.motion in observers) == (recording == "motion")
