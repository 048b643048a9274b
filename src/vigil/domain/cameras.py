"""Camera codes and camera geometry: one spelling of a code, one typed value for what is drawn on a camera's view.

:class:`CameraGeometry` is what a camera's calibration (image -> ground homography and principal point), zones
(named polygons) and lines (named, directed segments) mean to every stage that reads them: the analysis
summary (metric sizes, per-zone dwell), search (zone names), the camera page and the CLI. It is stored in two
JSON columns (``cameras.calibration`` and ``cameras.zones``); :meth:`CameraGeometry.from_columns` and the
``*_json`` methods are the only code that reads or writes those texts. Values are not validated here; the
camera service checks what a person draws or types before it is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
Crossing = Literal["either", "left-to-right", "right-to-left"]
CROSSINGS: tuple[Crossing, ...] = ("either", "left-to-right", "right-to-left")


def camera_code(text: str) -> str:
    """The stored form of a camera code: trimmed and upper-case (``pets-cam`` -> ``PETS-CAM``).

    Every lookup (CLI, web forms, API, search parser) goes through this, so a code typed in any case
    finds the camera it was registered as.
    """
    return text.strip().upper()


def _point(value: Any) -> Point:
    return (float(value[0]), float(value[1]))


@dataclass(frozen=True)
class Calibration:
    """A camera's ground-plane calibration: image pixels -> ground metres, and the picture's principal point."""

    image_to_ground: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
    principal_point: Point

    @classmethod
    def of(cls, matrix: npt.ArrayLike, principal_point: Point) -> Calibration:
        rows = np.asarray(matrix, dtype=np.float64).reshape(3, 3).tolist()
        return cls(
            image_to_ground=cast(Any, tuple(tuple(float(v) for v in row) for row in rows)),
            principal_point=_point(principal_point),
        )

    @property
    def matrix(self) -> npt.NDArray[np.float64]:
        """The homography as a 3x3 array."""
        return np.asarray(self.image_to_ground, dtype=np.float64)

    def to_json(self) -> str:
        return json.dumps(
            {
                "image_to_ground": [list(row) for row in self.image_to_ground],
                "principal_point": list(self.principal_point),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        data = json.loads(text)
        return cls.of(data["image_to_ground"], data["principal_point"])


@dataclass(frozen=True)
class Zone:
    """A named area of a camera's picture, a polygon in source-image pixels (per-zone dwell time)."""

    name: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True)
class Line:
    """A named line on a camera's picture (source pixels) and the crossing direction a search counts."""

    name: str
    a: Point
    b: Point
    direction: Crossing = "either"


@dataclass(frozen=True)
class CameraGeometry:
    """Everything drawn on or measured of a camera's view; empty for an uncalibrated camera with no drawing."""

    calibration: Calibration | None = None
    zones: tuple[Zone, ...] = field(default=())
    lines: tuple[Line, ...] = field(default=())

    @classmethod
    def from_columns(cls, calibration: str | None, drawing: str | None) -> CameraGeometry:
        """From the two stored JSON texts (``cameras.calibration``, ``cameras.zones``)."""
        zones: list[Zone] = []
        lines: list[Line] = []
        for item in json.loads(drawing or "[]"):
            if "polygon" in item:
                zones.append(Zone(str(item["name"]), tuple(_point(p) for p in item["polygon"])))
            elif "line" in item:
                a, b = item["line"]
                lines.append(Line(str(item["name"]), _point(a), _point(b), item.get("direction", "either")))
        return cls(
            calibration=Calibration.from_json(calibration) if calibration else None,
            zones=tuple(zones),
            lines=tuple(lines),
        )

    def calibration_json(self) -> str | None:
        return self.calibration.to_json() if self.calibration is not None else None

    def drawing_json(self) -> str:
        """Zones then lines, as stored in ``cameras.zones``."""
        items: list[dict[str, object]] = [{"name": z.name, "polygon": [list(p) for p in z.polygon]} for z in self.zones]
        items += [{"name": ln.name, "line": [list(ln.a), list(ln.b)], "direction": ln.direction} for ln in self.lines]
        return json.dumps(items)

    def shrunk(self, scale: float) -> CameraGeometry:
        """The same geometry for pictures ``scale`` times smaller than the ones it was drawn on (e.g. a live
        stream analysed scaled down): points divided by ``scale``, the homography taking the smaller pixels."""
        if scale == 1.0:
            return self

        def small(point: Point) -> Point:
            return (point[0] / scale, point[1] / scale)

        calibration = self.calibration
        if calibration is not None:
            matrix = calibration.matrix @ np.diag([scale, scale, 1.0])
            calibration = Calibration.of(matrix, small(calibration.principal_point))
        return CameraGeometry(
            calibration=calibration,
            zones=tuple(Zone(z.name, tuple(small(p) for p in z.polygon)) for z in self.zones),
            lines=tuple(Line(ln.name, small(ln.a), small(ln.b), ln.direction) for ln in self.lines),
        )
