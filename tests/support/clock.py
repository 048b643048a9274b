"""A clock tests drive (see :class:`vigil.domain.clock.Clock`): time moves only when the code sleeps, and a loop
is stopped after a chosen number of wake-ups, so "nothing happens before the interval" needs no real sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ClockStopped(Exception):
    """Raised by :meth:`SteppedClock.sleep` once the allowed wake-ups are used: ends the loop under test."""


class SteppedClock:
    def __init__(self, *, wakes: int, start: datetime = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)) -> None:
        self.wakes = wakes
        self.slept: list[float] = []
        self.current = start

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if len(self.slept) > self.wakes:
            raise ClockStopped(f"stopped at sleep {len(self.slept)} ({seconds} s)")
        self.current += timedelta(seconds=seconds)
