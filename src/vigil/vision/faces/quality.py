"""Face quality from geometry and sharpness: is this face good enough to search with, or to enrol?

Three measurements, each turned into a 0..1 factor; the score is their product:

* size: inter-ocular distance (eye to eye) in source pixels;
* sharpness: variance of the Laplacian of the grey 112x112 ArcFace chip (small faces upscaled to 112 are blurry
  too, so this also catches faces that are nominally big enough but out of focus or motion-blurred);
* pose from the landmarks: roll is the angle of the eye line; yaw is estimated from how far the nose tip sits off
  the eye midpoint, along the eye line, relative to the eye distance (``yaw = atan(offset / (0.5 * eyes))``,
  i.e. assuming the nose tip stands half an eye distance in front of the eyes). It is an estimate, good to about
  10 degrees near frontal and saturating towards full profile, where landmark detectors also become unreliable.

A face below a *search* threshold should not be searched with at all; below an *enrolment* threshold it should not
be put on a watchlist (enrolment images set every later match, so they are held to a higher bar).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vigil.vision.faces.faces import Faces

NOSE_DEPTH = 0.5
"""Assumed distance of the nose tip in front of the eye plane, as a fraction of the eye distance."""


@dataclass(frozen=True)
class QualityThresholds:
    """Limits for searching with a face and for enrolling one (sizes in pixels, angles in degrees).

    Sharpness limits were set on 40 faces of the shared development photos: sharp faces measure 560-7,000;
    a Gaussian blur of sigma 1 chip pixel brings the median to ~80, sigma 1.5 to ~35, sigma 2 to ~19. So 25 rejects
    faces blurred beyond about sigma 1.75 for search, and 40 beyond about sigma 1.4 for enrolment.

    The enrolment limits were loosened after measuring on LFW (``bench/faces_lfw.py``): at 48 px between the eyes,
    25 deg of estimated head turn and sharpness 60, 96% of people could not be enrolled from a 250x250 portrait
    (eyes ~42 px apart), and enrolling only the faces that passed bought no accuracy. 30 px is still more than
    the 112 px chip needs (35 px between its eyes), and the yaw estimate is only good to ~10 deg.

    Head turn: the enrolment limit equals the search limit (45 deg). The estimate's own error (~10 deg) is larger
    than the 5 deg that separated the two, and on LFW's first half (the half used to choose) faces enrolled at an
    estimated 40-50 deg found 4 of their 5 mated probes at FPIR 1%, those at 30-40 deg 38 of 38; refusing them
    found none. Sharpness keeps its stricter enrolment limit: faces enrolled under 40 found 6 of 10.
    """

    search_min_eyes_px: float = 24.0
    enrol_min_eyes_px: float = 30.0
    search_min_sharpness: float = 25.0
    enrol_min_sharpness: float = 40.0
    search_max_yaw: float = 45.0
    enrol_max_yaw: float = 45.0
    search_max_roll: float = 50.0
    enrol_max_roll: float = 40.0
    good_sharpness: float = 150.0
    """Sharpness at and above which the sharpness factor is 1."""


@dataclass(frozen=True)
class FaceQuality:
    """How usable one face is; ``reasons`` says in words why it falls short (empty when it is fit to enrol)."""

    score: float
    reasons: tuple[str, ...]
    eyes_px: float
    sharpness: float
    yaw_deg: float
    roll_deg: float
    searchable: bool
    enrollable: bool


def sharpness(chip_bgr: npt.NDArray[np.uint8]) -> float:
    """Variance of the Laplacian of the grey chip (higher is sharper)."""
    grey = cv2.cvtColor(chip_bgr, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def pose(landmarks: npt.NDArray[np.float32]) -> tuple[float, float, float]:
    """(eye distance in px, yaw in degrees, roll in degrees) from one face's five landmarks (5, 2)."""
    left, right, nose = (np.asarray(landmarks[i], dtype=np.float64) for i in range(3))
    eye_line = right - left
    eyes = float(np.hypot(*eye_line))
    roll = math.degrees(math.atan2(eye_line[1], eye_line[0]))
    if eyes < 1e-6:
        return eyes, 90.0, roll
    offset = float(np.dot(nose - (left + right) / 2, eye_line / eyes)) / eyes
    yaw = math.degrees(math.atan(offset / NOSE_DEPTH))
    return eyes, yaw, roll


def _ramp(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0)) if high > low else float(value >= high)


def _check(
    reasons: list[str], what: tuple[str, str], value: float, search: float, enrol: float, *, at_most: bool
) -> tuple[bool, bool]:
    """Append a reason, with the measured value and the limit it fails, when ``value`` fails a limit.

    ``what`` is (the measurement's name, its unit), e.g. ("head turn", " deg") gives "head turn 38 deg; limit 25 deg
    to enrol". Returns (passes search, passes enrolment).
    """
    name, unit = what
    ok_search = value <= search if at_most else value >= search
    ok_enrol = value <= enrol if at_most else value >= enrol
    bound = "at most" if at_most else "at least"
    if not ok_search:
        reasons.append(
            f"{name} {value:.0f}{unit}; limit {bound} {search:g}{unit} to search with ({enrol:g}{unit} to enrol)"
        )
    elif not ok_enrol:
        reasons.append(f"{name} {value:.0f}{unit}; limit {bound} {enrol:g}{unit} to enrol")
    return ok_search, ok_enrol


def assess(
    landmarks: npt.NDArray[np.float32], chip_bgr: npt.NDArray[np.uint8], limits: QualityThresholds
) -> FaceQuality:
    """The quality of one face from its landmarks (5, 2) in source pixels and its aligned 112x112 chip."""
    eyes, yaw, roll = pose(landmarks)
    sharp = sharpness(chip_bgr)
    reasons: list[str] = []
    checks = [
        _check(
            reasons, ("eye distance", " px"), eyes, limits.search_min_eyes_px, limits.enrol_min_eyes_px, at_most=False
        ),
        _check(
            reasons, ("sharpness", ""), sharp, limits.search_min_sharpness, limits.enrol_min_sharpness, at_most=False
        ),
        _check(reasons, ("head turn", " deg"), abs(yaw), limits.search_max_yaw, limits.enrol_max_yaw, at_most=True),
        _check(reasons, ("head tilt", " deg"), abs(roll), limits.search_max_roll, limits.enrol_max_roll, at_most=True),
    ]
    score = (
        _ramp(eyes, limits.search_min_eyes_px / 2, limits.enrol_min_eyes_px * 1.5)
        * _ramp(sharp, limits.search_min_sharpness / 2, limits.good_sharpness)
        * _ramp(-abs(yaw), -limits.search_max_yaw * 1.5, 0.0)
        * _ramp(-abs(roll), -limits.search_max_roll * 1.5, 0.0)
    )
    return FaceQuality(
        score=round(score, 4),
        reasons=tuple(reasons),
        eyes_px=eyes,
        sharpness=sharp,
        yaw_deg=yaw,
        roll_deg=roll,
        searchable=all(s for s, _ in checks),
        enrollable=all(e for _, e in checks),
    )


def assess_faces(
    faces: Faces, chips_bgr: npt.NDArray[np.uint8], limits: QualityThresholds | None = None
) -> list[FaceQuality]:
    """:func:`assess` for every face, with its ArcFace 112x112 chip (``ArcFaceAligner().align``)."""
    limits = limits or QualityThresholds()
    return [assess(points, chip, limits) for points, chip in zip(faces.landmarks, chips_bgr, strict=True)]
