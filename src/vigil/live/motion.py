"""Recording only when something moves: which finished segments of a 'motion' camera are kept as footage.

:class:`MotionGate` is both a frame observer (it runs :class:`~vigil.vision.motion.MotionDetector` on the decoded
frames the worker hands its observers, noting when something moved) and the recorder's segment sink: a finished
segment waits until the next one is finished, then it is kept if something moved in it, in the segment before or
in the segment after (one segment of pre- and post-roll), and dropped otherwise. A segment none of whose frames
was seen by the gate (decoding was off or behind) is kept: evidence is never lost because analysis is missing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vigil.live.observers import LiveFrame
from vigil.live.store import RecordedSegment
from vigil.vision.motion import MotionDetector

NO_MOTION = "nothing moved (recording policy: motion)"


@dataclass
class _Held:
    segment: RecordedSegment
    moved: bool


class MotionGate:
    """Keeps a motion camera's segments with something moving in them, with a segment of pre- and post-roll."""

    def __init__(
        self,
        *,
        keep: Callable[[RecordedSegment], None],
        drop: Callable[[RecordedSegment], None],
        detector: MotionDetector | None = None,
    ) -> None:
        self.keep, self.drop = keep, drop
        self.detector = detector or MotionDetector(fps=5.0)
        self._seen: deque[tuple[datetime, bool]] = deque()  # (frame time, something moved)
        self._held: _Held | None = None
        self._before_moved = False  # whether the segment before the held one had motion

    # -- frames (observer) ----------------------------------------------------------------------------------
    def observe(self, frame: LiveFrame) -> None:
        motion = self.detector.update(frame.image)
        self._seen.append((frame.at, bool(motion.regions) and not motion.reset))

    def close(self) -> None:
        """The connection ended: decide the held segment (nothing follows it)."""
        self.flush()

    # -- segments (the recorder's sink) ---------------------------------------------------------------------
    def offer(self, segment: RecordedSegment) -> None:
        """A segment was finished: decide the one held before it, and hold this one until the next."""
        moved = self._moved(segment)
        if self._held is not None:
            self._decide(self._held, after_moved=moved)
        self._held = _Held(segment, moved)

    def flush(self) -> None:
        if self._held is not None:
            self._decide(self._held, after_moved=False)
        self._held = None
        self._before_moved = False

    def _decide(self, held: _Held, *, after_moved: bool) -> None:
        keep = self._before_moved or held.moved or after_moved
        self._before_moved = held.moved
        self._held = None
        self._forget_before(held.segment.ended_at)
        (self.keep if keep else self.drop)(held.segment)

    def _moved(self, segment: RecordedSegment) -> bool:
        frames = [moved for at, moved in self._seen if segment.started_at <= at <= segment.ended_at]
        return not frames or any(frames)

    def _forget_before(self, at: datetime) -> None:
        while self._seen and self._seen[0][0] < at:
            self._seen.popleft()
