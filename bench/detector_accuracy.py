"""Person-detection accuracy and speed of the bundled detectors on PETS 2009 S2.L1.

    .venv/bin/python bench/detector_accuracy.py [--step 2] [--sizes 320 416 512] [--threads 2]

For each model and input size (long side of the network canvas; 480x360 frames become e.g.
512x384) the network runs once per kept frame at the lowest score threshold; each threshold's
results are the subset scoring at least that much (greedy NMS commutes with that filter). A
detection is a true positive when matched one-to-one (Hungarian) to a ground-truth person with
IoU >= 0.5. ``ms/frame`` covers preprocessing, inference, decoding and NMS; ``x video decode``
divides it by the PyAV decode time of the same frames, each timed right before its detection (a
cost that holds across machines and survives a busy CPU better than raw milliseconds).

Data: PETS 2009 (University of Reading), annotation by A. Milan; read from ../shared/data.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from _pets import load_mot_gt, matches, pets_dir, timed_frames
from vigil.domain.detections import PERSON_CLASS_ID
from vigil.vision.detect import OnnxDetector, build_detector


@dataclass
class Tally:
    tp: int = 0
    detections: int = 0
    truths: int = 0
    tp_cropped: int = 0
    truths_cropped: int = 0

    def row(self) -> tuple[float, float, float, float]:
        recall = self.tp / max(self.truths, 1)
        precision = self.tp / max(self.detections, 1)
        f1 = 2 * recall * precision / max(recall + precision, 1e-9)
        return recall, precision, f1, self.tp_cropped / max(self.truths_cropped, 1)


@dataclass
class RunResult:
    model: str
    canvas: str
    frames: int
    ms_per_frame: float
    post_ms: float
    decode_ms: float
    tallies: dict[float, Tally] = field(default_factory=dict)


def run_model(
    detector: OnnxDetector,
    size: int,
    step: int,
    thresholds: list[float],
    gt: dict[int, npt.NDArray[np.float32]],
    gt_cropped: dict[int, npt.NDArray[np.float32]],
) -> RunResult:
    tallies = {t: Tally() for t in thresholds}
    total = post = decode = 0.0
    canvas, frames = "", 0
    empty = np.zeros((0, 4), np.float32)
    for frame in timed_frames(pets_dir() / "vtest.avi", step):
        start = time.perf_counter()
        tensor, placement = detector.model.prepare(frame.image, size)
        outputs = detector.model.run(tensor)
        mid = time.perf_counter()
        kept = detector.select(detector.decoder.decode(outputs, min(thresholds), [PERSON_CLASS_ID]))
        boxes = placement.to_source(kept.xyxy)
        end = time.perf_counter()
        total, post, decode = total + end - start, post + end - mid, decode + frame.decode_seconds
        canvas, frames = f"{placement.canvas_w}x{placement.canvas_h}", frames + 1
        truth, cropped = gt.get(frame.number, empty), gt_cropped.get(frame.number, empty)
        for threshold, tally in tallies.items():
            sel = boxes[kept.score >= threshold]
            tally.tp += matches(sel, truth)
            tally.detections += len(sel)
            tally.truths += len(truth)
            tally.tp_cropped += matches(sel, cropped)
            tally.truths_cropped += len(cropped)
    n = max(frames, 1)
    return RunResult(
        detector.decoder.name, canvas, frames, 1000 * total / n, 1000 * post / n, 1000 * decode / n, tallies
    )


def print_table(results: list[RunResult]) -> None:
    print(f"\nPETS09 S2.L1, {results[0].frames} frames, person class, IoU >= 0.5\n")
    print(
        "| model | canvas | score >= | recall | precision | F1 | recall (cropped GT) | ms/frame "
        "| of which decode+NMS | video decode ms | x video decode |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for threshold, tally in r.tallies.items():
            recall, precision, f1, recall_c = tally.row()
            print(
                f"| {r.model} | {r.canvas} | {threshold:.2f} | {recall:.3f} | {precision:.3f} | {f1:.3f} "
                f"| {recall_c:.3f} | {r.ms_per_frame:.1f} | {r.post_ms:.1f} | {r.decode_ms:.2f} "
                f"| {r.ms_per_frame / r.decode_ms:.1f} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["centernet", "nanodet"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[320, 416, 512])
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.3, 0.4, 0.5])
    parser.add_argument("--step", type=int, default=2, help="use every N-th frame (default 2)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    data = pets_dir()
    if not (data / "vtest.avi").is_file():
        print(f"PETS09 data not found under {data} (set VIGIL_SHARED_DATA)", file=sys.stderr)
        return 2
    gt = load_mot_gt(data / "gt_mot_full_480x360.txt")
    gt_cropped = load_mot_gt(data / "gt_mot_cropped_480x360.txt")
    first = next(timed_frames(data / "vtest.avi")).image
    thresholds = sorted(args.thresholds)
    results = []
    for name in args.models:
        detector = build_detector(
            name, threads=args.threads, score_threshold=min(thresholds), classes=[PERSON_CLASS_ID]
        )
        detector.load()
        for size in args.sizes:
            detector.detect(first, input_size=size)  # warm-up at this shape
            results.append(run_model(detector, size, args.step, thresholds, gt, gt_cropped))
            print(f"done {name} @ {size}", file=sys.stderr)
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
