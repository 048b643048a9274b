"""What a camera worker measures about its stream: frame rate, resolution, codec, last frame, drops and lag."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from av.video.stream import VideoStream


class HealthMeter:
    """Frame rate over the last few seconds of the stream's own clock (a burst after connecting does not inflate
    it); a drop is a frame missing from the stream's regular rhythm; lag is how far behind the wall clock the
    newest frame arrived."""

    WINDOW_SECONDS = 5.0

    def __init__(self) -> None:
        self.codec, self.width, self.height = "", 0, 0
        self.nominal_step = 0.0
        self.drops = 0
        self.last_at: datetime | None = None
        self.lag_s = 0.0
        self._times: deque[float] = deque()
        self._last_pts: float | None = None

    def connected(self, stream: VideoStream) -> None:
        context = stream.codec_context
        self.codec, self.width, self.height = context.name, context.width, context.height
        rate = stream.average_rate or stream.guessed_rate
        self.nominal_step = float(1 / rate) if rate else 0.0
        self._last_pts = None
        self._times.clear()

    def frame(self, *, at: datetime, now: datetime, pts_seconds: float, corrupt: bool) -> None:
        if self._last_pts is not None and self.nominal_step > 0:
            missing = round((pts_seconds - self._last_pts) / self.nominal_step) - 1
            self.drops += max(missing, 0)
        self.drops += int(corrupt)
        self._last_pts = pts_seconds
        self.last_at = at
        self.lag_s = max((now - at).total_seconds(), 0.0)
        moment = pts_seconds
        self._times.append(moment)
        while self._times and moment - self._times[0] > self.WINDOW_SECONDS:
            self._times.popleft()

    @property
    def fps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return round((len(self._times) - 1) / span, 2) if span > 0 else 0.0

    def facts(self) -> dict[str, object]:
        return {
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "last_frame_at": self.last_at,
            "drops": self.drops,
            "lag_s": round(self.lag_s, 3),
        }
