"""Live analysis inside a camera's worker: decode the packets it already reads, analyse a few frames a second.

One decode per camera: the worker hands every video packet it demuxes (and records) to :class:`LiveAnalysis`,
which decodes it and keeps at most ``settings.live.analysis_fps`` frames a second, scaled to at most
``analysis_max_height`` pixels high. Each kept frame goes through the same analyser as a file of the camera
(:func:`vigil.analysis.pipeline.build_analyser` with the camera's sensitivity, calibration and zones), then to
every observer (:mod:`vigil.live.observers`) with the analyser's scene. A frame that arrives too late to be
analysed in time (the machine is behind) is decoded and dropped, never queued.

Tracks are written by :class:`~vigil.live.tracks.LiveTrackStore`: provisional rows every
``tracks_every_seconds`` and, every ``checkpoint_seconds``, the finished tracks together with the analyser's
state in ``live_checkpoints``, in one transaction. A restarted worker restores that state (times run on from the
saved origin, so tracks in view at the checkpoint end and are written once); it loses at most the interval.

Live analysis needs a lawful basis like any analysis of the camera: a current PIA of its location. Without one
the camera is recorded but not analysed (``analysis = "no PIA"`` in its health).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import av
import numpy as np
import numpy.typing as npt
from av.packet import Packet
from av.video.frame import VideoFrame
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigil.analysis.jobs import AnalysisSetup, with_camera_sensitivity
from vigil.analysis.pipeline import TrackAnalyser, build_analyser
from vigil.db.base import utcnow
from vigil.db.live_models import LiveCheckpoint
from vigil.db.models import Camera
from vigil.db.session import session_scope
from vigil.domain.detections import Frame
from vigil.domain.tracks import FinishedTrack
from vigil.governance.cameras.geometry import camera_geometry
from vigil.governance.locations import current_pia
from vigil.live.observers import FrameObserver, LiveFrame
from vigil.live.segments import StreamClock
from vigil.live.sources import StreamSource
from vigil.live.tracks import LiveTrackStore, OpenSegment
from vigil.settings import Settings
from vigil.vision.detect import Detector

log = logging.getLogger("vigil.live")


@dataclass(frozen=True)
class Stamp:
    """When a frame was taken: seconds after the connection's first analysed frame (stream timestamps), and the
    wall-clock time of that first frame on the stream clock as it stands now."""

    seconds: float
    opened: datetime


class LiveAnalysis:
    """One camera's live decoding, analysis, observers and checkpoints (lives in the camera's worker)."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        source: StreamSource,
        observers: list[FrameObserver],
        detector: Detector | None = None,
    ) -> None:
        self.settings, self.sessions, self.source, self.observers = settings, sessions, source, observers
        self.code = source.camera_code
        self.enabled = source.analysis
        self.status = "on" if self.enabled else "off"
        self.detector = detector
        self.step = 1.0 / settings.live.analysis_fps
        self.late_s = max(1.0, 3 * self.step)
        # Finished tracks wait for a segment to belong to at most this long (the recorder starts one at the next
        # keyframe; past this, recording has stopped, e.g. the disk is full).
        self._give_up_s = 2 * settings.live.segment_seconds + 2 * settings.live.checkpoint_seconds
        self.analyser: TrackAnalyser | None = None
        self.store: LiveTrackStore | None = None
        self.key = ""
        self.origin: datetime | None = None
        self.next_index = 0
        self.last_t = -1.0
        self.first_pts: int | None = None  # the connection's first analysed frame
        self.base_t: float | None = None  # the analyser's time at that frame
        self.pending: list[FinishedTrack] = []
        self.tracks = 0
        self.next_due: float | None = None
        self.times: deque[float] = deque(maxlen=64)
        self.late = 0
        self.last_refresh = self.last_checkpoint = time.monotonic()

    @property
    def active(self) -> bool:
        """Whether the stream needs decoding at all (analysis on, or something observes its frames)."""
        return self.enabled or bool(self.observers)

    def facts(self) -> dict[str, object]:
        """Health fields: analysis state, analysed frames per second (last few seconds), tracks so far."""
        now = time.monotonic()
        recent = [t for t in self.times if now - t <= 5.0]
        fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
        return {"analysis": self.status, "analysed_fps": round(fps, 2), "tracks": self.tracks}

    # -- frames ---------------------------------------------------------------------------------------------
    def connected(self) -> None:
        self.next_due, self.first_pts, self.base_t = None, None, None

    def packet(self, packet: Packet[Any], *, clock: StreamClock, segment: OpenSegment | None) -> None:
        """Decode one packet; analyse and observe the frames that are due. A failure of the analysis (a model that
        will not load, a database error) switches it off with state ``error``; the camera goes on recording."""
        if not self.active:
            return  # analysis was refused (no PIA) and nothing observes: no decoding at all
        try:
            self._packet(packet, clock=clock, segment=segment)
        except Exception:
            log.exception("camera %s: live analysis failed and is switched off (recording goes on)", self.code)
            self.enabled, self.status, self.analyser = False, "error", None  # observers go on without a scene

    def _packet(self, packet: Packet[Any], *, clock: StreamClock, segment: OpenSegment | None) -> None:
        try:
            decoded = packet.decode()
        except (av.FFmpegError, ValueError):
            return  # a damaged packet: the decoder recovers at the next keyframe
        for frame in decoded:
            if not isinstance(frame, VideoFrame) or frame.pts is None or frame.time_base is None:
                continue
            seconds = float(frame.pts * frame.time_base)
            if self.next_due is not None and seconds < self.next_due - 1e-3:
                continue
            due = self.next_due if self.next_due is not None else seconds
            self.next_due = (due if seconds - due < self.step else seconds) + self.step
            at = clock.at(frame.pts)
            if (utcnow() - at).total_seconds() > self.late_s:
                self.late += 1  # the machine is behind: drop it rather than queue
                continue
            if self.first_pts is None:
                self.first_pts = frame.pts
            image = picture(frame, self.settings.live.analysis_max_height)
            since = Stamp(float((frame.pts - self.first_pts) * frame.time_base), clock.at(self.first_pts))
            self._frame(image, at, since, segment, scale=frame.height / image.shape[0], decoded=frame)

    def _frame(
        self,
        image: npt.NDArray[np.uint8],
        at: datetime,
        stamp: Stamp,
        segment: OpenSegment | None,
        *,
        scale: float,
        decoded: VideoFrame | None = None,
    ) -> None:
        scene = None
        analyser = self._analyser(image.shape[1], image.shape[0], scale, at) if self.enabled else None
        if analyser is not None:
            t = self._time(stamp)
            self.pending.extend(analyser.process(Frame(image, t, self.next_index)))
            self.next_index, self.last_t = self.next_index + 1, t
            scene = analyser.scene()
        self.times.append(time.monotonic())
        self._observe(LiveFrame(camera_code=self.code, image=image, at=at, scene=scene, decoded=decoded))
        live, now = self.settings.live, time.monotonic()
        if analyser is not None and now - self.last_refresh >= live.tracks_every_seconds:
            self.write(segment, checkpoint=now - self.last_checkpoint >= live.checkpoint_seconds)

    def _time(self, stamp: Stamp) -> float:
        """The analyser's time of a frame: the stream's own timestamps within a connection (exact spacing, as a
        file's), continued across connections and restarts from the wall clock. ``origin`` (the wall-clock time of
        t = 0, which tracks are stored by) follows the stream clock as it settles after connecting."""
        assert self.origin is not None
        if self.base_t is None:
            self.base_t = max((stamp.opened - self.origin).total_seconds(), self.last_t + self.step)
        self.origin = stamp.opened - timedelta(seconds=self.base_t)
        return max(self.base_t + stamp.seconds, self.last_t + 1e-3)

    def _observe(self, frame: LiveFrame) -> None:
        for observer in list(self.observers):
            try:
                observer.observe(frame)
            except Exception:
                log.exception("camera %s: observer %s failed and is switched off", self.code, type(observer).__name__)
                self.observers.remove(observer)
                try:
                    observer.close()
                except Exception:
                    log.exception("camera %s: closing observer %s failed", self.code, type(observer).__name__)

    # -- the analyser ---------------------------------------------------------------------------------------
    def _analyser(self, width: int, height: int, scale: float, at: datetime) -> TrackAnalyser | None:
        current = self.analyser
        if current is not None and (current.setup.width, current.setup.height) == (width, height):
            return current
        if current is not None:
            self.write(None, checkpoint=True)  # the stream changed size: keep what was finished
        with session_scope(self.sessions) as db:
            camera = db.execute(select(Camera).where(Camera.code == self.code)).scalar_one_or_none()
            if camera is None or camera.location is None or current_pia(camera.location, date.today()) is None:
                self.enabled, self.status = False, "no PIA"
                log.warning("camera %s: no current PIA for its location: recorded, not analysed", self.code)
                return None
            setup = self._setup(camera, width, height, scale)
            key = json.dumps({"params": setup.params, "size": [width, height], "fps": setup.fps}, sort_keys=True)
            saved = db.get(LiveCheckpoint, self.code)
            self.tracks = saved.tracks if saved is not None else 0
            state = saved.state if saved is not None and saved.params == key else None
            self.origin = saved.origin if state is not None and saved is not None else at
            self.next_index = saved.next_index if state is not None and saved is not None else 0
        detector = current.detector if current is not None else self.detector
        try:
            self.analyser = build_analyser(self.settings, setup, state, detector=detector)
        except ValueError:
            log.warning("camera %s: its saved analysis state does not fit: starting afresh", self.code)
            self.analyser, self.origin, self.next_index = build_analyser(self.settings, setup, detector=detector), at, 0
        self.key, self.last_t, self.pending, self.base_t = key, -1.0, [], None
        self.store = self._store(setup.params, scale)
        return self.analyser

    def _setup(self, camera: Camera, width: int, height: int, scale: float) -> AnalysisSetup:
        """The camera's analysis setup at the analysed size (``scale`` times smaller than the stream): its zones
        and calibration, drawn on the stream's pixels, scaled down with it."""
        return AnalysisSetup(
            footage_id=0,
            width=width,
            height=height,
            fps=self.settings.live.analysis_fps,
            frame_count=0,
            bearing_deg=camera.bearing_deg,
            params=with_camera_sensitivity({}, camera),
            geometry=camera_geometry(camera).shrunk(scale),
        )

    def _store(self, params: dict[str, object], scale: float) -> LiveTrackStore | None:
        if self.source.recording == "off":
            return None  # nothing recorded, nothing for a track to link to: results go to observers only
        zone = ZoneInfo(self.settings.timezone)
        return LiveTrackStore(self.code, self.settings.live.recorder_user, params, self.settings.data_dir, zone, scale)

    # -- writing --------------------------------------------------------------------------------------------
    def write(self, segment: OpenSegment | None, *, checkpoint: bool) -> None:
        """Refresh the provisional tracks; with ``checkpoint``, write the finished ones with the analyser's state."""
        analyser, now = self.analyser, time.monotonic()
        self.last_refresh = now
        if analyser is None or self.origin is None:
            return
        with session_scope(self.sessions) as db:
            placed = True
            if self.store is not None:
                final = self.pending if checkpoint else []
                provisional = analyser.in_view() + ([] if checkpoint else self.pending)
                placed = self.store.write(db, origin=self.origin, final=final, provisional=provisional, segment=segment)
            if checkpoint and not placed and now - self.last_checkpoint > self._give_up_s:
                log.warning(
                    "camera %s: %d finished track(s) have no recording to belong to (recording has stopped): "
                    "not stored",
                    self.code,
                    len(self.pending),
                )
                self.pending, placed = [], True  # never held without bound
            if checkpoint and placed:
                self.tracks += len(self.pending) if self.store is not None else 0
                save_checkpoint(db, self, analyser.save_state())
                self.pending, self.last_checkpoint = [], now

    def close(self, segment: OpenSegment | None) -> None:
        """The worker stops: checkpoint (the tracks in view go on after a restart) and close the observers."""
        if self.analyser is not None:
            self.write(segment, checkpoint=True)
        for observer in self.observers:
            try:
                observer.close()
            except Exception:
                log.exception("camera %s: closing observer %s failed", self.code, type(observer).__name__)
        self.observers = []


def save_checkpoint(db: Session, live: LiveAnalysis, state: bytes) -> None:
    assert live.origin is not None
    row = db.get(LiveCheckpoint, live.code)
    if row is None:
        row = LiveCheckpoint(camera_code=live.code)
        db.add(row)
    row.origin, row.next_index, row.params, row.state = live.origin, live.next_index, live.key, state
    row.tracks, row.saved_at = live.tracks, utcnow()
    db.flush()


def picture(frame: VideoFrame, max_height: int) -> npt.NDArray[np.uint8]:
    """The frame as a BGR array, scaled down (even width) to at most ``max_height`` pixels high."""
    if frame.height <= max_height:
        return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    width = max(2, round(frame.width * max_height / frame.height / 2) * 2)
    return np.asarray(frame.reformat(width=width, height=max_height, format="bgr24").to_ndarray(), dtype=np.uint8)
