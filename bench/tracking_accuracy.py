"""Tracking accuracy on PETS 2009 S2.L1 (credit: PETS 2009, University of Reading; annotation: A. Milan).

Prints markdown tables:

1. the detectors (CenterNet, NanoDet) at several full-frame input sizes: detection recall and precision
   (IoU >= 0.5 against the full ground truth, every 5th frame) at several confidence thresholds, and time
   per frame — the evidence behind the pipeline's default detector, input size and threshold;
2. CLEAR-MOT / identity scores of the naive pipeline (detector on every whole frame, same tracker) and of
   vigil's pipeline, against both ground truths (see ``bench/_common.py`` for the cropped one's area).

Usage: ``.venv/bin/python bench/tracking_accuracy.py [--skip-detectors]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    _iou_distance,
    evaluate,
    inside,
    load_gt,
    mot_rows,
    pets,
    pets_scores,
    run_analyser,
    setup_for,
    table,
    tracking_area,
)

from vigil.analysis.pipeline import build_analyser, frames
from vigil.domain.detections import Frame
from vigil.settings import Settings
from vigil.vision.detect import build_detector

NAIVE = {"detect_interval_s": 0.0, "motion_gating": False, "regions": False}
THRESHOLDS = (0.2, 0.3, 0.4, 0.5)


def detector_table(pictures: list[Frame]) -> str:
    gt = load_gt(pets() / "gt_mot_full_480x360.txt")
    sample = pictures[::5]
    rows = []
    for name in ("centernet", "nanodet"):
        for size in (320, 416, 512):
            detector = build_detector(
                name, threads=Settings().vision.threads, score_threshold=0.1, input_size=size, classes=[0]
            )
            detector.load()
            detector.detect(sample[0].image)
            start = time.perf_counter()
            found = [detector.detect(frame.image) for frame in sample]
            ms = (time.perf_counter() - start) / len(sample) * 1000
            cells = []
            for threshold in THRESHOLDS:
                tp = fp = fn = 0
                for frame, result in zip(sample, found, strict=True):
                    truth = gt[gt[:, 0] == frame.index + 1][:, 2:]
                    boxes = result.xyxy[result.score >= threshold].astype(np.float64)
                    matched = 0
                    if len(truth) and len(boxes):
                        iou = np.nan_to_num(1.0 - _iou_distance(truth, boxes), nan=0.0)
                        r, c = linear_sum_assignment(-iou)
                        matched = int((iou[r, c] >= 0.5).sum())
                    tp, fp, fn = tp + matched, fp + len(boxes) - matched, fn + len(truth) - matched
                cells.append(f"{tp / max(tp + fn, 1):.2f} / {tp / max(tp + fp, 1):.2f}")
            rows.append([name, size, f"{ms:.0f}", *cells])
    header = ["detector", "input", "ms / frame", *[f"recall / precision @ {t}" for t in THRESHOLDS]]
    return table(header, rows)


def tracking_table(pictures: list[Frame]) -> str:
    cropped_gt = load_gt(pets() / "gt_mot_cropped_480x360.txt")
    rows = []
    runs = [
        ("naive (every frame, whole frame)", "centernet", NAIVE),
        ("vigil", "centernet", {}),
        ("vigil with NanoDet", "nanodet", {}),
    ]
    for label, detector, params in runs:
        analyser = build_analyser(Settings(), setup_for(480, 360, 10.0, len(pictures), detector=detector, **params))
        run = run_analyser(analyser, pictures)
        scores = pets_scores(run.tracks, len(pictures))
        raw = evaluate(cropped_gt, mot_rows([t for t in run.tracks if t.summary.class_name == "person"]), len(pictures))
        for gt_name, s in (("full", scores["full"]), ("cropped (area)", scores["cropped"]), ("cropped (raw)", raw)):
            rows.append(
                [
                    label,
                    gt_name,
                    s["mota"],
                    s["idf1"],
                    int(s["num_switches"]),
                    int(s["num_false_positives"]),
                    int(s["num_misses"]),
                    run.detector_calls,
                ]
            )
    ceiling = evaluate(
        cropped_gt, inside(load_gt(pets() / "gt_mot_full_480x360.txt"), tracking_area(cropped_gt)), len(pictures)
    )
    rows.append(["perfect whole-frame tracker", "cropped (area)", ceiling["mota"], ceiling["idf1"], 0, 0, 0, "-"])
    header = ["pipeline", "ground truth", "MOTA", "IDF1", "ID sw", "FP", "FN", "detector calls"]
    return table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-detectors", action="store_true")
    args = parser.parse_args()
    pictures = list(frames(pets() / "vtest.avi", 0))
    if not args.skip_detectors:
        print("### Detectors on PETS09-S2L1 (every 5th frame, full ground truth, IoU >= 0.5)\n")
        print(detector_table(pictures))
        print()
    print("### Tracking on PETS09-S2L1 (795 frames; person tracks; IoU >= 0.5)\n")
    print(tracking_table(pictures))


if __name__ == "__main__":
    main()
