"""Clothing colours and carried bags on PETA's surveillance crops (peta-dev), through ``vigil describe``'s path.

    .venv/bin/python bench/attributes_peta.py [--step 1] [--subsets 3DPeS MIT ...]

Every ``step``-th crop of each subset goes through :func:`vigil.analysis.describe.describe_image` with the
configured default detector (the same code as ``vigil describe``). The person taken is the highest-scoring
one; a crop where none is found counts as a miss for every figure (the describe path treats a tight crop as
the person since issue 15, so it always answers).

Per subset and as the mean over subsets:

* ``upper`` / ``lower``: top-1 accuracy, the first colour named is any of the person's labelled colours for
  that body part (over all crops: a crop given no colour is a miss);
* ``cov``: how often a colour is given at all; ``acc|given``: accuracy over the crops given a colour;
* backpack and bag precision / recall (mapping of PETA's ``carrying*`` labels in :mod:`bench._peta`).

Colours were tuned on 3DPeS, PRID and SARC3D only; MIT and VIPeR are held out (``held-out mean`` row).
Data: PETA (Deng et al., ACM MM 2014), research use only; read from ../shared/data/peta-dev.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from bench._common import shared_data  # noqa: E402
from bench._peta import SUBSETS, Crop, Tally, crops  # noqa: E402

from vigil.analysis.describe import describe_image, read_image  # noqa: E402
from vigil.vision.detect import build_detector  # noqa: E402

HELD_OUT = ("MIT", "VIPeR")
COLUMNS = ("upper", "lower", "upper_cov", "lower_cov", "upper_given", "lower_given", "bp_p", "bp_r", "bag_p", "bag_r")


def answer(crop: Crop, detector: object) -> tuple[str | None, str | None, set[str], bool]:
    """(top upper colour, top lower colour, carried names, whether the detector found the person)."""
    objects = describe_image(read_image(crop.path), detector=detector)  # type: ignore[arg-type]
    people = [o for o in objects if o.class_name == "person"]
    if not people:
        return None, None, set(), False
    best = max(people, key=lambda o: o.score)
    return (
        best.upper_colours[0] if best.upper_colours else None,
        best.lower_colours[0] if best.lower_colours else None,
        set(best.carried),
        not best.whole_image,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", type=int, default=1, help="take every n-th crop of each subset")
    parser.add_argument("--subsets", nargs="*", default=list(SUBSETS))
    parser.add_argument("--detector", default="centernet")
    args = parser.parse_args()
    root = shared_data() / "peta-dev"
    if not root.is_dir():
        print(f"peta-dev not found under {root.parent}; nothing measured")
        return
    detector = build_detector(args.detector)
    tallies: dict[str, Tally] = {}
    detected: dict[str, int] = {}
    start = time.perf_counter()
    for subset in args.subsets:
        tally = tallies.setdefault(subset, Tally())
        for i, crop in enumerate(crops(root, (subset,))):
            if i % args.step:
                continue
            upper, lower, carried, found = answer(crop, detector)
            tally.add(crop, upper, lower, carried)
            detected[subset] = detected.get(subset, 0) + found
    seconds = time.perf_counter() - start
    print(f"{'subset':<14}{'crops':>6}{'det':>6}" + "".join(f"{c:>12}" for c in COLUMNS))
    rows = {s: t.row() for s, t in tallies.items()}
    for subset, tally in tallies.items():
        found = detected.get(subset, 0) / max(tally.crops, 1)
        print(f"{subset:<14}{tally.crops:>6}{found:>6.2f}" + "".join(f"{rows[subset][c]:>12.3f}" for c in COLUMNS))
    _mean_row("mean", list(rows.values()))
    held = [rows[s] for s in HELD_OUT if s in rows]
    if held:
        _mean_row("held-out mean", held)
    pooled = Tally()
    for tally in tallies.values():
        pooled.backpack = tuple(a + b for a, b in zip(pooled.backpack, tally.backpack, strict=True))  # type: ignore[assignment]
        pooled.bag = tuple(a + b for a, b in zip(pooled.bag, tally.bag, strict=True))  # type: ignore[assignment]
    print(f"pooled carried: backpack tp/fp/fn {pooled.backpack}, bag tp/fp/fn {pooled.bag}")
    print(f"{sum(t.crops for t in tallies.values())} crops in {seconds:.0f} s")


def _mean_row(label: str, rows: list[dict[str, float]]) -> None:
    def mean(column: str) -> float:
        values = [r[column] for r in rows if not math.isnan(r[column])]
        return sum(values) / len(values) if values else float("nan")

    print(f"{label:<14}{'':>6}{'':>6}" + "".join(f"{mean(c):>12.3f}" for c in COLUMNS))


if __name__ == "__main__":
    main()
