"""A finished track: where an object was, frame by frame, and what it looked like.

Produced by the analysis pipeline, stored by ``vigil.analysis.store``. Imports nothing from vigil.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, eq=False)
class TrackObservations:
    """Sampled positions of one track; M rows, in frame order."""

    frame_index: npt.NDArray[np.int64]
    """Zero-based frame number in the footage."""
    t: npt.NDArray[np.float64]
    """Seconds from the start of the footage."""
    xyxy: npt.NDArray[np.float32]
    """(M, 4) boxes in source pixels."""
    score: npt.NDArray[np.float32]
    """Detector confidence (0 where the box was predicted by the tracker between detections)."""

    def __len__(self) -> int:
        return int(self.frame_index.shape[0])


@dataclass(frozen=True, eq=False)
class TrackSummary:
    """Per-track attributes. Colours are names from the 11-colour palette, most prominent first."""

    class_name: str
    upper_colours: tuple[str, ...] = ()
    lower_colours: tuple[str, ...] = ()
    body_colours: tuple[str, ...] = ()
    carried: tuple[str, ...] = ()
    height_px: float = 0.0
    height_m: float | None = None
    speed_px_s: float = 0.0
    speed_m_s: float | None = None
    heading: str = ""
    """8 compass points ('N', 'NE', ...) when the camera's bearing is known, else image directions ('up', ...)."""
    heading_deg: float | None = None
    path: tuple[tuple[float, float, float], ...] = ()
    """Simplified polyline of (seconds from footage start, x, y) of the foot point, in source pixels."""
    dwell_s: float = 0.0
    zone_dwell_s: Mapping[str, float] = field(default_factory=dict)
    appearance: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    thumbnail: npt.NDArray[np.uint8] | None = None
    """Best BGR crop of the object, or None."""
    thumbnail_frame: int = -1
    score: float = 0.0
    """Mean detector confidence over the detected observations."""


@dataclass(frozen=True, eq=False)
class FinishedTrack:
    track_no: int
    """1-based number of the track within its footage (stable across a resumed analysis)."""
    observations: TrackObservations
    summary: TrackSummary
