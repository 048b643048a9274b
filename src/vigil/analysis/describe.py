"""Describe still images with the pipeline's own detector and attribute code (`vigil describe`).

A still is white-balanced on itself (grey world over the whole image, :func:`~vigil.vision.colour.grey_world_gains`)
before colours are named: a crop cut from one camera carries that camera's cast (sodium light, a green tint).
A still that is a tight crop of one person (taller than wide) in which the detector finds no person is
described as one person filling the image, marked ``whole_image`` so the output says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigil.domain.detections import BICYCLE_CLASS_ID, COCO_CLASSES, MOTOR_VEHICLE_CLASS_IDS, PERSON_CLASS_ID, Detections
from vigil.domain.vocabulary import CARRIED_CLASS_IDS
from vigil.errors import InvalidInput
from vigil.vision.attributes import (
    MIN_CARRIED_SCORE,
    associate_carried,
    describe_person,
    describe_vehicle,
)
from vigil.vision.colour import STILL_GAIN_LIMIT, FloatArray, grey_world_gains
from vigil.vision.detect import Detector
from vigil.vision.image_files import DEFAULT_MAX_PIXELS, decode_image

VEHICLE_CLASSES = frozenset({BICYCLE_CLASS_ID, *MOTOR_VEHICLE_CLASS_IDS})
SMALL_CROP_PIXELS = 200
PERSON_CROP_ASPECT = 1.3
"""A still at least this many times taller than wide, with no person detected, is taken as a crop of one."""
WHOLE_IMAGE_NOTE = "no person detected: the whole image was described as one person"


@dataclass(frozen=True)
class DescribedObject:
    class_name: str
    box: tuple[float, float, float, float]
    score: float
    upper_colours: tuple[str, ...] = ()
    lower_colours: tuple[str, ...] = ()
    body_colours: tuple[str, ...] = ()
    carried: tuple[str, ...] = field(default=())
    upper_confidence: tuple[float, ...] = ()
    """Per upper colour, the share of the upper body's pixels carrying it (0-1)."""
    lower_confidence: tuple[float, ...] = ()
    whole_image: bool = False
    """No person was detected; the whole still was described as one person."""

    def as_dict(self) -> dict[str, object]:
        row: dict[str, object] = {
            "class": self.class_name,
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 3),
        }
        if self.class_name == "person":
            row.update(
                upper_colours=list(self.upper_colours),
                upper_confidence=[round(v, 2) for v in self.upper_confidence],
                lower_colours=list(self.lower_colours),
                lower_confidence=[round(v, 2) for v in self.lower_confidence],
                carried=list(self.carried),
            )
            if self.whole_image:
                row["note"] = WHOLE_IMAGE_NOTE
        elif self.body_colours:
            row["body_colours"] = list(self.body_colours)
        return row


def read_image(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> npt.NDArray[np.uint8]:
    """A BGR image from a file, refused with a clear message if it is not a readable picture or its header
    declares more than ``max_pixels`` (checked before decoding)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path.name!r}: {exc.strerror or exc}") from None
    return decode_image(data, label=repr(path.name), max_pixels=max_pixels)


def describe_image(image: npt.NDArray[np.uint8], *, detector: Detector) -> list[DescribedObject]:
    """Every detected object with its class, box and, for people and vehicles, colours and carried bags."""
    found = _detect_with_context(image, detector)
    gains = grey_world_gains(image, limit=STILL_GAIN_LIMIT)
    persons = found[found.class_id == PERSON_CLASS_ID]
    bags = found.with_classes(CARRIED_CLASS_IDS)
    carried_by = associate_carried(persons, bags, min_score=MIN_CARRIED_SCORE)
    carried_rows = {j for rows in carried_by.values() for j in rows}
    objects = [_person(image, persons, i, bags, carried_by.get(i, []), gains) for i in range(len(persons))]
    height, width = image.shape[:2]
    if not len(persons) and height >= PERSON_CROP_ASPECT * width:
        objects.append(_whole_image_person(image, gains))
    for i in range(len(found)):
        cls = int(found.class_id[i])
        if cls == PERSON_CLASS_ID:
            continue
        if cls in CARRIED_CLASS_IDS and _bag_row(bags, found, i) in carried_rows:
            continue  # reported with the person carrying it
        body = describe_vehicle(image, found.xyxy[i]).body if cls in VEHICLE_CLASSES else ()
        objects.append(
            DescribedObject(
                COCO_CLASSES[cls], _box(found, i), float(found.score[i]), body_colours=tuple(str(c) for c in body)
            )
        )
    return objects


def _detect_with_context(image: npt.NDArray[np.uint8], detector: Detector) -> Detections:
    """Detections in source pixels. A small crop (one person cut tight from CCTV) is first set on a grey
    margin as wide as itself: detectors trained on whole scenes miss an object that fills the frame."""
    height, width = image.shape[:2]
    if max(height, width) >= SMALL_CROP_PIXELS:
        return detector.detect(image)
    padded = cv2.copyMakeBorder(image, height, height, width, width, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    found = detector.detect(np.ascontiguousarray(padded, dtype=np.uint8))
    return found.transformed(1.0, 1.0, -float(width), -float(height)).clipped(width, height)


def _person(
    image: npt.NDArray[np.uint8], persons: Detections, i: int, bags: Detections, rows: list[int], gains: FloatArray
) -> DescribedObject:
    attributes = describe_person(image, persons.xyxy[i], gains=gains)
    return DescribedObject(
        "person",
        _box(persons, i),
        float(persons.score[i]),
        upper_colours=tuple(str(c) for c in attributes.upper),
        lower_colours=tuple(str(c) for c in attributes.lower),
        carried=tuple(sorted({COCO_CLASSES[int(bags.class_id[j])] for j in rows})),
        upper_confidence=attributes.upper_confidence,
        lower_confidence=attributes.lower_confidence,
    )


def _whole_image_person(image: npt.NDArray[np.uint8], gains: FloatArray) -> DescribedObject:
    """The still as one person filling it (score 0: nothing detected), with its colours."""
    height, width = image.shape[:2]
    box = (0.0, 0.0, float(width), float(height))
    attributes = describe_person(image, np.array(box, dtype=np.float32), gains=gains)
    return DescribedObject(
        "person",
        box,
        0.0,
        upper_colours=tuple(str(c) for c in attributes.upper),
        lower_colours=tuple(str(c) for c in attributes.lower),
        upper_confidence=attributes.upper_confidence,
        lower_confidence=attributes.lower_confidence,
        whole_image=True,
    )


def _bag_row(bags: Detections, found: Detections, i: int) -> int:
    matches = np.flatnonzero(np.all(bags.xyxy == found.xyxy[i], axis=1) & (bags.class_id == found.class_id[i]))
    return int(matches[0]) if matches.size else -1


def _box(found: Detections, i: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in found.xyxy[i])
    return (x0, y0, x1, y1)
