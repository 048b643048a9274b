"""Ways to name a person's clothing colours, compared on PETA's crops (peta-dev) without the detector.

    .venv/bin/python bench/colour_variants_peta.py [--step 3] [--offset 0]

Issue 15 asks for top-1 clothing colour >= 0.80 upper / 0.75 lower. This script measures the ideas that were
proposed for getting there, each against vigil's current answer, on the same crops:

* **segmentation**: which pixels are the person (vigil's colour-model segmenter; OpenCV GrabCut seeded the
  same way; the body-shaped prior alone; the whole box);
* **naming**: per-pixel votes over the 11 names (vigil), the name of the part's median Lab colour, or of the
  largest k-means cluster in Lab (k = 2, 3);
* **illumination**: a white-patch gain after grey world (the crop's 99th brightness percentile to white);
* **body parts**: narrower upper / lower bands (away from the waist, the neck and the shoes);
* and, as a ceiling for any rule that picks among vigil's per-pixel names, the share of crops where one of the
  part's ``k`` most frequent names (k = 2, 3) is a labelled colour (an oracle, not a method).

Each crop is taken whole as the person (a tight PETA crop is one person; ``vigil describe`` does the same when
the detector finds nothing) and white-balanced as ``vigil describe`` does. ``--offset`` picks which of every
``step`` crops are used, so a variant chosen on one slice can be checked on another. MIT and VIPeR are held out.
Data: PETA (Deng et al., ACM MM 2014), research use only; read from ../shared/data/peta-dev.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from bench._common import shared_data  # noqa: E402
from bench._peta import SUBSETS, crops  # noqa: E402

from vigil.domain.vocabulary import PALETTE  # noqa: E402
from vigil.vision.colour import (  # noqa: E402
    STILL_GAIN_LIMIT,
    FloatArray,
    apply_gains,
    colour_indices_of_lab,
    grey_world_gains,
    histogram_of_indices,
    lab_of,
)
from vigil.vision.segment import (  # noqa: E402
    LOWER_BODY,
    UPPER_BODY,
    BoolMask,
    ColourModelSegmenter,
    GrabCutSegmenter,
    band_rows,
    shape_prior,
)

HELD_OUT = ("MIT", "VIPeR")
Namer = Callable[[FloatArray], str | None]


@dataclass
class Sample:
    subset: str
    upper: frozenset[str]
    lower: frozenset[str]
    lab: FloatArray
    """The balanced crop in CIELab, ``(H, W, 3)``."""
    relit: FloatArray
    masks: dict[str, BoolMask]


def vote(lab: FloatArray) -> str | None:
    """vigil's naming: the most frequent per-pixel name."""
    return str(PALETTE[int(np.argmax(histogram_of_indices(colour_indices_of_lab(lab))))]) if len(lab) else None


def median(lab: FloatArray) -> str | None:
    return _name(np.median(lab, axis=0)) if len(lab) else None


def kmeans(k: int) -> Namer:
    def name(lab: FloatArray) -> str | None:
        if len(lab) < k:
            return vote(lab)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        _, labels, _ = cv2.kmeans(lab.astype(np.float32), k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
        largest = int(np.argmax(np.bincount(labels.ravel(), minlength=k)))
        return _name(np.median(lab[labels.ravel() == largest], axis=0))

    return name


def _name(lab: npt.NDArray[np.floating]) -> str:
    return str(PALETTE[int(colour_indices_of_lab(np.asarray(lab, np.float32).reshape(1, 3))[0])])


def load(root: Path, step: int, offset: int) -> list[Sample]:
    colour_model, grabcut = ColourModelSegmenter(shape="person"), GrabCutSegmenter(shape="person")
    samples = []
    for i, crop in enumerate(crops(root)):
        if i % step != offset:
            continue
        image = np.asarray(cv2.imread(str(crop.path)), dtype=np.uint8)
        height, width = image.shape[:2]
        box = np.array([0, 0, width, height], dtype=np.float32)
        balanced = apply_gains(image.reshape(-1, 3), grey_world_gains(image, limit=STILL_GAIN_LIMIT))
        masks = {
            "colour model": colour_model.segment(image, box).mask,
            "grabcut": grabcut.segment(image, box).mask,
            "shape prior": shape_prior("person", height, width)[0],
            "whole box": np.ones((height, width), dtype=bool),
        }
        samples.append(
            Sample(
                crop.subset,
                crop.upper,
                crop.lower,
                lab_of(balanced).reshape(height, width, 3),
                lab_of(_white_patch(balanced)).reshape(height, width, 3),
                masks,
            )
        )
    return samples


def _white_patch(pixels: npt.NDArray[np.uint8], percentile: float = 99.0, limit: float = 1.5) -> npt.NDArray[np.uint8]:
    """Brightness scaled so the crop's ``percentile`` of max(B, G, R) reaches white (gain up to ``limit``)."""
    brightest = float(np.percentile(pixels.max(axis=1), percentile)) / 255.0
    linear_peak = brightest / 12.92 if brightest <= 0.04045 else ((brightest + 0.055) / 1.055) ** 2.4
    gain = float(np.clip(1.0 / max(linear_peak, 1e-4), 1.0, limit))
    return apply_gains(pixels, np.full(3, gain, dtype=np.float32))


def parts(mask: BoolMask, upper: tuple[float, float], lower: tuple[float, float]) -> tuple[BoolMask, BoolMask]:
    out = []
    for band in (upper, lower):
        start, stop = band_rows(mask, band)
        part = np.zeros_like(mask)
        part[start:stop] = mask[start:stop]
        out.append(part)
    return out[0], out[1]


@dataclass(frozen=True)
class Variant:
    label: str
    mask: str = "colour model"
    namer: Namer = vote
    relit: bool = False
    bands: tuple[tuple[float, float], tuple[float, float]] = (UPPER_BODY, LOWER_BODY)


VARIANTS = (
    Variant("vigil (colour model, votes)"),
    Variant("segment: grabcut", mask="grabcut"),
    Variant("segment: shape prior", mask="shape prior"),
    Variant("segment: whole box", mask="whole box"),
    Variant("name: median Lab", namer=median),
    Variant("name: k-means 2", namer=kmeans(2)),
    Variant("name: k-means 3", namer=kmeans(3)),
    Variant("light: white patch 1.5x", relit=True),
    Variant("parts: 20-45% / 55-85%", bands=((0.20, 0.45), (0.55, 0.85))),
)


def score(samples: list[Sample], variant: Variant) -> dict[str, tuple[float, float]]:
    hits: dict[str, list[int]] = {}
    for s in samples:
        lab = s.relit if variant.relit else s.lab
        upper, lower = parts(s.masks[variant.mask], *variant.bands)
        row = hits.setdefault(s.subset, [0, 0, 0])
        row[0] += 1
        row[1] += variant.namer(lab[upper]) in s.upper
        row[2] += variant.namer(lab[lower]) in s.lower
    return {subset: (up / n, low / n) for subset, (n, up, low) in hits.items()}


def ceiling(samples: list[Sample], k: int) -> dict[str, tuple[float, float]]:
    """How often one of the ``k`` most frequent per-pixel names of a part is among its labelled colours."""
    hits: dict[str, list[int]] = {}
    for s in samples:
        upper, lower = parts(s.masks["colour model"], UPPER_BODY, LOWER_BODY)
        row = hits.setdefault(s.subset, [0, 0, 0])
        row[0] += 1
        row[1] += bool(_top_names(s.lab[upper], k) & s.upper)
        row[2] += bool(_top_names(s.lab[lower], k) & s.lower)
    return {subset: (up / n, low / n) for subset, (n, up, low) in hits.items()}


def _top_names(lab: FloatArray, k: int) -> set[str]:
    shares = histogram_of_indices(colour_indices_of_lab(lab))
    return {str(PALETTE[int(i)]) for i in np.argsort(-shares)[:k] if shares[i] > 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", type=int, default=3, help="take every n-th crop")
    parser.add_argument("--offset", type=int, default=0, help="which crop of every step (0 .. step-1)")
    args = parser.parse_args()
    root = shared_data() / "peta-dev"
    if not root.is_dir():
        print(f"peta-dev not found under {root.parent}; nothing measured")
        return
    cv2.setRNGSeed(0)
    samples = load(root, args.step, args.offset)
    subsets = [s for s in SUBSETS if any(x.subset == s for x in samples)]
    print(f"{len(samples)} crops; upper/lower top-1")
    print(f"{'variant':<30}" + "".join(f"{s:>12}" for s in subsets) + f"{'mean':>12}{'held-out':>12}")
    rows = [(v.label, score(samples, v)) for v in VARIANTS]
    rows += [(f"ceiling: one of top {k} names", ceiling(samples, k)) for k in (2, 3)]
    for label, result in rows:
        held = [result[s] for s in HELD_OUT if s in result]
        cells = [result[s] for s in subsets] + [_mean(list(result.values())), _mean(held)]
        print(f"{label:<30}" + "".join(f"{u:>6.3f}/{low:.3f}" for u, low in cells))


def _mean(rows: list[tuple[float, float]]) -> tuple[float, float]:
    return (float(np.mean([r[0] for r in rows])), float(np.mean([r[1] for r in rows]))) if rows else (np.nan, np.nan)


if __name__ == "__main__":
    main()
