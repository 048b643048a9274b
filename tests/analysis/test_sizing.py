"""Small-person handling: the detection scale follows this camera's person heights (analysis.sizing).

The scenes are generated: a saturated figure of a chosen height walks across a 384x216 frame (a downscaled
CCTV picture), and the detector finds a figure only when it is at least ``MIN_NET_PX`` network pixels tall,
as a real detector loses people below a few dozen network pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.pipeline import build_analyser
from vigil.analysis.sizing import PersonScale
from vigil.domain.detections import Detections, Frame
from vigil.settings import Settings

W, H, FPS = 384, 216, 10.0
MIN_NET_PX = 28.0
FULL_INPUT = 416


class SizeLimitedDetector:
    """Reports saturated blobs as people, but only those at least ``MIN_NET_PX`` tall at the input scale."""

    def __init__(self) -> None:
        self.input_scales: list[float] = []

    def detect(
        self,
        frame: npt.NDArray[np.uint8],
        *,
        roi: tuple[int, int, int, int] | None = None,
        input_size: int | None = None,
    ) -> Detections:
        x0, y0, x1, y1 = roi if roi is not None else (0, 0, frame.shape[1], frame.shape[0])
        scale = (input_size or FULL_INPUT) / max(x1 - x0, y1 - y0)
        self.input_scales.append(scale)
        hsv = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
        mask = (hsv[..., 1] > 120).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = [
            [x0 + left, y0 + top, x0 + left + w, y0 + top + h]
            for left, top, w, h, _ in stats[1:count].tolist()
            if h * scale >= MIN_NET_PX
        ]
        if not boxes:
            return Detections.empty()
        xyxy = np.array(boxes, dtype=np.float32)
        return Detections(xyxy, np.full(len(boxes), 0.9, np.float32), np.zeros(len(boxes), np.int32))


def small_walker(height: int, frames: int = 50) -> list[Frame]:
    """One figure ``height`` pixels tall (red top, blue trousers) walking left to right on grey."""
    ground = np.full((H, W, 3), 110, np.uint8)
    width = max(4, height // 3)
    out = []
    for index in range(frames):
        image = ground.copy()
        x = 30 + 300 * index / (frames - 1)
        top = 120
        cv2.rectangle(image, (round(x), top), (round(x) + width, top + height // 2), (40, 40, 220), -1)
        cv2.rectangle(image, (round(x), top + height // 2), (round(x) + width, top + height - 1), (200, 80, 30), -1)
        out.append(Frame(image, index / FPS, index))
    return out


def person_tracks(height: int, **params: object) -> tuple[int, SizeLimitedDetector]:
    """Person tracks found in :func:`small_walker` and the detector's log. Detection runs on whole frames
    (``regions=False``): a small motion crop has a minimum input size of its own, which enlarges it anyway."""
    scene = small_walker(height)
    setup = AnalysisSetup(
        footage_id=1,
        width=W,
        height=H,
        fps=FPS,
        frame_count=len(scene),
        bearing_deg=None,
        params={"regions": False, **params},
    )
    detector = SizeLimitedDetector()
    analyser = build_analyser(Settings(), setup, detector=detector)
    tracks = [t for frame in scene for t in analyser.process(frame)] + analyser.finish()
    return sum(t.summary.class_name == "person" for t in tracks), detector


def test_a_small_person_is_found_because_the_camera_calibration_enlarges_the_frame() -> None:
    # 20 px tall in a 216 px frame: 22 network px at the plain full-frame scale (416 / 384), below what the
    # detector sees; with the camera's calibrated small-person height the frame is enlarged to 32 px people.
    found, detector = person_tracks(20, person_height_px=20)
    assert found == 1
    assert min(detector.input_scales) == pytest.approx(1.6, abs=0.1)
    found_plain, plain = person_tracks(20)  # the default: no calibration, no enlargement
    assert found_plain == 0
    assert max(plain.input_scales) == pytest.approx(FULL_INPUT / W, abs=0.1)


def test_large_people_cost_no_enlargement() -> None:
    found, detector = person_tracks(90, person_height_px=90)
    assert found == 1
    assert max(detector.input_scales) == pytest.approx(FULL_INPUT / W, abs=0.1)


def make_people(heights: list[float], score: float = 0.9) -> Detections:
    xyxy = np.array([[10, 10, 20, 10 + h] for h in heights], dtype=np.float32).reshape(-1, 4)
    return Detections(xyxy, np.full(len(heights), score, np.float32), np.zeros(len(heights), np.int32))


@pytest.mark.parametrize(
    ("heights", "known", "expected_px"),
    [
        ([], None, 0.12 * 216),  # nothing seen, not calibrated: the prior
        ([], 20.0, 20.0),  # nothing seen: the calibrated height
        ([30, 40, 50, 60, 70, 80, 90, 100, 110, 120], None, 39.0),  # enough seen: their 10th percentile
        ([30, 40, 50, 60, 70, 80, 90, 100, 110, 120], 20.0, 20.0),  # a calibrated height wins
    ],
)
def test_the_small_person_height_comes_from_calibration_then_observations_then_the_prior(
    heights: list[float], known: float | None, expected_px: float
) -> None:
    sizing = PersonScale(frame_height=216, base_scale=1.0, known_px=known)
    sizing.observe(make_people(heights), confident=0.5)
    assert sizing.small_person_px() == pytest.approx(expected_px)


def test_the_scale_is_never_below_a_plain_pass_nor_above_the_cap() -> None:
    sizing = PersonScale(frame_height=1080, base_scale=0.2, known_px=2.0)
    assert sizing.scale() == 3.0
    sizing = PersonScale(frame_height=1080, base_scale=0.8, known_px=300.0)
    assert sizing.scale() == 0.8
    sizing = PersonScale(frame_height=360, base_scale=0.867, known_px=33.0)  # 1.12 x: not worth it
    assert sizing.scale() == 0.867


def test_doubtful_detections_and_other_classes_are_not_measured() -> None:
    sizing = PersonScale(frame_height=216, base_scale=1.0)
    sizing.observe(make_people([10] * 10, score=0.3), confident=0.5)
    car = Detections(np.array([[0, 0, 50, 5]], np.float32), np.array([0.9], np.float32), np.array([2], np.int32))
    sizing.observe(car, confident=0.5)
    assert sizing.heights == []


def test_person_heights_survive_a_checkpoint_and_older_checkpoints_still_load() -> None:
    import io
    import json

    scene = small_walker(40)
    setup = AnalysisSetup(footage_id=1, width=W, height=H, fps=FPS, frame_count=50, bearing_deg=None, params={})
    analyser = build_analyser(Settings(), setup, detector=SizeLimitedDetector())
    for frame in scene[:30]:
        analyser.process(frame)
    assert analyser.sizing.heights
    state = analyser.save_state()
    with np.load(io.BytesIO(state)) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["header"].tobytes())
    for option in ("person_height_px", "adaptive_scale"):  # as written before these options existed
        del header["params"][option]
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    older = io.BytesIO()
    np.savez(older, **arrays)
    restored = build_analyser(Settings(), setup, older.getvalue(), detector=SizeLimitedDetector())
    assert restored.sizing.heights == pytest.approx(analyser.sizing.heights)
