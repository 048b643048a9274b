"""Person detection and tracking across scenes: MOTA, IDF1, recall, precision and speed per scene.

Scenes (``bench/_scenes.py``): PETS09-S2L1 (shipped ground truth; PETS 2009, University of Reading, annotation by
A. Milan) and two Intel sample videos (CC BY 4.0) with ground truth drafted offline and corrected by eye
(``bench/data/README.md``), each also downscaled to half size to mimic a low-resolution camera with small people.
Only person tracks are scored (motmetrics, IoU >= 0.5), exported at every frame as ``vigil tracks export
--format mot`` does. "x RT" = video seconds per wall second including decoding (a loaded machine inflates it).

``--calibrate N`` first calibrates each scene's camera sensitivity from N ground-truth frames used as an
administrator's marks (:mod:`vigil.analysis.sensitivity`, as ``vigil camera sensitivity --from-marks`` does).

Usage: ``.venv/bin/python bench/scenes.py [--scenes pets09,street] [--calibrate 8] [--param key=JSON ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import motmetrics as mm
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import F64, _iou_distance, load_gt, mot_rows, run_analyser, setup_for, table
from bench._scenes import Scene, scenes

from vigil.analysis.pipeline import DEFAULT_INPUT, build_analyser
from vigil.analysis.sensitivity import calibrate
from vigil.domain.vocabulary import TRACKED_CLASSES
from vigil.settings import Settings
from vigil.vision.detect import build_detector

METRICS = ("mota", "idf1", "recall", "precision", "num_switches", "num_false_positives", "num_misses")


def score(gt: F64, hyp: F64, frames: int) -> dict[str, float]:
    acc = mm.MOTAccumulator(auto_id=True)
    for f in range(1, frames + 1):
        g, h = gt[gt[:, 0] == f], hyp[hyp[:, 0] == f]
        acc.update(g[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), _iou_distance(g[:, 2:], h[:, 2:]))
    summary = mm.metrics.create().compute(acc, metrics=list(METRICS), name="run")
    return {name: float(summary[name].iloc[0]) for name in METRICS}


def drop_ignored(hyp: F64, scene: Scene) -> F64:
    """Hypotheses mostly (>= half their area) inside an ignore region of the scene (people cut by the frame
    edge, not annotated) are not scored."""
    path = scene.gt.with_name(scene.gt.name.removesuffix(".gt.txt") + ".ignore.txt")
    if not scene.gt.name.endswith(".gt.txt") or not path.exists() or not len(hyp):
        return hyp
    keep = np.ones(len(hyp), dtype=bool)
    for first, last, *box in np.loadtxt(path, delimiter=",", ndmin=2).tolist():
        x0, y0, x1, y1 = (v * scene.scale for v in box)
        inter = np.clip(np.minimum(hyp[:, 4], x1) - np.maximum(hyp[:, 2], x0), 0, None) * np.clip(
            np.minimum(hyp[:, 5], y1) - np.maximum(hyp[:, 3], y0), 0, None
        )
        area = np.maximum((hyp[:, 4] - hyp[:, 2]) * (hyp[:, 5] - hyp[:, 3]), 1e-6)
        keep &= ~((hyp[:, 0] >= first) & (hyp[:, 0] <= last) & (inter / area >= 0.5))
    return hyp[keep]


def calibrated(scene: Scene, marked_frames: int, detector: str) -> dict[str, object]:
    """The camera sensitivity ``vigil camera sensitivity --from-marks`` would store, from ``marked_frames``
    ground-truth frames spread over the scene (standing in for an administrator's marks)."""
    gt = load_gt(scene.gt)
    gt[:, 2:] *= scene.scale
    with_people = np.unique(gt[:, 0]).astype(int)
    chosen = with_people[np.linspace(0, len(with_people) - 1, marked_frames).round().astype(int)]
    marks = {int(f) - 1: gt[gt[:, 0] == f][:, 2:].astype(np.float32) for f in chosen}
    net = build_detector(detector, threads=Settings().vision.threads, score_threshold=0.05, classes=TRACKED_CLASSES)
    result = calibrate(frames=scene.frames(), marks=marks, detector=net, input_size=DEFAULT_INPUT[detector])
    return {"score_threshold": result.score_threshold, "person_height_px": result.person_height_px}


def run_scene(scene: Scene, params: dict[str, object], marked_frames: int = 0) -> list[object]:
    if marked_frames:
        detector = str(params.get("detector") or Settings().vision.detector)
        params = {**params, **calibrated(scene, marked_frames, detector)}
        print(f"{scene.name}: calibrated from {marked_frames} marked frames: {params}", file=sys.stderr)
    pictures = scene.frames()
    first = next(pictures)
    analyser = build_analyser(Settings(), setup_for(first.width, first.height, scene.fps, scene.frame_count, **params))

    def source():  # type: ignore[no-untyped-def]
        yield first
        yield from pictures

    run = run_analyser(analyser, source())
    gt = load_gt(scene.gt)
    gt = gt[gt[:, 0] <= run.frames]
    gt[:, 2:] *= scene.scale
    hyp = drop_ignored(mot_rows([t for t in run.tracks if t.summary.class_name == "person"]), scene)
    s = score(gt, hyp, run.frames)
    heights = gt[:, 5] - gt[:, 3]
    return [
        scene.name,
        f"{first.width}x{first.height}",
        f"{np.percentile(heights, 10):.0f}-{np.percentile(heights, 90):.0f}",
        s["mota"],
        s["idf1"],
        s["recall"],
        s["precision"],
        int(s["num_switches"]),
        int(s["num_false_positives"]),
        int(s["num_misses"]),
        run.detector_calls,
        f"{run.frames / scene.fps / run.seconds:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", default="", help="comma-separated scene names (default: all)")
    parser.add_argument("--param", action="append", default=[], help="analysis param as key=JSON value")
    parser.add_argument(
        "--calibrate", type=int, default=0, help="calibrate each scene's sensitivity from N marked (GT) frames"
    )
    args = parser.parse_args()
    params = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.param)}
    chosen = [s for s in scenes() if not args.scenes or s.name in args.scenes.split(",")]
    rows = [run_scene(scene, params, args.calibrate) for scene in chosen]
    calibration = f", calibrated from {args.calibrate} marked frames" if args.calibrate else ""
    print(f"### Scenes (params {params or 'default'}{calibration}; load average {os.getloadavg()[0]:.1f})\n")
    header = ["scene", "size", "GT height p10-p90", "MOTA", "IDF1", "recall", "precision", "ID sw", "FP", "FN"]
    print(table([*header, "detector calls", "x RT"], rows))


if __name__ == "__main__":
    main()
