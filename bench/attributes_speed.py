"""Cost per person of clothing colours and the appearance vector on PETS 2009 S2.L1 ground-truth boxes.

    .venv/bin/python bench/attributes_speed.py [--step 4]

Every ``step``-th frame's ground-truth people (boxes about 19 x 52 px at 480x360) are described one box at a
time. ``fg mask`` rows pass a frame-sized foreground mask from OpenCV's MOG2 (shadow label 127), as the
pipeline's motion stage will; the others segment with the colour model or GrabCut. Times are per box, wall
clock, single thread, and include everything the call does (segmentation, colour conversion, naming).
``x decode`` divides the mean by the time OpenCV takes to decode one 480x360 frame of the same video in the
same run, a figure that survives a busy or slow machine better than milliseconds do.

Data: PETS 2009 (University of Reading), annotation by A. Milan; read from ../shared/data.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigil.vision.appearance import appearance_vector
from vigil.vision.attributes import describe_person, person_attributes
from vigil.vision.segment import ColourModelSegmenter, GrabCutSegmenter

REPO = Path(__file__).resolve().parents[1]
Image = npt.NDArray[np.uint8]
Case = tuple[Image, npt.NDArray[np.float32], Image]


def timings(cases: list[Case], call: Callable[[Image, npt.NDArray[np.float32], Image], object]) -> list[float]:
    out = []
    for image, box, fg in cases:
        start = time.perf_counter()
        call(image, box, fg)
        out.append(1000.0 * (time.perf_counter() - start))
    return out


def pets_dir() -> Path:
    return Path(os.environ.get("VIGIL_SHARED_DATA", REPO.parent / "shared" / "data")) / "pets09-s2l1"


def frames_with_fg(path: Path) -> Iterator[tuple[int, Image, Image, float]]:
    """(1-based number, BGR frame, MOG2 foreground mask, decode ms) for every frame of the video."""
    capture = cv2.VideoCapture(str(path))
    subtractor = cv2.createBackgroundSubtractorMOG2(history=200, detectShadows=True)
    number = 0
    try:
        while True:
            start = time.perf_counter()
            ok, image = capture.read()
            decode_ms = 1000.0 * (time.perf_counter() - start)
            if not ok:
                return
            number += 1
            frame, fg = np.asarray(image, dtype=np.uint8), np.asarray(subtractor.apply(image), dtype=np.uint8)
            yield number, frame, fg, decode_ms
    finally:
        capture.release()


def load_cases(step: int) -> tuple[list[Case], float]:
    """Ground-truth person boxes of every ``step``-th frame (after MOG2's first 30), and decode ms per frame."""
    rows = np.loadtxt(pets_dir() / "gt_mot_full_480x360.txt", delimiter=",", ndmin=2)
    cases: list[Case] = []
    decode = []
    for number, image, fg, decode_ms in frames_with_fg(pets_dir() / "vtest.avi"):
        decode.append(decode_ms)
        if number > 30 and number % step == 0:
            for left, top, width, height in rows[rows[:, 0] == number, 2:6]:
                cases.append((image, np.array([left, top, left + width, top + height], np.float32), fg))
    return cases, float(np.mean(decode))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", type=int, default=4, help="use every step-th frame")
    args = parser.parse_args()
    if not (pets_dir() / "vtest.avi").is_file():
        sys.exit(f"PETS09 data not found under {pets_dir()}")
    cv2.setNumThreads(1)
    cases, decode_ms = load_cases(args.step)
    colour_model, grabcut = ColourModelSegmenter(), GrabCutSegmenter()
    sources: collections.Counter[str] = collections.Counter(colour_model.segment(i, b, f).source for i, b, f in cases)
    rows = [
        (
            "describe_person, colour model",
            timings(cases, lambda i, b, f: describe_person(i, b, segmenter=colour_model)),
        ),
        ("describe_person, MOG2 fg mask", timings(cases, lambda i, b, f: describe_person(i, b, f))),
        ("describe_person, GrabCut", timings(cases, lambda i, b, f: describe_person(i, b, segmenter=grabcut))),
        ("segment only, colour model", timings(cases, lambda i, b, f: colour_model.segment(i, b))),
        ("person_attributes only (given silhouette)", _given_silhouette(cases, colour_model)),
        ("appearance_vector, with mask", _appearance(cases, colour_model)),
        ("appearance_vector, prior mask (tracker)", timings(cases, lambda i, b, f: appearance_vector(i, b))),
    ]
    sizes = np.array([[b[2] - b[0], b[3] - b[1]] for _, b, _ in cases])
    print(
        f"PETS09 S2.L1, {len(cases)} person boxes, median {np.median(sizes[:, 0]):.0f} x "
        f"{np.median(sizes[:, 1]):.0f} px; decode {decode_ms:.2f} ms/frame; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"segmentation source with the MOG2 mask: {dict(sources)}\n")
    print("| stage | ms/box mean | p50 | p90 | x decode |")
    print("|---|---|---|---|---|")
    for name, values in rows:
        mean, p50, p90 = np.mean(values), np.percentile(values, 50), np.percentile(values, 90)
        print(f"| {name} | {mean:.3f} | {p50:.3f} | {p90:.3f} | {mean / decode_ms:.2f} |")


def _given_silhouette(cases: list[Case], segmenter: ColourModelSegmenter) -> list[float]:
    silhouettes = [segmenter.segment(i, b) for i, b, _ in cases]
    out = []
    for (image, _, _), silhouette in zip(cases, silhouettes, strict=True):
        start = time.perf_counter()
        person_attributes(image, silhouette)
        out.append(1000.0 * (time.perf_counter() - start))
    return out


def _appearance(cases: list[Case], segmenter: ColourModelSegmenter) -> list[float]:
    masks = [segmenter.segment(i, b).mask for i, b, _ in cases]
    out = []
    for (image, box, _), mask in zip(cases, masks, strict=True):
        start = time.perf_counter()
        appearance_vector(image, box, mask)
        out.append(1000.0 * (time.perf_counter() - start))
    return out


if __name__ == "__main__":
    main()
