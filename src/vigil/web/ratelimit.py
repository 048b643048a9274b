"""In-memory sliding-window rate limits (per process), used for logins and token requests."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` attempts per ``window_s`` seconds for each key (a client address)."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def attempt(self, key: str) -> float | None:
        """Record an attempt; return None if allowed, else the seconds to wait before the next one."""
        now = self._clock()
        with self._lock:
            window = self._attempts.setdefault(key, deque())
            while window and window[0] <= now - self._window_s:
                window.popleft()
            if len(window) >= self._limit:
                return window[0] + self._window_s - now
            window.append(now)
            if len(self._attempts) > self._max_keys:
                self._forget_idle(now)
            return None

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, window in self._attempts.items() if not window or window[-1] <= now - self._window_s]
        for key in idle:
            del self._attempts[key]
        while len(self._attempts) > self._max_keys:  # under a flood, drop the oldest keys
            del self._attempts[next(iter(self._attempts))]


def retry_after_header(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
