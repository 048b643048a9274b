"""The query model of a search by description: every filter an investigator can set, validated.

A :class:`TrackQuery` is what the description parser produces, what the search form edits and what a saved
search stores (as JSON). Every field is optional; an empty query finds every track (newest first).

Units are explicit. Speeds are compared in the unit the query names: ``m/s`` (only tracks of calibrated cameras
have a ground speed), ``px/s`` (source pixels per second) or ``heights/s`` (the object's own height per second,
``speed_px_s / height_px``: unit-free and available for every track, which is what "running" uses). Heights
likewise in ``m`` (calibrated cameras only) or ``px``.

Colour words: ``dark`` means black, grey or blue (navy and charcoal read as dark on CCTV); ``light`` means white,
grey, pink or yellow (:data:`DARK`, :data:`LIGHT`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.domain.cameras import camera_code
from vigil.domain.detections import COCO_CLASSES
from vigil.domain.vocabulary import CARRIED_CLASSES, COMPASS, IMAGE_DIRECTIONS, PALETTE, TRACKED_CLASSES, ColourName

SEARCHABLE_CLASSES: tuple[str, ...] = tuple(COCO_CLASSES[i] for i in TRACKED_CLASSES)
"""The classes analysis follows as tracks (people, vehicles, a few animals)."""

HEADINGS: tuple[str, ...] = (*COMPASS, *IMAGE_DIRECTIONS, "stationary")
"""What ``Track.heading`` holds: a compass point when the camera's bearing is known, else an image direction."""

COLOURS: tuple[str, ...] = tuple(c.value for c in PALETTE)
DARK: tuple[ColourName, ...] = (ColourName.BLACK, ColourName.GREY, ColourName.BLUE)
LIGHT: tuple[ColourName, ...] = (ColourName.WHITE, ColourName.GREY, ColourName.PINK, ColourName.YELLOW)

MAX_LIMIT = 500

SpeedUnit = Literal["m/s", "px/s", "heights/s"]
SizeUnit = Literal["m", "px"]
Crossing = Literal["either", "left-to-right", "right-to-left"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ordered(low: float | None, high: float | None, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(f"{what}: the minimum ({low:g}) is above the maximum ({high:g})")


class MapArea(_Model):
    """A part of the map: a box (south, west, north, east) or a circle (lat, lon, radius_m), over the
    coordinates of the cameras' locations."""

    south: float | None = Field(None, ge=-90, le=90, description="Southern edge of a box (degrees latitude).")
    west: float | None = Field(None, ge=-180, le=180, description="Western edge of a box (degrees longitude).")
    north: float | None = Field(None, ge=-90, le=90, description="Northern edge of a box (degrees latitude).")
    east: float | None = Field(None, ge=-180, le=180, description="Eastern edge of a box (degrees longitude).")
    lat: float | None = Field(None, ge=-90, le=90, description="Centre of a circle (degrees latitude).")
    lon: float | None = Field(None, ge=-180, le=180, description="Centre of a circle (degrees longitude).")
    radius_m: float | None = Field(None, gt=0, le=100_000, description="Radius of the circle in metres.")

    @model_validator(mode="after")
    def _one_shape(self) -> MapArea:
        box = (self.south, self.west, self.north, self.east)
        circle = (self.lat, self.lon, self.radius_m)
        has_box, has_circle = all(v is not None for v in box), all(v is not None for v in circle)
        if has_box == has_circle or any(v is not None for v in (box if has_circle else circle)):
            raise ValueError("a map area is either a box (south, west, north, east) or a circle (lat, lon, radius_m)")
        if has_box:
            _ordered(self.south, self.north, "map area latitude")
            _ordered(self.west, self.east, "map area longitude")
        return self

    def contains(self, lat: float, lon: float) -> bool:
        if self.radius_m is None:
            assert self.south is not None and self.north is not None and self.west is not None and self.east is not None
            return self.south <= lat <= self.north and self.west <= lon <= self.east
        assert self.lat is not None and self.lon is not None
        return _haversine_m(self.lat, self.lon, lat, lon) <= self.radius_m


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


class LineCrossing(_Model):
    """A line drawn on one camera's picture (source pixels) that the track's path must cross.

    Sides are as seen standing at ``a`` looking towards ``b``: ``left-to-right`` finds tracks that cross from
    the left side of the line to its right side."""

    camera: str = Field(min_length=1, max_length=64, description="Code of the camera the line is drawn on.")

    @field_validator("camera")
    @classmethod
    def _code(cls, value: str) -> str:
        return camera_code(value)

    a: tuple[float, float] = Field(description="First end of the line (x, y) in source pixels.")
    b: tuple[float, float] = Field(description="Second end of the line (x, y) in source pixels.")
    direction: Crossing = Field("either", description="Which way the line must be crossed.")

    @model_validator(mode="after")
    def _proper(self) -> LineCrossing:
        if not all(math.isfinite(v) and 0 <= v <= 100_000 for v in (*self.a, *self.b)):
            raise ValueError("line ends must be pixel coordinates between 0 and 100000")
        if self.a == self.b:
            raise ValueError("a line needs two different ends")
        return self


class TrackQuery(_Model):
    """Filters of a search by description; see the module docstring for units and colour words."""

    cameras: list[str] = Field(default_factory=list, max_length=500, description="Camera codes (any of).")
    area: MapArea | None = Field(None, description="Only cameras whose location lies in this map area.")
    start: datetime | None = Field(None, description="Seen at or after this time (UTC).")
    end: datetime | None = Field(None, description="Seen at or before this time (UTC).")
    time_from: time | None = Field(None, description="Time of day from (force time zone; may wrap midnight).")
    time_to: time | None = Field(None, description="Time of day to, inclusive to the minute (force time zone).")
    classes: list[str] = Field(default_factory=list, description="Object classes (any of), e.g. person, car.")
    upper_colours: list[ColourName] = Field(default_factory=list, description="Colours of the top (any of).")
    lower_colours: list[ColourName] = Field(default_factory=list, description="Colours of the legs (any of).")
    vehicle_colours: list[ColourName] = Field(default_factory=list, description="Body colours (any of).")
    carried: list[str] = Field(default_factory=list, description="Objects carried (all of), e.g. backpack.")
    headings: list[str] = Field(default_factory=list, description="Headings (any of): compass or image direction.")
    speed_min: float | None = Field(None, ge=0, le=1000, description="Slowest speed, in speed_unit.")
    speed_max: float | None = Field(None, ge=0, le=1000, description="Fastest speed, in speed_unit.")
    speed_unit: SpeedUnit = Field("heights/s", description="Unit of the speed bounds.")
    size_min: float | None = Field(None, ge=0, le=10_000, description="Smallest height, in size_unit.")
    size_max: float | None = Field(None, ge=0, le=10_000, description="Largest height, in size_unit.")
    size_unit: SizeUnit = Field("px", description="Unit of the height bounds.")
    dwell_min: float | None = Field(None, ge=0, le=10**7, description="Shortest time in view (seconds).")
    dwell_max: float | None = Field(None, ge=0, le=10**7, description="Longest time in view (seconds).")
    zone: str | None = Field(None, min_length=1, max_length=100, description="Spent time in this named zone.")
    line: LineCrossing | None = Field(None, description="Crossed this line drawn on a camera's picture.")
    track_ids: list[int] = Field(default_factory=list, max_length=5000, description="Only these tracks.")
    limit: int = Field(60, ge=1, le=MAX_LIMIT, description="Most results to return.")
    offset: int = Field(0, ge=0, le=10**6, description="Results to skip (paging).")

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("time_from", "time_to")
    @classmethod
    def _to_minute(cls, value: time | None) -> time | None:
        return None if value is None else time(value.hour, value.minute)

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, value: list[str]) -> list[str]:
        return _known(value, SEARCHABLE_CLASSES, "class")

    @field_validator("carried")
    @classmethod
    def _known_carried(cls, value: list[str]) -> list[str]:
        return _known(value, CARRIED_CLASSES, "carried object")

    @field_validator("headings")
    @classmethod
    def _known_headings(cls, value: list[str]) -> list[str]:
        return _known([h.upper() if h.strip().upper() in COMPASS else h for h in value], HEADINGS, "heading")

    @field_validator("cameras")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        codes = [camera_code(v) for v in value if v.strip()]
        if any(len(code) > 64 for code in codes):
            raise ValueError("camera codes are at most 64 characters")
        return list(dict.fromkeys(codes))

    @field_validator("upper_colours", "lower_colours", "vehicle_colours")
    @classmethod
    def _unique(cls, value: list[ColourName]) -> list[ColourName]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _ranges(self) -> TrackQuery:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("the start of the time range is after its end")
        if (self.time_from is None) != (self.time_to is None):
            raise ValueError("a time of day needs both a 'from' and a 'to' time")
        _ordered(self.speed_min, self.speed_max, "speed")
        _ordered(self.size_min, self.size_max, "height")
        _ordered(self.dwell_min, self.dwell_max, "time in view")
        return self


def _known(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    cleaned = list(dict.fromkeys(v.strip() if v.strip() in allowed else v.strip().lower() for v in values if v.strip()))
    unknown = [v for v in cleaned if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}")
    return cleaned
