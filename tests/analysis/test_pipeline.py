from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np
import pytest

from tests.support.analysis_tracks import assert_same_tracks
from tests.support.scenes import FPS, HEIGHT, WIDTH, BlobDetector, SceneFrame, crossing_scene, write_video
from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.pipeline import TrackAnalyser, build_analyser, frames, resolve
from vigil.analysis.summary import direction_name, foot_motion, rdp
from vigil.domain.detections import Frame
from vigil.domain.tracks import FinishedTrack
from vigil.settings import Settings


def make_setup(frame_count: int, **params: object) -> AnalysisSetup:
    return AnalysisSetup(
        footage_id=1,
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        frame_count=frame_count,
        bearing_deg=None,
        params=dict(params),
    )


class CountingDetector(BlobDetector):
    """A blob detector that remembers on which frames it was called."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[int] = []
        self.current = -1

    def detect(self, frame, *, roi=None, input_size=None):  # type: ignore[no-untyped-def]
        self.frames.append(self.current)
        return super().detect(frame, roi=roi, input_size=input_size)


def analyse(analyser: TrackAnalyser, scene: list[Frame]) -> list[FinishedTrack]:
    tracks = []
    for frame in scene:
        if isinstance(analyser.detector, CountingDetector):
            analyser.detector.current = frame.index
        tracks.extend(analyser.process(frame))
    return tracks + analyser.finish()


@pytest.fixture
def scene() -> list[SceneFrame]:
    return crossing_scene(60, idle_before=20, idle_after=60)


def test_two_crossing_figures_come_out_as_two_tracks_with_a_summary(
    settings: Settings, scene: list[SceneFrame]
) -> None:
    analyser = build_analyser(settings, make_setup(len(scene)), detector=BlobDetector())
    tracks = analyse(analyser, [s.frame for s in scene])
    assert len(tracks) == 2
    for track in tracks:
        summary = track.summary
        assert summary.class_name == "person"
        assert summary.heading in ("right", "left")
        assert summary.speed_px_s == pytest.approx(40, rel=0.25)  # 240 px in 5.9 s
        assert summary.height_px == pytest.approx(42, abs=3)
        assert summary.thumbnail is not None and summary.thumbnail.shape[2] == 3
        assert summary.appearance.shape == (128,) and np.linalg.norm(summary.appearance) == pytest.approx(1, abs=1e-4)
        assert summary.dwell_s > 4 and len(summary.path) >= 2
        assert all(len(point) == 3 for point in summary.path)
        assert np.all(np.diff(track.observations.frame_index) > 0)
    assert {t.summary.heading for t in tracks} == {"right", "left"}
    reds = [t for t in tracks if "red" in t.summary.upper_colours]
    assert len(reds) == 1 and reds[0].summary.heading == "right"


def test_motion_gating_skips_frames_where_nothing_moves(settings: Settings, scene: list[SceneFrame]) -> None:
    gated = CountingDetector()
    analyse(build_analyser(settings, make_setup(len(scene)), detector=gated), [s.frame for s in scene])
    naive = CountingDetector()
    params = {"detect_interval_s": 0, "motion_gating": False, "regions": False}
    analyse(build_analyser(settings, make_setup(len(scene), **params), detector=naive), [s.frame for s in scene])
    assert len(naive.frames) == len(scene), "naive: every frame"
    assert not [f for f in gated.frames if f < 20], "nothing moves before the figures come"
    assert not [f for f in gated.frames if f >= 20 + 60 + 45], "nor once the lost tracks have expired"
    assert len(set(gated.frames)) < len(scene) / 4


def test_a_resumed_analysis_writes_exactly_the_tracks_of_an_uninterrupted_one(
    settings: Settings, scene: list[SceneFrame]
) -> None:
    setup = make_setup(len(scene))
    pictures = [s.frame for s in scene]
    whole = analyse(build_analyser(settings, setup, detector=BlobDetector()), pictures)
    for cut in (25, 52, 100):
        first = build_analyser(settings, setup, detector=BlobDetector())
        early = [t for frame in pictures[:cut] for t in first.process(frame)]
        state = first.save_state()
        second = build_analyser(settings, setup, state, detector=BlobDetector())
        assert second.save_state() == state
        rest = analyse(second, pictures[cut:])
        assert_same_tracks(early + rest, whole)


def test_a_state_saved_with_other_parameters_is_refused(settings: Settings, scene: list[SceneFrame]) -> None:
    state = build_analyser(settings, make_setup(10), detector=BlobDetector()).save_state()
    with pytest.raises(ValueError, match="different analysis parameters"):
        build_analyser(settings, make_setup(10, detect_interval_s=0.1), state, detector=BlobDetector())


def test_unknown_params_are_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="detect_every"):
        resolve(settings, make_setup(10, detect_every=3))


def test_centernet_scores_are_calibrated_against_the_configured_threshold(settings: Settings) -> None:
    options = resolve(settings, make_setup(10, detector="centernet"))
    assert options.high_score == pytest.approx(settings.vision.score_threshold * 0.75)
    assert options.low_score < options.high_score
    assert resolve(settings, make_setup(10, detector="nanodet", score_threshold=0.5)).high_score == 0.5


def test_the_frame_source_resumes_frame_exactly(tmp_path: Path) -> None:
    scene = crossing_scene(20, idle_before=3)
    path = write_video(scene, tmp_path / "scene.mp4")
    everything = list(frames(path, 0))
    assert [f.index for f in everything] == list(range(len(scene)))
    assert everything[5].timestamp == pytest.approx(0.5)
    later = list(frames(path, 7))
    assert [f.index for f in later] == list(range(7, len(scene)))
    for a, b in zip(everything[7:], later, strict=True):
        assert a.timestamp == b.timestamp and np.array_equal(a.image, b.image)


def test_the_frame_source_stops_its_thread_when_abandoned(tmp_path: Path) -> None:
    import threading

    path = write_video(crossing_scene(30), tmp_path / "scene.mp4")
    source = frames(path, 0, queue_size=2)
    next(source)
    assert isinstance(source, Generator)
    source.close()
    assert not [t for t in threading.enumerate() if t.name == "vigil-decode" and t.is_alive()]


@pytest.mark.parametrize(
    ("dx", "dy", "bearing", "expected"),
    [
        (0, -10, None, "up"),
        (10, 10, None, "down-right"),
        (-10, 0, None, "left"),
        (0, -10, 90.0, "E"),  # camera facing east: up the picture is east
        (10, 0, 90.0, "S"),
        (0, 10, 0.0, "S"),
        (-10, -10, 0.0, "NW"),
    ],
)
def test_direction_names(dx: float, dy: float, bearing: float | None, expected: str) -> None:
    assert direction_name(dx, dy, bearing)[0] == expected


def test_rdp_keeps_corners_and_drops_collinear_points() -> None:
    line = np.array([[0, 0, 0], [1, 0, 1], [2, 0, 2], [3, 0, 3], [3, 1, 4], [3, 2, 5]], dtype=np.float64)
    assert rdp(line, 0.1)[:, 2].tolist() == [0, 3, 5]


def test_foot_motion_is_robust_to_a_jittery_box() -> None:
    times = np.arange(30) / 10
    feet = np.column_stack([100 + 20 * times, 200 + np.where(np.arange(30) % 2, 2.0, -2.0)])
    motion = foot_motion(times, feet, np.full(30, 50.0), None)
    assert motion.speed_px_s == pytest.approx(20, rel=0.15)
    assert motion.heading == "right"
    still = foot_motion(times, np.full((30, 2), 100.0), np.full(30, 50.0), None)
    assert still.heading == "stationary" and still.stationary_s == pytest.approx(2.9)
