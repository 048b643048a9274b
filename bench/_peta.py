"""PETA (peta-dev) crops with their labels, and the scoring of vigil's answers against them.

Each subset's ``archive/Label.txt`` has one line per person id (the image name's prefix before ``_``); a
person's labelled colours for a body part are all acceptable answers. PETA is for research use only: it is
used here to measure and to tune thresholds, never shipped.

Carried objects are mapped to vigil's answers as follows:

* "backpack" is right for ``carryingBackpack``;
* "bag" (vigil's ``handbag``) is right for ``carryingMessengerBag`` (shoulder bags, handbags) and
  ``carryingPlasticBags``; people labelled only ``carryingOther`` (PETA's catch-all, often a handbag, often
  a phone or a coat) are left out of the bag figures because neither answer can be called wrong;
* everyone else (``carryingNothing``, folders, suitcases, buggies...) is a negative for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUBSETS = ("3DPeS", "MIT", "PRID", "SARC3D", "VIPeR")
COLOURS = ("black", "blue", "brown", "green", "grey", "orange", "pink", "purple", "red", "white", "yellow")
BAG_LABELS = frozenset({"carryingMessengerBag", "carryingPlasticBags"})


@dataclass(frozen=True)
class Crop:
    subset: str
    path: Path
    upper: frozenset[str]
    lower: frozenset[str]
    backpack: bool
    bag: bool | None
    """``None`` when the person carries only PETA's "other" (not scored for bags)."""


def _key(person_id: str) -> str:
    return str(int(person_id)) if person_id.isdigit() else person_id


def _labels(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        words = line.split()
        if words:
            out[_key(words[0])] = words[1:]
    return out


def crops(root: Path, subsets: tuple[str, ...] = SUBSETS) -> Iterator[Crop]:
    """Every labelled image of the given subsets, in name order."""
    for subset in subsets:
        archive = root / subset / "archive"
        labels = _labels(archive / "Label.txt")
        for path in sorted(archive.iterdir()):
            words = labels.get(_key(path.name.split("_")[0]))
            if path.name == "Label.txt" or words is None:
                continue
            bag: bool | None = bool(BAG_LABELS.intersection(words))
            if not bag and "carryingOther" in words:
                bag = None
            yield Crop(
                subset=subset,
                path=path,
                upper=frozenset(w[9:].lower() for w in words if w[9:].lower() in COLOURS and w[:9] == "upperBody"),
                lower=frozenset(w[9:].lower() for w in words if w[9:].lower() in COLOURS and w[:9] == "lowerBody"),
                backpack="carryingBackpack" in words,
                bag=bag,
            )


@dataclass
class Tally:
    """Counts for one subset."""

    crops: int = 0
    upper_given: int = 0
    upper_hit: int = 0
    lower_given: int = 0
    lower_hit: int = 0
    backpack: tuple[int, int, int] = (0, 0, 0)
    bag: tuple[int, int, int] = (0, 0, 0)
    """true positives, false positives, false negatives."""

    def add(self, crop: Crop, upper: str | None, lower: str | None, carried: set[str]) -> None:
        self.crops += 1
        self.upper_given += upper is not None
        self.upper_hit += upper in crop.upper
        self.lower_given += lower is not None
        self.lower_hit += lower in crop.lower
        self.backpack = _count(self.backpack, crop.backpack, "backpack" in carried)
        if crop.bag is not None:
            self.bag = _count(self.bag, crop.bag, "handbag" in carried)

    def row(self) -> dict[str, float]:
        n = max(self.crops, 1)
        return {
            "upper": self.upper_hit / n,
            "lower": self.lower_hit / n,
            "upper_cov": self.upper_given / n,
            "lower_cov": self.lower_given / n,
            "upper_given": self.upper_hit / max(self.upper_given, 1),
            "lower_given": self.lower_hit / max(self.lower_given, 1),
            "bp_p": _precision(self.backpack),
            "bp_r": _recall(self.backpack),
            "bag_p": _precision(self.bag),
            "bag_r": _recall(self.bag),
        }


def _count(tpfpfn: tuple[int, int, int], truth: bool, said: bool) -> tuple[int, int, int]:
    tp, fp, fn = tpfpfn
    return (tp + (truth and said), fp + (said and not truth), fn + (truth and not said))


def _precision(c: tuple[int, int, int]) -> float:
    return c[0] / (c[0] + c[1]) if c[0] + c[1] else float("nan")


def _recall(c: tuple[int, int, int]) -> float:
    return c[0] / (c[0] + c[2]) if c[0] + c[2] else float("nan")
