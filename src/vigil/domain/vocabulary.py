"""The words vigil describes and searches footage with: object classes, carried objects, colour names, headings.

One definition each, used by vision (what is measured), analysis (what is stored) and search (what can be asked).
Class ids are COCO-80 ids (:data:`~vigil.domain.detections.COCO_CLASSES` order, person = 0).
"""

from __future__ import annotations

from enum import StrEnum

from vigil.domain.detections import COCO_CLASSES

TRACKED_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 5, 7, 14, 15, 16, 17, 18, 19)
"""person, bicycle, car, motorcycle, bus, truck, bird, cat, dog, horse, sheep, cow."""

BACKPACK, UMBRELLA, HANDBAG, SUITCASE = 24, 25, 26, 28
"""The objects people carry."""
CARRIED_CLASS_IDS: tuple[int, ...] = (BACKPACK, UMBRELLA, HANDBAG, SUITCASE)
"""The objects analysis associates with the person carrying them, in carried-mask bit order."""
CARRIED_CLASSES: tuple[str, ...] = tuple(COCO_CLASSES[i] for i in CARRIED_CLASS_IDS)
"""Their names ("backpack", "umbrella", "handbag", "suitcase"), in carried-mask bit order."""


class ColourName(StrEnum):
    """The fixed palette of 11 colour names. The member order is the column order of every histogram."""

    BLACK = "black"
    BLUE = "blue"
    BROWN = "brown"
    GREEN = "green"
    GREY = "grey"
    ORANGE = "orange"
    PINK = "pink"
    PURPLE = "purple"
    RED = "red"
    WHITE = "white"
    YELLOW = "yellow"


PALETTE: tuple[ColourName, ...] = tuple(ColourName)
"""The 11 names in histogram column order."""

COMPASS: tuple[str, ...] = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
"""A track's heading when the camera's bearing is known."""
IMAGE_DIRECTIONS: tuple[str, ...] = ("up", "up-right", "right", "down-right", "down", "down-left", "left", "up-left")
"""A track's heading in the image when the camera's bearing is unknown."""
