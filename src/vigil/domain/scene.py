"""What the analyser sees at one moment: the seam between analysis and anything that reacts as footage plays.

Live rules (zone entry, line crossing, loitering, occupancy, objects left behind) read a :class:`SceneState`
after each analysed frame, from a live stream or a recorded file alike. Imports nothing above the domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.domain.detections import Detections


@dataclass(frozen=True, eq=False)
class SceneState:
    """The confirmed live tracks and the loose carried objects at one frame."""

    t: float
    """Seconds from the start of the footage (or of the stream's recording)."""
    frame_index: int
    width: int
    height: int
    tracks: Detections
    """Confirmed live tracks, boxes predicted to ``t`` (``track_id`` >= 0; ``score`` 1 where detected at ``t``)."""
    carried: Detections
    """Backpacks, handbags, suitcases and umbrellas found at the most recent detection step (no track ids)."""
