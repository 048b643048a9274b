"""The analysis pipeline: frame -> motion -> (scheduled) detection -> tracker -> per-track records -> tracks.

:func:`build_analyser` makes the :class:`~vigil.analysis.jobs.Analyser` a job runs (bind the settings with
``functools.partial(build_analyser, settings)`` to get an ``AnalyserFactory``); :func:`frames` is the matching
``FrameSource``. Per frame the :class:`TrackAnalyser`

1. updates the motion detector (:mod:`vigil.vision.motion`);
2. asks the :class:`~vigil.analysis.schedule.Scheduler` whether to detect, and on which crops (motion that a
   detection found empty while nothing was tracked is absorbed into the motion background, so a ghost does
   not keep prompting detections);
3. runs the detector there, splits carried objects (bags) from tracked objects (people, vehicles) and
   hands the latter, with an appearance vector each, to the :class:`~vigil.vision.track.ByteTracker`;
4. records each tracked detection as an observation of its track, refreshes the track's best thumbnail and,
   about once a second while it is clearly visible, samples its colours and appearance;
5. turns every track the tracker ends into a :class:`~vigil.domain.tracks.FinishedTrack` (tracks with fewer
   than ``min_detections`` detections are dropped as noise).

Everything is deterministic and the whole state (motion background, tracker, schedule, records) is saved by
:meth:`TrackAnalyser.save_state`, so an analysis resumed from a checkpoint writes exactly the tracks an
uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vigil.analysis.decode import frames
from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.observe import Observer
from vigil.analysis.schedule import Crop, SchedulePolicy, Scheduler
from vigil.analysis.sizing import PersonScale
from vigil.analysis.state import load_state, save_state
from vigil.analysis.stitch import StitchPolicy, continuation, merged
from vigil.analysis.summary import Geometry, TrackRecord, summarise, travel
from vigil.domain.detections import MOTOR_VEHICLE_CLASS_IDS, Detections, Frame
from vigil.domain.scene import SceneState
from vigil.domain.tracks import FinishedTrack
from vigil.domain.vocabulary import CARRIED_CLASS_IDS, TRACKED_CLASSES
from vigil.settings import Settings
from vigil.vision.detect import Detector, calibrated_threshold, configured_detector, matrix_nms
from vigil.vision.motion import MotionDetector
from vigil.vision.track import ByteTracker, EndedTrack, TrackerConfig

__all__ = ["AnalysisParams", "Options", "TrackAnalyser", "analysis_detector", "build_analyser", "frames", "resolve"]

DEFAULT_INPUT = {"nanodet": 416, "centernet": 416}
"""Long side of a full-frame detector input, by detector (crops keep the same pixels per object)."""


class AnalysisParams(BaseModel):
    """Per-job analysis options (``AnalysisSetup.params``); unset ones come from settings or defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: str | None = Field(None, description="Detector name; default: settings.vision.detector.")
    score_threshold: float | None = Field(
        None, gt=0, lt=1, description="Score of a confident detection; default: settings.vision.score_threshold."
    )
    low_score: float | None = Field(
        None, gt=0, lt=1, description="Weaker detections still extend existing tracks; default: 0.4 x score_threshold."
    )
    input_size: int | None = Field(None, ge=64, description="Long side full frames are scaled to for detection.")
    detect_interval_s: float = Field(0.5, ge=0, le=2, description="Seconds between detections on live tracks.")
    motion_gating: bool = Field(True, description="Skip detection where and when nothing moves.")
    regions: bool = Field(True, description="Detect on crops around motion and tracks, not whole frames.")
    min_detections: int = Field(3, ge=1, description="Tracks with fewer confident detections are dropped as noise.")
    min_travel: float = Field(
        0.5, ge=0, description="Doubtful tracks that never move this many box heights are dropped as scenery."
    )
    attributes: bool = Field(True, description="Sample clothing colours, carried bags and appearance vectors.")
    person_height_px: float | None = Field(
        None, gt=0, description="Height in pixels of a small (distant) person in this camera, when calibrated."
    )
    adaptive_scale: bool = Field(
        False,
        description="Learn this footage's small-person height from its detections and enlarge frames for it "
        "(analysis.sizing; off: only a calibrated person_height_px enlarges).",
    )


@dataclass(frozen=True)
class Options:
    """The job's params with every default filled in from the settings."""

    params: AnalysisParams
    detector: str
    high_score: float
    low_score: float
    input_size: int


def resolve(settings: Settings, setup: AnalysisSetup) -> Options:
    """The job's params (``setup.params``) completed from the settings and the per-detector defaults."""
    params = AnalysisParams.model_validate(setup.params or {})
    name = params.detector or settings.vision.detector
    high = params.score_threshold
    if high is None:
        high = calibrated_threshold(settings.vision, name)
    low = params.low_score if params.low_score is not None else 0.4 * high
    return Options(params, name, high, min(low, high), params.input_size or DEFAULT_INPUT.get(name, 416))


class TrackAnalyser:
    """An :class:`~vigil.analysis.jobs.Analyser`: see the module docstring."""

    def __init__(self, setup: AnalysisSetup, options: Options, detector: Detector) -> None:
        self.setup, self.options, self.params, self.detector = setup, options, options.params, detector
        fps = setup.fps if setup.fps > 0 else 10.0
        gating = self.params.motion_gating
        policy = SchedulePolicy(
            interval=max(1, round(self.params.detect_interval_s * fps)),
            max_idle=max(1, round(0.8 * fps)),
            gating=gating,
            regions=self.params.regions and gating,
        )
        self.scheduler = Scheduler(policy)
        self.motion = MotionDetector(fps=fps) if gating else None
        config = TrackerConfig(
            high_score=options.high_score,
            low_score=options.low_score,
            new_track_score=min(0.95, options.high_score + 0.05),
        )
        self.tracker = ByteTracker(config, frame_size=(setup.width, setup.height))
        self.observer = Observer(attributes=self.params.attributes)
        self.stitching = StitchPolicy(
            max_gap_s=config.lost_buffer_s, gate_base=config.gate_base, gate_speed=config.gate_speed
        )
        self.geometry = Geometry.of(setup.geometry)
        self.sizing = PersonScale(
            frame_height=setup.height,
            base_scale=options.input_size / max(setup.width, setup.height, 1),
            known_px=self.params.person_height_px,
        )
        self.records: dict[int, TrackRecord] = {}
        self.track_no = 0
        self.detector_calls = 0
        self.carried = Detections.empty()
        self.last_frame: tuple[int, float] = (-1, 0.0)

    # -- Analyser ---------------------------------------------------------------------------------------------

    def process(self, frame: Frame) -> list[FinishedTrack]:
        self.advance(frame)
        return self._ended(self.tracker.pop_ended())

    def advance(self, frame: Frame) -> None:
        """One frame through motion, detection and tracking; ended tracks wait in the tracker (``pop_ended``)."""
        motion = self.motion.update(frame.image) if self.motion is not None else None
        predicted: list[Detections] = []

        def live() -> Detections:
            if not predicted:
                predicted.append(self.tracker.predict(frame.timestamp, include_lost=True))
            return predicted[0]

        tracking = bool(self.tracker.live_ids())
        calm = tracking and self.tracker.calm(frame.timestamp)
        if self.scheduler.due(frame.index, motion, live, tracking=tracking, calm=calm):
            enlarge = self.params.adaptive_scale or self.params.person_height_px is not None
            scale = self.sizing.scale() if enlarge else self.sizing.base_scale
            crops = self.scheduler.crops(frame.width, frame.height, motion, live(), scale)
            found = self._detect(frame, crops)
            tracked = found.with_classes(TRACKED_CLASSES)
            carried = found.with_classes(CARRIED_CLASS_IDS)
            features = self.observer.features(frame.image, tracked)
            result = self.tracker.update(tracked, frame.timestamp, features=features)
            self.sizing.observe(tracked, confident=self.options.high_score)
            taken = result.track_id[result.track_id >= 0]
            found_new = bool(np.any(~np.isin(taken, live().track_id)))
            self.scheduler.done(frame.index, motion, live(), found_new=found_new)
            if not tracking and not found_new and self.motion is not None and motion is not None:
                self.motion.absorb(motion.regions, frame.width, frame.height)  # nothing there: stop asking
            self.observer.record(frame, result, carried, features, self.records, confident=self.options.high_score)
            self.carried = carried
        self.last_frame = (frame.index, frame.timestamp)

    def scene(self) -> SceneState:
        """The confirmed live tracks and loose carried objects after the last processed frame (for live rules)."""
        index, t = self.last_frame
        return SceneState(
            t=t,
            frame_index=index,
            width=self.setup.width,
            height=self.setup.height,
            tracks=self.tracker.predict(t, confirmed_only=True),
            carried=self.carried,
        )

    def finish(self) -> list[FinishedTrack]:
        return self._ended(self.tracker.end_all(), stitch=False)

    def in_view(self) -> list[FinishedTrack]:
        """The confirmed tracks not yet ended (in view, or lost for a moment) that would be kept if they ended
        now, summarised so far (``track_no`` 0): what a live stream shows as provisional search results."""
        index, t = self.last_frame
        tracks = self.tracker.predict(t, include_lost=True, confirmed_only=True)
        ids = tracks.track_id if index >= 0 else np.zeros(0, dtype=np.int64)
        shown = []
        for track_id in ids.tolist():
            record = self.records.get(int(track_id))
            if record is not None and record.frames and self._worth_keeping(record):
                shown.append(summarise(0, record, bearing_deg=self.setup.bearing_deg, geometry=self.geometry))
        return shown

    def save_state(self) -> bytes:
        return save_state(self)

    # -- stages -----------------------------------------------------------------------------------------------

    def _detect(self, frame: Frame, crops: list[Crop]) -> Detections:
        parts = []
        for crop in crops:
            self.detector_calls += 1
            whole = crop.box == (0, 0, frame.width, frame.height)
            parts.append(self.detector.detect(frame.image, roi=None if whole else crop.box, input_size=crop.input_size))
        found = Detections.concat(parts)
        if len(crops) > 1 and len(found):
            found = found[np.sort(matrix_nms(found.xyxy, found.score, found.class_id, 0.6))]
        vehicles = np.flatnonzero(np.isin(found.class_id, MOTOR_VEHICLE_CLASS_IDS))
        if len(vehicles) > 1:
            # One vehicle is often reported as both car and truck (or bus): keep only its best-scoring label.
            # (Other classes went through class-wise NMS in the detector already.)
            same = np.zeros(len(vehicles), dtype=np.int32)
            kept = vehicles[matrix_nms(found.xyxy[vehicles], found.score[vehicles], same, 0.7)]
            found = found[np.sort(np.concatenate([np.setdiff1d(np.arange(len(found)), vehicles), kept]))]
        return found[found.score >= self.options.low_score]

    def _ended(self, ended: list[EndedTrack], *, stitch: bool = True) -> list[FinishedTrack]:
        return self.summarise(self.close(ended, stitch=stitch))

    def close(self, ended: list[EndedTrack], *, stitch: bool = True) -> list[TrackRecord]:
        """The records of tracks the tracker ended, each joined to the live track that continues it (if any):
        joined ones stay live inside that track, so only tracks that really ended are returned."""
        closed = []
        for track in ended:
            record = self.records.pop(track.track_id, None)
            if record is None or not track.confirmed:
                continue
            later = (
                continuation(
                    record, self.records, width=self.setup.width, height=self.setup.height, policy=self.stitching
                )
                if stitch
                else None
            )
            if later is not None:
                self.records[later] = merged(record, self.records[later])
                continue
            closed.append(record)
        return closed

    def summarise(self, records: list[TrackRecord]) -> list[FinishedTrack]:
        """Finished tracks (numbered on from the last) of the records that are not noise."""
        finished = []
        for record in records:
            if not self._worth_keeping(record):
                continue
            self.track_no += 1
            finished.append(
                summarise(self.track_no, record, bearing_deg=self.setup.bearing_deg, geometry=self.geometry)
            )
        return finished

    def _worth_keeping(self, record: TrackRecord) -> bool:
        """Not noise: enough confident detections (and mostly confident), and either clearly an object of
        its class (mean score well above the threshold) or one that moved at some point.

        A doubtful object that never moves by half its height in its whole life is scenery a detector keeps
        half-mistaking for a person (a bollard, a sign); a person standing still is kept if they walked in
        or are seen clearly.
        """
        high = self.options.high_score
        confident = sum(score >= high for score in record.scores)
        enough = confident >= max(self.params.min_detections, 0.4 * len(record.scores))
        clear = float(np.mean(record.scores)) >= high + 0.15
        return enough and (clear or travel(record) >= self.params.min_travel)


def build_analyser(
    settings: Settings, setup: AnalysisSetup, state: bytes | None = None, *, detector: Detector | None = None
) -> TrackAnalyser:
    """The analyser for one footage, fresh or restored from a checkpoint ``state``.

    ``detector`` replaces the configured one (tests and benchmarks pass a prepared or fake detector).
    """
    options = resolve(settings, setup)
    analyser = TrackAnalyser(setup, options, detector if detector is not None else analysis_detector(settings, options))
    if state is not None:
        load_state(analyser, state)
    return analyser


def analysis_detector(settings: Settings, options: Options) -> Detector:
    """The detector an analysis with these options runs (its session loads on the first detection)."""
    return configured_detector(
        settings.vision,
        name=options.detector,
        score_threshold=options.low_score,
        classes=TRACKED_CLASSES + CARRIED_CLASS_IDS,
    )
