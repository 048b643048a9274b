"""Per-object attributes investigators search on: clothing and vehicle colours, carried bags, body size.

The pipeline and the search use this same code, so "red top, dark trousers, backpack" means the same thing at
indexing time and at query time.

* :func:`describe_person` -> :class:`PersonAttributes`: upper- and lower-body colour names (one or two from the
  11-name palette of :mod:`vigil.vision.colour`) and their histograms, from the person's segmented pixels
  (:mod:`vigil.vision.segment`), never from the box average;
* :func:`describe_vehicle` -> :class:`VehicleAttributes`: body colour without glass and tyres;
* :func:`associate_carried`: which person carries which backpack, umbrella, handbag or suitcase;
* :func:`measure` -> :class:`BodySize`: pixel size and, given a ground-plane homography, height in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.domain.detections import Detections
from vigil.domain.vocabulary import BACKPACK, CARRIED_CLASS_IDS, HANDBAG, SUITCASE, UMBRELLA, ColourName
from vigil.vision.colour import (
    FloatArray,
    colour_histogram,
    colour_indices,
    histogram_of_indices,
    names_from_histogram,
    shares_of,
)
from vigil.vision.segment import ColourModelSegmenter, Image, Segmenter, Silhouette, person_parts, vehicle_body

MIN_CARRIED_SCORE = 0.5
"""Association score (placement times overlap) a bag needs before anyone is said to carry it."""


@dataclass(frozen=True, eq=False)
class PersonAttributes:
    """Clothing colours of one person: names (dominant first) and 11-bin name histograms (palette order).

    Each name's confidence is its share of the body part's pixels (``upper_confidence[i]`` for ``upper[i]``).
    """

    upper: tuple[ColourName, ...]
    lower: tuple[ColourName, ...]
    upper_hist: FloatArray
    lower_hist: FloatArray

    @property
    def upper_confidence(self) -> tuple[float, ...]:
        return shares_of(self.upper_hist, self.upper)

    @property
    def lower_confidence(self) -> tuple[float, ...]:
        return shares_of(self.lower_hist, self.lower)


@dataclass(frozen=True, eq=False)
class VehicleAttributes:
    """Body colour of one vehicle: names (dominant first) and the 11-bin name histogram."""

    body: tuple[ColourName, ...]
    body_hist: FloatArray


def describe_person(
    image: Image,
    box: npt.ArrayLike,
    fg_mask: npt.NDArray[np.generic] | None = None,
    *,
    segmenter: Segmenter | None = None,
    gains: FloatArray | None = None,
) -> PersonAttributes:
    """Upper- and lower-body colours of the person in ``box`` (``xyxy``) of the BGR frame ``image``.

    ``fg_mask`` is the motion stage's frame-sized foreground mask, if any; ``segmenter`` defaults to a
    :class:`~vigil.vision.segment.ColourModelSegmenter` for people; ``gains`` white-balance the pixels
    (:func:`~vigil.vision.colour.grey_world_gains`).
    """
    segmenter = segmenter or ColourModelSegmenter(shape="person")
    return person_attributes(image, segmenter.segment(image, box, fg_mask), gains=gains)


def person_attributes(image: Image, silhouette: Silhouette, *, gains: FloatArray | None = None) -> PersonAttributes:
    """:func:`describe_person` for a silhouette the caller already has (the pipeline reuses it for appearance)."""
    upper_mask, lower_mask = person_parts(silhouette)
    names = colour_indices(silhouette.pixels(image, upper_mask | lower_mask), gains=gains)
    in_upper = upper_mask[upper_mask | lower_mask]
    upper_hist, lower_hist = histogram_of_indices(names[in_upper]), histogram_of_indices(names[~in_upper])
    return PersonAttributes(
        upper=names_from_histogram(upper_hist),
        lower=names_from_histogram(lower_hist),
        upper_hist=upper_hist,
        lower_hist=lower_hist,
    )


def describe_vehicle(
    image: Image,
    box: npt.ArrayLike,
    fg_mask: npt.NDArray[np.generic] | None = None,
    *,
    segmenter: Segmenter | None = None,
    gains: FloatArray | None = None,
) -> VehicleAttributes:
    """Body colour of the vehicle in ``box``: its segmented paintwork (:func:`~vigil.vision.segment.vehicle_body`)."""
    segmenter = segmenter or ColourModelSegmenter(shape="vehicle")
    silhouette = segmenter.segment(image, box, fg_mask)
    hist = colour_histogram(silhouette.pixels(image, vehicle_body(silhouette, image)), gains=gains)
    return VehicleAttributes(body=names_from_histogram(hist), body_hist=hist)


# --- carried objects ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CarryRule:
    """Where an object of one class may sit relative to its carrier's box."""

    centre_rows: tuple[float, float]
    """Plausible heights of the object's centre, as fractions of the person's height from the top."""
    side: float
    """How far beside the person's box it may stick out, as a fraction of the person's width."""
    above: float
    """How far above the person's box it may reach, as a fraction of the person's height."""


_CARRY_RULES = {
    BACKPACK: _CarryRule(centre_rows=(0.12, 0.65), side=0.3, above=0.0),
    HANDBAG: _CarryRule(centre_rows=(0.2, 0.8), side=0.4, above=0.0),
    SUITCASE: _CarryRule(centre_rows=(0.45, 1.0), side=0.8, above=0.0),
    UMBRELLA: _CarryRule(centre_rows=(-0.4, 0.4), side=0.6, above=0.6),
}


def associate_carried(
    persons: Detections, objects: Detections, *, min_score: float = 0.4, margin: float = 0.2
) -> dict[int, list[int]]:
    """Which rows of ``objects`` each row of ``persons`` carries: ``{person_index: [object_index, ...]}``.

    Only backpacks, umbrellas, handbags and suitcases (:data:`~vigil.domain.vocabulary.CARRIED_CLASS_IDS`) are
    considered. An object scores against each person as (the fraction of its box inside the person's box widened by
    its class's allowance: beside for a wheeled suitcase or a bag at the hip, above for an umbrella) times (how
    plausible its height is for that class: a backpack's centre at 12-65 % of the person's height, a handbag's at
    20-80 %, a suitcase's at 45-100 %, an umbrella's from 40 % above the head to 40 % down, falling linearly to zero
    over a further 15 % of the height). It goes to the best person if that score is at least ``min_score`` and beats
    the runner-up by ``margin``; otherwise (nobody, or two people equally likely) it stays unassigned. Every person
    index is a key; the lists are in ascending object order.
    """
    result: dict[int, list[int]] = {i: [] for i in range(len(persons))}
    if not len(persons):
        return result
    for j in np.flatnonzero(np.isin(objects.class_id, CARRIED_CLASS_IDS)).tolist():
        scores = _carry_scores(persons.xyxy, objects.xyxy[j], _CARRY_RULES[int(objects.class_id[j])])
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        runner_up = float(scores[order[1]]) if len(order) > 1 else 0.0
        if best >= min_score and best - runner_up >= margin:
            result[int(order[0])].append(int(j))
    return result


def _carry_scores(person_xyxy: npt.NDArray[np.float32], obj: npt.NDArray[np.float32], rule: _CarryRule) -> FloatArray:
    """Score of one object against every person (see :func:`associate_carried`)."""
    left, top, right, bottom = (person_xyxy[:, k].astype(np.float64) for k in range(4))
    width, height = np.maximum(right - left, 1e-6), np.maximum(bottom - top, 1e-6)
    zone_l, zone_r = left - rule.side * width, right + rule.side * width
    zone_t, zone_b = top - rule.above * height, bottom
    ox0, oy0, ox1, oy1 = (float(v) for v in obj)
    overlap_w = np.clip(np.minimum(zone_r, ox1) - np.maximum(zone_l, ox0), 0, None)
    overlap_h = np.clip(np.minimum(zone_b, oy1) - np.maximum(zone_t, oy0), 0, None)
    inside = overlap_w * overlap_h / max((ox1 - ox0) * (oy1 - oy0), 1e-6)
    rows = ((oy0 + oy1) / 2 - top) / height
    low, high = rule.centre_rows
    outside_by = np.maximum(low - rows, 0) + np.maximum(rows - high, 0)
    plausible = np.clip(1.0 - outside_by / 0.15, 0.0, 1.0)
    return np.asarray(inside * plausible, dtype=np.float32)


# --- size -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodySize:
    """An object's size: its box in pixels and, with a ground plane, its height in metres."""

    height_px: float
    width_px: float
    height_m: float | None
    """Metric height of the box's top above its foot point; ``None`` without a usable ground plane."""


@dataclass(frozen=True, eq=False)
class GroundPlane:
    """A calibrated ground plane: the camera matrix recovered from an image -> ground (metres) homography.

    Build it once per camera with :meth:`from_homography`; :func:`measure` then uses it per box.
    """

    image_to_ground: npt.NDArray[np.float64]
    """3x3 homography from image pixels to ground-plane metres."""
    projection: npt.NDArray[np.float64]
    """3x4 camera matrix from ground coordinates (X, Y, Z up, metres) to image pixels."""

    @classmethod
    def from_homography(
        cls, image_to_ground: npt.ArrayLike, principal_point: tuple[float, float]
    ) -> GroundPlane | None:
        """The camera behind a ground homography, or ``None`` if the homography does not admit one.

        Assumes square pixels, no skew and the given principal point (the image centre unless the calibration
        says otherwise). The focal length follows from the two constraints that the plane's axes are
        orthogonal and equally long (Zhang's calibration from a single view, solved by least squares), then
        the rotation and translation from the homography's columns; the vertical is their cross product.
        """
        to_ground = np.asarray(image_to_ground, dtype=np.float64).reshape(3, 3)
        shift = np.array([[1.0, 0.0, -principal_point[0]], [0.0, 1.0, -principal_point[1]], [0.0, 0.0, 1.0]])
        h = shift @ np.linalg.inv(to_ground)
        a = np.array([h[0, 0] * h[0, 1] + h[1, 0] * h[1, 1], h[0, 0] ** 2 + h[1, 0] ** 2 - h[0, 1] ** 2 - h[1, 1] ** 2])
        b = np.array([h[2, 0] * h[2, 1], h[2, 0] ** 2 - h[2, 1] ** 2])
        denominator = float(a @ a)
        inv_f2 = -float(a @ b) / denominator if denominator > 0 else -1.0
        if not inv_f2 > 0:
            return None
        focal = 1.0 / np.sqrt(inv_f2)
        k = np.diag([focal, focal, 1.0])
        m = np.linalg.inv(k) @ h
        scale = 2.0 / (np.linalg.norm(m[:, 0]) + np.linalg.norm(m[:, 1]))
        r1, r2, t = scale * m[:, 0], scale * m[:, 1], scale * m[:, 2]
        if t[2] < 0:
            r1, r2, t = -r1, -r2, -t
        pose = np.column_stack([r1, r2, np.cross(r1, r2), t])
        return cls(image_to_ground=to_ground, projection=np.linalg.inv(shift) @ k @ pose)

    def to_ground(self, points_xy: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Image points ``(N, 2)`` as ground-plane points ``(N, 2)`` in metres."""
        points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
        mapped = np.column_stack([points, np.ones(len(points))]) @ self.image_to_ground.T
        return np.asarray(mapped[:, :2] / mapped[:, 2:3], dtype=np.float64)

    def height_above(self, foot_xy: tuple[float, float], top_y: float) -> float:
        """Height in metres of the vertical segment standing on image point ``foot_xy`` that reaches row ``top_y``."""
        ground_x, ground_y = self.to_ground(np.array([foot_xy]))[0]
        base = self.projection @ np.array([ground_x, ground_y, 0.0, 1.0])
        up = self.projection[:, 2]
        # image row of (X, Y, Z): (base[1] + Z up[1]) / (base[2] + Z up[2]) = top_y, solved for Z
        denominator = up[1] - top_y * up[2]
        if abs(denominator) < 1e-12:
            return float("nan")
        return abs(float((top_y * base[2] - base[1]) / denominator))


def measure(box: npt.ArrayLike, ground: GroundPlane | None = None) -> BodySize:
    """Pixel height and width of ``box`` (``xyxy``), and its metric height when ``ground`` is given.

    The metric height treats the box's bottom centre as the foot point on the ground and its top centre as the
    head, straight above it. Boxes cut off by the frame edge, or people on stairs, are not detected as such.
    """
    left, top, right, bottom = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    height_m = None
    if ground is not None:
        value = ground.height_above(((left + right) / 2, bottom), top)
        height_m = value if np.isfinite(value) else None
    return BodySize(height_px=bottom - top, width_px=right - left, height_m=height_m)
