"""Open-set 1:N identification metrics (ISO/IEC 19795-1 terms, as in NIST FRVT/FRTE 1:N).

* A *mated* search is a probe of someone enrolled in the gallery; it is a hit at threshold T when the top-ranked
  gallery identity is the right one and its score is >= T. TPIR(T) = hits / mated searches (FNIR = 1 - TPIR).
* A *non-mated* search is a probe of someone not enrolled; it is a false alarm when its best score is >= T.
  FPIR(T) = false alarms / non-mated searches.

:func:`leave_identity_out_searches` turns a probe x probe similarity matrix into both kinds of search: galleries
are built with one photo per identity (rotating which photo over ``draws``), every other photo of an enrolled
identity is a mated search, and every photo is also searched as non-mated against the gallery *without* its own
identity. Repeated draws reuse photos, so they add stability but not independent evidence: confidence intervals
use the number of distinct probe photos.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Searches:
    """Pooled search outcomes: mated (top score, top is right) and non-mated (top score) arrays."""

    mated_score: Scores
    mated_correct: npt.NDArray[np.bool_]
    non_mated_score: Scores
    mated_photos: int
    non_mated_photos: int
    gallery_size: int
    draws: int


@dataclass(frozen=True)
class OperatingPoint:
    """TPIR at the threshold that holds FPIR at or under a target, with a 95% Wilson interval."""

    target_fpir: float
    threshold: float
    fpir: float
    tpir: float
    tpir_low: float
    tpir_high: float


def wilson_interval(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion observed as ``rate`` over ``n`` trials."""
    if n <= 0:
        return 0.0, 1.0
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def leave_identity_out_searches(similarity: Scores, identities: Sequence[str], draws: int | None = None) -> Searches:
    """Mated and non-mated searches from a symmetric photo x photo ``similarity`` and each photo's identity."""
    ids = np.asarray(identities)
    photos_of = {name: np.flatnonzero(ids == name) for name in sorted(set(identities))}
    enrollable = [name for name, rows in photos_of.items() if len(rows) >= 2]
    if not enrollable:
        raise ValueError("open-set identification needs at least one identity with two or more photos")
    draws = draws or max(len(photos_of[name]) for name in enrollable)
    mated_score: list[float] = []
    mated_correct: list[bool] = []
    non_mated: list[float] = []
    for draw in range(draws):
        gallery = np.array([photos_of[name][draw % len(photos_of[name])] for name in enrollable])
        gallery_ids = ids[gallery]
        for probe in range(len(ids)):
            scores = similarity[probe, gallery]
            own = gallery_ids == ids[probe]
            if own.any() and probe not in gallery:
                best = int(np.argmax(scores))
                mated_score.append(float(scores[best]))
                mated_correct.append(bool(own[best]))
            others = scores[~own]
            if len(others):
                non_mated.append(float(others.max()))
    return Searches(
        mated_score=np.asarray(mated_score),
        mated_correct=np.asarray(mated_correct, dtype=bool),
        non_mated_score=np.asarray(non_mated),
        mated_photos=int(sum(len(photos_of[name]) for name in enrollable)),
        non_mated_photos=len(ids),
        gallery_size=len(enrollable),
        draws=draws,
    )


def tpir_at(searches: Searches, threshold: float) -> float:
    hits = searches.mated_correct & (searches.mated_score >= threshold)
    return float(hits.mean()) if len(hits) else 0.0


def fpir_at(searches: Searches, threshold: float) -> float:
    alarms = searches.non_mated_score >= threshold
    return float(alarms.mean()) if len(alarms) else 0.0


def threshold_for_fpir(non_mated_score: Scores, target: float) -> float:
    """The lowest threshold whose FPIR is at most ``target`` (just above the allowed number of false alarms)."""
    ordered = np.sort(non_mated_score)[::-1]
    allowed = math.floor(target * len(ordered) + 1e-9)
    if allowed >= len(ordered):
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.inf))


def operating_point(searches: Searches, target_fpir: float) -> OperatingPoint:
    threshold = threshold_for_fpir(searches.non_mated_score, target_fpir)
    tpir = tpir_at(searches, threshold)
    low, high = wilson_interval(tpir, searches.mated_photos)
    return OperatingPoint(target_fpir, threshold, fpir_at(searches, threshold), tpir, low, high)


@dataclass(frozen=True)
class ScoreSummary:
    """Distribution of 1:1 comparison scores."""

    count: int
    mean: float
    std: float
    p01: float
    p05: float
    p50: float
    p95: float
    p99: float
    low: float
    high: float


def summarise(scores: Scores) -> ScoreSummary:
    p = np.percentile(scores, [1, 5, 50, 95, 99]) if len(scores) else np.zeros(5)
    return ScoreSummary(
        count=len(scores),
        mean=float(np.mean(scores)) if len(scores) else 0.0,
        std=float(np.std(scores)) if len(scores) else 0.0,
        p01=float(p[0]),
        p05=float(p[1]),
        p50=float(p[2]),
        p95=float(p[3]),
        p99=float(p[4]),
        low=float(np.min(scores)) if len(scores) else 0.0,
        high=float(np.max(scores)) if len(scores) else 0.0,
    )


def pair_scores(similarity: Scores, identities: Sequence[str]) -> tuple[Scores, Scores]:
    """(genuine, impostor) scores of every unordered pair of distinct photos."""
    ids = np.asarray(identities)
    upper = np.triu_indices(len(ids), k=1)
    same = ids[upper[0]] == ids[upper[1]]
    values = similarity[upper]
    return values[same].astype(np.float64), values[~same].astype(np.float64)


def d_prime(genuine: Scores, impostor: Scores) -> float:
    """Separation of the two distributions: (mean_g - mean_i) / sqrt((var_g + var_i) / 2)."""
    spread = math.sqrt((float(np.var(genuine)) + float(np.var(impostor))) / 2)
    return (float(np.mean(genuine)) - float(np.mean(impostor))) / spread if spread > 0 else math.inf
