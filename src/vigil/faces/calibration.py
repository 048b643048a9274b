"""Threshold calibration: TPIR and FPIR across thresholds on a labelled set, and the expected false-alert rate
of a watchlist of any size.

Measured curves use the open-set searches of :mod:`vigil.vision.faces.openset` (one enrolled photo per person,
rotating; every other photo of an enrolled person is a mated search; every photo is also searched against the
list without its own person, a non-mated search). They hold for a list as big as the labelled set's.

For a watchlist of N people, a face of someone not on it raises a false alert when any of the N comparisons
reaches the threshold: ``FPIR_N(T) = 1 - (1 - p(T))^N``, with ``p(T)`` the chance that one impostor comparison
scores at least T (the open-set rate NPL reports, e.g. "at 0.6, about 1 in 6,000 for 10,000 people"). A few
thousand impostor pairs measure ``p`` only down to about 1 in 1,000, so above the 95th percentile of the impostor
scores ``p`` is extrapolated by peaks over threshold with an exponential tail (``p(u) * exp(-(T - u) / scale)``,
scale = mean excess over u). On the shared development photos a normal fit underestimated the measured FPIR
five-fold at 0.48; the exponential tail matched it within 20% up to 0.52 and errs high (towards warning) above.
``predicted_at_gallery`` sits beside the measured FPIR at the labelled set's own list size as a check.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.errors import InvalidInput, NotFound
from vigil.faces.images import model_name, read_photo
from vigil.faces.watchlists import fr_capability
from vigil.governance import audit
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer
from vigil.vision.faces.openset import fpir_at, leave_identity_out_searches, operating_point, pair_scores, tpir_at

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
THRESHOLDS = tuple(round(0.02 * k, 2) for k in range(51))
TARGET_FPIRS = (0.1, 0.01, 0.001)


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    identity: str


def folder_photos(root: Path, prefix: str = "") -> list[LabelledPhoto]:
    """A person-per-folder layout (``root/<person>/<photo>``); loose photos are each their own person."""
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder")
    photos = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            person = path.parent.name if path.parent != root else path.stem
            photos.append(LabelledPhoto(path, f"{prefix}{person}"))
    return photos


def csv_photos(labels: Path, prefix: str = "") -> list[LabelledPhoto]:
    """Photos listed in a CSV of ``image,identity`` rows (image paths relative to the CSV's folder)."""
    try:
        with labels.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise InvalidInput(f"cannot read {labels}: {exc.strerror}") from None
    if not rows or not {"image", "identity"} <= set(rows[0]):
        raise InvalidInput(f"{labels} must be a CSV with 'image' and 'identity' columns")
    return [LabelledPhoto(labels.parent / row["image"], f"{prefix}{row['identity']}") for row in rows]


TAIL_QUANTILE = 0.95


@dataclass(frozen=True)
class ImpostorModel:
    """``p(T)``: measured impostor rates on the threshold grid, and the exponential tail above ``tail_from``."""

    thresholds: list[float]
    measured: list[float]
    tail_from: float
    tail_rate: float
    tail_scale: float

    @classmethod
    def fit(cls, impostor: npt.NDArray[np.float64]) -> ImpostorModel:
        u = float(np.quantile(impostor, TAIL_QUANTILE))
        excess = impostor[impostor > u] - u
        return cls(
            thresholds=list(THRESHOLDS),
            measured=[round(float(np.mean(impostor >= t)), 8) for t in THRESHOLDS],
            tail_from=round(u, 6),
            tail_rate=round(float(np.mean(impostor > u)), 8),
            tail_scale=round(max(float(excess.mean()) if len(excess) else 0.0, 1e-3), 6),
        )

    def rate(self, threshold: float) -> float:
        """The chance that one comparison with someone else scores at least ``threshold`` (non-increasing)."""
        at_u = float(np.interp(self.tail_from, self.thresholds, self.measured))
        if threshold <= self.tail_from:
            return float(np.interp(threshold, self.thresholds, self.measured))
        return min(at_u, self.tail_rate * math.exp(-(threshold - self.tail_from) / self.tail_scale))


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    tpir: float
    fpir: float
    impostor_rate: float
    impostor_rate_model: float
    predicted_at_gallery: float


@dataclass(frozen=True)
class Calibration:
    """A calibration as written to ``settings.faces.calibration_file``."""

    model: str
    created_at: str
    photos: int
    identities: int
    skipped: list[str]
    gallery_size: int
    mated_searches: int
    non_mated_searches: int
    genuine_pairs: int
    impostor_pairs: int
    impostor: ImpostorModel
    curve: list[CurvePoint]
    operating_points: list[dict[str, float]]

    def expected_fpir(self, threshold: float, watchlist_size: int) -> float:
        """Expected false alerts per face of a person not on a list of ``watchlist_size`` at ``threshold``."""
        if watchlist_size < 0:
            raise InvalidInput("a watchlist size cannot be negative")
        p = self.impostor.rate(threshold)
        return 0.0 if p <= 0 else -math.expm1(watchlist_size * math.log1p(-min(p, 1 - 1e-16)))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        data = json.loads(text)
        data["curve"] = [CurvePoint(**point) for point in data["curve"]]
        data["impostor"] = ImpostorModel(**data["impostor"])
        return cls(**data)


def one_in(rate: float) -> str:
    """A rate in words: 0.000167 -> "1 in 6,000" (two significant figures)."""
    if rate <= 0:
        return "none expected"
    if rate >= 0.5:
        return f"{rate:.0%}"
    n = 1 / rate
    digits = max(0, math.floor(math.log10(n)) - 1)
    return f"1 in {round(n, -digits):,.0f}"


def fpir_warning(calibration: Calibration, *, threshold: float, watchlist_size: int, ceiling: float) -> str | None:
    """A warning when the expected false-alert rate exceeds the configured ceiling (None when within it)."""
    expected = calibration.expected_fpir(threshold, watchlist_size)
    if expected <= ceiling:
        return None
    return (
        f"at threshold {threshold:g} a {watchlist_size:,}-person watchlist is expected to raise a false alert for "
        f"about {one_in(expected)} faces, above the ceiling of {one_in(ceiling)}: "
        "raise the threshold or shorten the list"
    )


def calibration_path(settings: Settings) -> Path:
    path = settings.faces.calibration_file
    return path if path.is_absolute() else settings.data_dir / path


def load_calibration(settings: Settings) -> Calibration:
    path = calibration_path(settings)
    if not path.is_file():
        raise NotFound("no face threshold calibration yet: run `vigil fr calibrate` on a labelled set")
    try:
        return Calibration.from_json(path.read_text())
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"{path} is not a calibration written by `vigil fr calibrate` ({exc})") from None


def embed_photos(
    recognizer: FaceRecognizer, photos: Sequence[LabelledPhoto], *, max_mb: float
) -> tuple[npt.NDArray[np.float32], list[str], list[str]]:
    """Embeddings of each photo's main face, their identities, and the photos skipped (with why)."""
    vectors, identities, skipped = [], [], []
    for item in photos:
        try:
            image = read_photo(item.path, max_mb=max_mb).image
        except InvalidInput as exc:
            skipped.append(exc.message)
            continue
        face = recognizer.detector.detect(image).primary()
        if not len(face):
            skipped.append(f"{item.path.name}: no face found")
            continue
        vectors.append(recognizer.analyse(image, faces=face).embeddings[0])
        identities.append(item.identity)
    matrix = np.stack(vectors) if vectors else np.zeros((0, 1), np.float32)
    return matrix, identities, skipped


def calibrate(recognizer: FaceRecognizer, photos: Sequence[LabelledPhoto], *, max_mb: float = 20.0) -> Calibration:
    """Measure TPIR/FPIR across thresholds on labelled photos and fit the impostor score distribution."""
    vectors, identities, skipped = embed_photos(recognizer, photos, max_mb=max_mb)
    if len(set(identities)) < 3:
        raise InvalidInput("calibration needs photos of at least three people, one of them with two or more photos")
    similarity = (vectors @ vectors.T).astype(np.float64)
    try:
        searches = leave_identity_out_searches(similarity, identities)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    genuine, impostor = pair_scores(similarity, identities)
    base = Calibration(
        model=model_name(recognizer),
        created_at=utcnow().isoformat(timespec="seconds"),
        photos=len(identities),
        identities=len(set(identities)),
        skipped=skipped,
        gallery_size=searches.gallery_size,
        mated_searches=len(searches.mated_score),
        non_mated_searches=len(searches.non_mated_score),
        genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        impostor=ImpostorModel.fit(impostor),
        curve=[],
        operating_points=[],
    )
    curve = [
        CurvePoint(
            threshold=t,
            tpir=round(tpir_at(searches, t), 6),
            fpir=round(fpir_at(searches, t), 6),
            impostor_rate=measured,
            impostor_rate_model=base.impostor.rate(t),
            predicted_at_gallery=base.expected_fpir(t, searches.gallery_size),
        )
        for t, measured in zip(THRESHOLDS, base.impostor.measured, strict=True)
    ]
    points = []
    for target in TARGET_FPIRS:
        point = operating_point(searches, target)
        points.append({"target_fpir": target, "threshold": round(point.threshold, 4), "tpir": round(point.tpir, 4)})
    return replace(base, curve=curve, operating_points=points)


def save_calibration(settings: Settings, calibration: Calibration) -> Path:
    """Write the calibration where deployments read it (replacing the previous one atomically)."""
    path = calibration_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{path.name}")
    partial.write_text(calibration.to_json())
    partial.replace(path)
    return path


def run_calibration(
    db: Session, *, settings: Settings, user: User, recognizer: FaceRecognizer, photos: Sequence[LabelledPhoto]
) -> tuple[Calibration, Path]:
    """Calibrate on labelled photos and save the result for deployments (audited ``fr.calibrate``)."""
    capability = fr_capability(db, user=user, action="fr.calibrate", context=None)
    if not photos:
        raise InvalidInput("no photos found to calibrate with")
    calibration = calibrate(recognizer, photos, max_mb=settings.faces.max_image_mb)
    path = save_calibration(settings, calibration)
    audit.record(
        db,
        actor=user.username,
        action="fr.calibrate",
        capability=capability.value,
        details={
            "model": calibration.model,
            "photos": calibration.photos,
            "identities": calibration.identities,
            "operating_points": calibration.operating_points,
        },
    )
    return calibration, path


@dataclass(frozen=True)
class FalseAlertEstimate:
    """What a deployment form shows: the expected false-alert rate per passing face, in words, and any warning."""

    expected: float
    in_words: str
    warning: str | None


def estimate_false_alerts(settings: Settings, *, threshold: float, watchlist_size: int) -> FalseAlertEstimate | None:
    """The expected false-alert rate of a deployment from the saved calibration (None before any calibration)."""
    try:
        calibration = load_calibration(settings)
    except NotFound:
        return None
    expected = calibration.expected_fpir(threshold, watchlist_size)
    warning = fpir_warning(
        calibration, threshold=threshold, watchlist_size=watchlist_size, ceiling=settings.faces.fpir_ceiling
    )
    return FalseAlertEstimate(expected, one_in(expected), warning)
