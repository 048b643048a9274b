"""PETS 2009 S2.L1 helpers for the benchmarks: locating shared data, ground truth, frames, matching.

The data stays in ``../shared/data`` (never copied into the repository); credit: PETS 2009,
University of Reading; MOT annotation by A. Milan.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from vigil.vision.nms import iou_matrix

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$VIGIL_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("VIGIL_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def pets_dir() -> Path:
    return shared_data_dir() / "pets09-s2l1"


def load_mot_gt(path: Path) -> dict[int, npt.NDArray[np.float32]]:
    """MOTChallenge ``frame,id,left,top,w,h,...`` -> xyxy boxes by 1-based frame number."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    boxes: dict[int, npt.NDArray[np.float32]] = {}
    for frame in np.unique(rows[:, 0]).astype(int):
        sel = rows[rows[:, 0] == frame]
        xyxy = sel[:, 2:6].copy()
        xyxy[:, 2:] += xyxy[:, :2]
        boxes[int(frame)] = xyxy.astype(np.float32)
    return boxes


@dataclass(frozen=True)
class TimedFrame:
    number: int
    """1-based frame number."""
    image: npt.NDArray[np.uint8]
    """BGR image."""
    decode_seconds: float
    """Time PyAV took to decode this frame and convert it to BGR."""


def timed_frames(path: Path, step: int = 1) -> Iterator[TimedFrame]:
    """Every ``step``-th frame of the video, each with its own decode time.

    Frames in between are decoded too (the codec needs them) but not yielded; timing each kept
    frame right next to the work done on it keeps the "x video decode" ratio fair on a busy machine.
    """
    import av

    with av.open(str(path)) as container:
        stream = container.decode(video=0)
        number = 0
        while True:
            start = time.perf_counter()
            frame = next(stream, None)
            if frame is None:
                return
            image = frame.to_ndarray(format="bgr24")
            number += 1
            if (number - 1) % step == 0:
                yield TimedFrame(number, image, time.perf_counter() - start)


def matches(detected: npt.NDArray[np.float32], truth: npt.NDArray[np.float32], iou: float = 0.5) -> int:
    """Detections matched one-to-one to ground truth (Hungarian on IoU) with IoU >= ``iou``."""
    overlaps = iou_matrix(detected, truth)
    if overlaps.size == 0:
        return 0
    rows, cols = linear_sum_assignment(-overlaps)
    return int((overlaps[rows, cols] >= iou).sum())
