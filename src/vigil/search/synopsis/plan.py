"""Planning a video synopsis: when, in the short synopsis, each object's "tube" (its boxes over time) starts.

A tube keeps its own motion (source seconds play at real speed); only its start is moved. The planner is a greedy
placement over a coarse space-time occupancy grid: time in slots of ``slot_s`` seconds, the picture in square
cells of about 1/32 of its width. A tube's footprint is, per slot, the cells its box touches during that slot (the
box at both ends of the slot and every observation in between), so two tubes that share no cell at any slot
cannot overlap on screen. The collision cost of a start is the number of (slot, cell) pairs already taken, summed
with 2-D prefix sums for every candidate start at once.

Tubes are taken in the order they were really seen. At each step the next ``lookahead`` unplaced tubes compete:
each finds its least-collision start (the earliest among equals) and the one with the least collision, then the
earliest start, is placed (list scheduling). The lookahead lets a tube that fits early (someone walking behind
someone else) go before one that would have to wait, so the synopsis is never longer than it needs to be. To keep
the chronological order roughly, a tube may not start more than ``order_slack_s`` before a tube seen before it.
Collisions are avoided wherever the target length allows; when the footage is too busy for it they are spread as
thinly as possible rather than the synopsis growing beyond the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
GRID_COLUMNS = 32
"""The occupancy grid has about this many cells across the picture (square cells)."""


class SynopsisOptions(BaseModel):
    """How a synopsis is planned; the defaults meet the target of two minutes per hour of footage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minutes_per_hour: float = Field(
        2.0, gt=0, le=60, description="Longest synopsis per hour of the requested range, in minutes."
    )
    slot_s: float = Field(0.4, gt=0, le=5, description="Time resolution of the collision grid, in seconds.")
    order_slack_s: float = Field(
        10.0, ge=0, le=3600, description="How far a tube may start before the one really seen just before it (s)."
    )
    lookahead: int = Field(
        4, ge=1, le=64, description="How many of the next tubes (in time order) compete for each placement."
    )
    max_sprite_mb: int = Field(
        2048, ge=16, le=65536, description="Memory allowed for the object cut-outs the render keeps (MiB)."
    )


@dataclass(frozen=True)
class Tube:
    """One track's boxes over time: ``times`` in seconds from its footage's start, ``boxes`` (n, 4) xyxy pixels."""

    track_id: int
    footage_id: int
    footage_start: datetime
    times: F64
    boxes: F64

    @property
    def start_s(self) -> float:
        return float(self.times[0])

    @property
    def duration_s(self) -> float:
        return float(self.times[-1] - self.times[0])

    @property
    def first_seen(self) -> datetime:
        return self.footage_start + timedelta(seconds=self.start_s)

    def box_at(self, t: float) -> F64:
        """The box at ``t`` seconds from the footage start, linearly interpolated between observations."""
        if len(self.times) == 1:
            return np.array(self.boxes[0], dtype=np.float64)
        return np.array([np.interp(t, self.times, self.boxes[:, i]) for i in range(4)], dtype=np.float64)


@dataclass(frozen=True)
class Placement:
    tube: Tube
    offset_s: float
    """When the tube starts in the synopsis (seconds from the synopsis start)."""
    collisions: int
    """(slot, cell) pairs it shares with tubes placed before it; 0 when it overlaps none."""

    @property
    def end_s(self) -> float:
        return self.offset_s + self.tube.duration_s


@dataclass(frozen=True)
class Plan:
    placements: list[Placement]
    length_s: float


def target_length(range_s: float, tubes: list[Tube], options: SynopsisOptions) -> float:
    """The longest the synopsis may be: the time ratio of the range, but never shorter than the longest tube."""
    longest = max((t.duration_s for t in tubes), default=0.0)
    return max(range_s / 3600.0 * options.minutes_per_hour * 60.0, longest)


def plan_synopsis(
    tubes: list[Tube], *, frame_size: tuple[int, int], max_length_s: float, options: SynopsisOptions
) -> Plan:
    """Place every tube (see the module docstring); ``frame_size`` is (width, height) of the tubes' pixels."""
    width, height = frame_size
    cell = max(4.0, width / GRID_COLUMNS)
    grid = (math.ceil(height / cell), math.ceil(width / cell))
    slot = options.slot_s
    order = sorted(tubes, key=lambda t: (t.first_seen, t.track_id))
    footprints = [_footprint(t, slot, cell, grid) for t in order]
    slots = max(max(1, math.ceil(max_length_s / slot)), max(len(f) for f in footprints))
    occupancy = np.zeros((slots, grid[0], grid[1]), dtype=np.int32)
    prefix = np.zeros((slots, grid[0] + 1, grid[1] + 1), dtype=np.int64)
    costs: dict[int, I64] = {}
    starts: dict[int, int] = {}
    collisions: dict[int, int] = {}
    slack = round(options.order_slack_s / slot)
    while len(starts) < len(order):
        window = [i for i in range(len(order)) if i not in starts][: options.lookahead]
        for i in window:
            if i not in costs:
                costs[i] = _costs(prefix, footprints[i], 0, slots - len(footprints[i]))
        choice = min(window, key=lambda i: (*_best(costs[i], _earliest(starts, i, slack)), i))
        cost, start = _best(costs[choice], _earliest(starts, choice, slack))
        starts[choice], collisions[choice] = start, cost
        _occupy(occupancy, prefix, footprints[choice], start)
        del costs[choice]
        for i, array in costs.items():  # only starts whose span meets the slots just taken change
            low = max(0, start - len(footprints[i]) + 1)
            high = min(len(array), start + len(footprints[choice]))
            if low < high:
                array[low:high] = _costs(prefix, footprints[i], low, high - 1)
    placed = [Placement(order[i], starts[i] * slot, collisions[i]) for i in range(len(order))]
    return Plan(placed, max((p.end_s for p in placed), default=0.0))


def _earliest(starts: dict[int, int], index: int, slack: int) -> int:
    """The earliest start slot of tube ``index``: ``slack`` before the latest placed tube seen before it."""
    before = [start for i, start in starts.items() if i < index]
    return max(0, max(before, default=0) - slack)


def _best(costs: I64, earliest: int) -> tuple[int, int]:
    """(least collision cost, earliest start slot with it) among starts from ``earliest`` on."""
    earliest = min(earliest, len(costs) - 1)
    best = int(np.argmin(costs[earliest:]))  # argmin keeps the first (earliest) of equal costs
    return int(costs[earliest + best]), earliest + best


def _footprint(tube: Tube, slot: float, cell: float, grid: tuple[int, int]) -> I64:
    """Per slot of the tube's life, the cell rectangle ``[cy0, cy1) x [cx0, cx1)`` its box touches."""
    count = max(1, math.ceil(tube.duration_s / slot + 1e-9))
    t0 = tube.start_s
    edges = t0 + np.arange(count + 1) * slot
    at_edges = np.stack([np.interp(edges, tube.times, tube.boxes[:, i]) for i in range(4)], axis=1)
    slot_of = np.minimum(((tube.times - t0) / slot).astype(np.int64), count - 1)
    lo = np.minimum(at_edges[:-1, :2], at_edges[1:, :2])
    hi = np.maximum(at_edges[:-1, 2:], at_edges[1:, 2:])
    np.minimum.at(lo, slot_of, tube.boxes[:, :2])
    np.maximum.at(hi, slot_of, tube.boxes[:, 2:])
    rows, cols = grid
    cx0 = np.clip(np.floor(lo[:, 0] / cell), 0, cols - 1)
    cy0 = np.clip(np.floor(lo[:, 1] / cell), 0, rows - 1)
    cx1 = np.clip(np.ceil(hi[:, 0] / cell), cx0 + 1, cols)
    cy1 = np.clip(np.ceil(hi[:, 1] / cell), cy0 + 1, rows)
    return np.stack([cy0, cy1, cx0, cx1], axis=1).astype(np.int64)


def _costs(prefix: npt.NDArray[np.int64], rects: I64, earliest: int, latest: int) -> I64:
    """Collision cost of starting the tube at every slot in ``[earliest, latest]``."""
    starts = np.arange(earliest, latest + 1, dtype=np.int64)[:, None]
    at = starts + np.arange(len(rects), dtype=np.int64)[None, :]
    cy0, cy1, cx0, cx1 = (rects[:, k][None, :] for k in range(4))
    total = prefix[at, cy1, cx1] - prefix[at, cy0, cx1] - prefix[at, cy1, cx0] + prefix[at, cy0, cx0]
    return np.asarray(total.sum(axis=1), dtype=np.int64)


def _occupy(occupancy: npt.NDArray[np.int32], prefix: npt.NDArray[np.int64], rects: I64, start: int) -> None:
    for k, (cy0, cy1, cx0, cx1) in enumerate(rects.tolist()):
        occupancy[start + k, cy0:cy1, cx0:cx1] += 1
    span = slice(start, start + len(rects))
    prefix[span, 1:, 1:] = occupancy[span].cumsum(axis=1).cumsum(axis=2)
