"""Shared helpers of the analysis benchmarks: data paths, running an analyser, MOT evaluation.

Tracks are scored exactly as an investigator would export them: each :class:`FinishedTrack` goes through
:func:`vigil.analysis.store.export_mot` (which interpolates the sampled observations to every frame) and the
result is compared with the ground truth by ``motmetrics`` (IoU distance, matches need IoU >= 0.5).

PETS09-S2L1 has two ground truths. ``gt_mot_full`` annotates all 19 people everywhere, occluded or not.
``gt_mot_cropped`` annotates only the tracking area of Milan et al., a ground-plane rectangle; as in their
evaluation, hypotheses are cropped to the same area (the convex hull of the cropped ground truth's foot points,
which separates the two files' boxes exactly) before scoring.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import cv2
import motmetrics as mm
import numpy as np
import numpy.typing as npt

from vigil.analysis.jobs import Analyser, AnalysisSetup
from vigil.analysis.store import export_mot
from vigil.domain.detections import Frame
from vigil.domain.tracks import FinishedTrack

F64 = npt.NDArray[np.float64]
REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    return Path(os.environ.get("VIGIL_SHARED_DATA", REPO.parent / "shared" / "data"))


def pets() -> Path:
    return shared_data() / "pets09-s2l1"


@dataclass
class Run:
    tracks: list[FinishedTrack]
    frames: int
    seconds: float
    detector_calls: int


def run_analyser(analyser: Analyser, source: Iterable[Frame]) -> Run:
    """Feed every frame to ``analyser``; wall time includes decoding (the source may decode in a thread)."""
    start, count, tracks = time.perf_counter(), 0, []
    for frame in source:
        tracks.extend(analyser.process(frame))
        count += 1
    tracks.extend(analyser.finish())
    return Run(tracks, count, time.perf_counter() - start, int(getattr(analyser, "detector_calls", 0)))


def setup_for(width: int, height: int, fps: float, frame_count: int, **params: object) -> AnalysisSetup:
    return AnalysisSetup(
        footage_id=1,
        width=width,
        height=height,
        fps=fps,
        frame_count=frame_count,
        bearing_deg=None,
        params=dict(params),
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ``ru_maxrss`` would include a forking parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- MOT evaluation -------------------------------------------------------------------------------------------


def mot_rows(tracks: list[FinishedTrack]) -> F64:
    """(frame from 1, id, x0, y0, x1, y1) rows of the tracks as the store exports them."""
    shaped = []
    for finished in tracks:
        obs = finished.observations
        rows = [
            SimpleNamespace(
                frame_index=int(f), x0=float(b[0]), y0=float(b[1]), x1=float(b[2]), y1=float(b[3]), score=float(s)
            )
            for f, b, s in zip(obs.frame_index, obs.xyxy, obs.score, strict=True)
        ]
        shaped.append(SimpleNamespace(track_no=finished.track_no, observations=rows))
    text = export_mot(cast(Any, shaped))
    if not text:
        return np.zeros((0, 6))
    data = np.loadtxt(text.splitlines(), delimiter=",", ndmin=2)
    return np.column_stack(
        [data[:, 0], data[:, 1], data[:, 2], data[:, 3], data[:, 2] + data[:, 4], data[:, 3] + data[:, 5]]
    )


def load_gt(path: Path) -> F64:
    data = np.loadtxt(path, delimiter=",", ndmin=2)
    return np.column_stack(
        [data[:, 0], data[:, 1], data[:, 2], data[:, 3], data[:, 2] + data[:, 4], data[:, 3] + data[:, 5]]
    )


def tracking_area(cropped_gt: F64) -> npt.NDArray[np.float32]:
    """Convex hull of the foot points of a cropped ground truth (the evaluation area)."""
    feet = np.column_stack([(cropped_gt[:, 2] + cropped_gt[:, 4]) / 2, cropped_gt[:, 5]]).astype(np.float32)
    return np.asarray(cv2.convexHull(feet), dtype=np.float32)


def inside(rows: F64, area: npt.NDArray[np.float32]) -> F64:
    keep = [cv2.pointPolygonTest(area, (float((r[2] + r[4]) / 2), float(r[5])), False) >= 0 for r in rows]
    return rows[np.array(keep, dtype=bool)] if len(rows) else rows


def _iou_distance(gt: F64, hyp: F64, max_distance: float = 0.5) -> F64:
    if not len(gt) or not len(hyp):
        return np.zeros((len(gt), len(hyp)))
    tl = np.maximum(gt[:, None, :2], hyp[None, :, :2])
    br = np.minimum(gt[:, None, 2:], hyp[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_g = np.prod(gt[:, 2:] - gt[:, :2], axis=1)
    area_h = np.prod(hyp[:, 2:] - hyp[:, :2], axis=1)
    dist = 1.0 - inter / (area_g[:, None] + area_h[None, :] - inter)
    return np.where(dist > max_distance, np.nan, dist)


METRICS = ("mota", "idf1", "num_switches", "num_false_positives", "num_misses", "motp", "num_unique_objects")


def evaluate(gt: F64, hyp: F64, frames: int) -> dict[str, float]:
    """CLEAR-MOT and identity metrics of hypothesis rows against ground-truth rows (frames 1..frames)."""
    acc = mm.MOTAccumulator(auto_id=True)
    for f in range(1, frames + 1):
        g, h = gt[gt[:, 0] == f], hyp[hyp[:, 0] == f]
        acc.update(g[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), _iou_distance(g[:, 2:], h[:, 2:]))
    summary = mm.metrics.create().compute(acc, metrics=list(METRICS), name="run")
    return {name: float(summary[name].iloc[0]) for name in METRICS}


def pets_scores(tracks: list[FinishedTrack], frames: int) -> dict[str, dict[str, float]]:
    """Scores of the person tracks against both PETS09-S2L1 ground truths (the cropped one within its area)."""
    hyp = mot_rows([t for t in tracks if t.summary.class_name == "person"])
    full = load_gt(pets() / "gt_mot_full_480x360.txt")
    cropped = load_gt(pets() / "gt_mot_cropped_480x360.txt")
    full, cropped = full[full[:, 0] <= frames], cropped[cropped[:, 0] <= frames]
    return {
        "full": evaluate(full, hyp, frames),
        "cropped": evaluate(
            cropped, inside(hyp, tracking_area(load_gt(pets() / "gt_mot_cropped_480x360.txt"))), frames
        ),
    }


def table(header: list[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def timed(fn: Callable[[], Iterator[Any]]) -> tuple[int, float]:
    start, count = time.perf_counter(), 0
    for _ in fn():
        count += 1
    return count, time.perf_counter() - start
