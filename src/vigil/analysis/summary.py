"""What the pipeline remembers about a live track, and the summary it writes when the track ends.

A :class:`TrackRecord` accumulates a track's detected observations, votes (class, clothing colours, carried
objects), a few appearance vectors and the one best thumbnail. :func:`summarise` turns it into a
:class:`~vigil.domain.tracks.FinishedTrack`: majority class, median height, robust speed and heading of the
foot point, an RDP-simplified path, dwell and stationary time. Records round-trip through plain arrays and JSON
(:meth:`TrackRecord.to_state`) for analysis checkpoints.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.domain.cameras import CameraGeometry, Zone
from vigil.domain.detections import COCO_CLASSES
from vigil.domain.tracks import FinishedTrack, TrackObservations, TrackSummary
from vigil.domain.vocabulary import COMPASS, IMAGE_DIRECTIONS
from vigil.vision.attributes import GroundPlane, measure

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass
class TrackRecord:
    """Everything kept about one live track (see the module docstring)."""

    frames: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    boxes: list[list[float]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)
    upper: Counter[str] = field(default_factory=Counter)
    lower: Counter[str] = field(default_factory=Counter)
    body: Counter[str] = field(default_factory=Counter)
    carried: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    last_sample_t: float = -math.inf
    appearance: F32 = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    signature: F32 = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    """Running average of the tracker's colour signature over clear detections (the latest look)."""
    early_signature: F32 = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    """Average colour signature of the first few clear detections."""
    early_count: int = 0
    thumbnail: npt.NDArray[np.uint8] | None = None
    thumbnail_quality: float = 0.0
    thumbnail_frame: int = -1

    def add(self, frame: int, t: float, box: npt.ArrayLike, score: float, class_id: int) -> None:
        self.frames.append(int(frame))
        self.times.append(float(t))
        self.boxes.append([float(v) for v in np.asarray(box, dtype=np.float32).tolist()])
        self.scores.append(float(score))
        self.classes.append(int(class_id))

    def add_appearance(self, vector: F32) -> None:
        self.appearance = vector.astype(np.float32) if not self.appearance.size else self.appearance + vector

    def add_signature(self, vector: F32, momentum: float = 0.7, early: int = 5) -> None:
        if not np.any(vector):
            return
        blended = vector if not self.signature.size else momentum * self.signature + (1 - momentum) * vector
        self.signature = (blended / max(float(np.linalg.norm(blended)), 1e-12)).astype(np.float32)
        if self.early_count < early:
            total = vector if not self.early_signature.size else self.early_signature * self.early_count + vector
            self.early_signature = (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)
            self.early_count += 1

    def to_state(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """JSON-able scalars and arrays that :meth:`from_state` turns back into an equal record."""
        header = {
            "upper": dict(self.upper),
            "lower": dict(self.lower),
            "body": dict(self.body),
            "carried": dict(self.carried),
            "samples": self.samples,
            "last_sample_t": self.last_sample_t,
            "thumbnail_quality": self.thumbnail_quality,
            "thumbnail_frame": self.thumbnail_frame,
            "early_count": self.early_count,
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "frames": np.array(self.frames, dtype=np.int64),
            "times": np.array(self.times, dtype=np.float64),
            "boxes": np.array(self.boxes, dtype=np.float64).reshape(-1, 4),
            "scores": np.array(self.scores, dtype=np.float64),
            "classes": np.array(self.classes, dtype=np.int64),
            "appearance": self.appearance,
            "signature": self.signature,
            "early_signature": self.early_signature,
        }
        if self.thumbnail is not None:
            arrays["thumbnail"] = self.thumbnail
        return header, arrays

    @classmethod
    def from_state(cls, header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> TrackRecord:
        record = cls(
            frames=[int(v) for v in arrays["frames"]],
            times=[float(v) for v in arrays["times"]],
            boxes=[[float(v) for v in row] for row in arrays["boxes"]],
            scores=[float(v) for v in arrays["scores"]],
            classes=[int(v) for v in arrays["classes"]],
            upper=Counter(header["upper"]),
            lower=Counter(header["lower"]),
            body=Counter(header["body"]),
            carried=Counter(header["carried"]),
            samples=int(header["samples"]),
            last_sample_t=float(header["last_sample_t"]),
            appearance=np.asarray(arrays["appearance"], dtype=np.float32).copy(),
            thumbnail_quality=float(header["thumbnail_quality"]),
            thumbnail_frame=int(header["thumbnail_frame"]),
            signature=np.asarray(arrays["signature"], dtype=np.float32).copy(),
            early_signature=np.asarray(arrays["early_signature"], dtype=np.float32).copy(),
            early_count=int(header["early_count"]),
        )
        if "thumbnail" in arrays:
            record.thumbnail = np.asarray(arrays["thumbnail"], dtype=np.uint8).copy()
        return record


def travel(record: TrackRecord) -> float:
    """How far the object moved, in box heights: across the picture (farthest the box centre got from its
    first position) or towards or away from the camera (the growth of its height, 90th over 10th percentile,
    less one, counts double)."""
    boxes = np.array(record.boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) < 2:
        return 0.0
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    across = float(np.hypot(*(centres - centres[0]).T).max() / np.median(heights))
    low, high = np.percentile(heights, [10, 90])
    return max(across, 2.0 * (float(high / low) - 1.0))


def rdp(points: F64, epsilon: float) -> F64:
    """Ramer-Douglas-Peucker simplification of a polyline ``(N, 2+)`` using the first two columns as x, y."""
    if len(points) < 3:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        start, end = points[first, :2], points[last, :2]
        segment = end - start
        length = float(np.hypot(*segment))
        inner = points[first + 1 : last, :2] - start
        if length > 0:
            dist = np.abs(segment[0] * inner[:, 1] - segment[1] * inner[:, 0]) / length
        else:
            dist = np.hypot(inner[:, 0], inner[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > epsilon:
            keep[first + 1 + k] = True
            stack.extend([(first, first + 1 + k), (first + 1 + k, last)])
    return points[keep]


def _smooth(values: F64, window: int) -> F64:
    """Centred moving average along axis 0 (edge-padded) over ``window`` rows."""
    if len(values) < 3 or window < 2:
        return values
    half = window // 2
    padded = np.concatenate([np.repeat(values[:1], half, axis=0), values, np.repeat(values[-1:], half, axis=0)])
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(values.shape[1])], axis=1)


def direction_name(dx: float, dy: float, bearing_deg: float | None) -> tuple[str, float | None]:
    """8-point direction of an image displacement; compass points when the camera's bearing is known.

    For a camera facing bearing B, image "up" is roughly B and image "right" is B + 90 degrees.
    """
    image_angle = math.degrees(math.atan2(dx, -dy)) % 360.0  # clockwise from image-up
    if bearing_deg is None:
        return IMAGE_DIRECTIONS[round(image_angle / 45.0) % 8], None
    compass = (bearing_deg + image_angle) % 360.0
    return COMPASS[round(compass / 45.0) % 8], round(compass, 1)


@dataclass(frozen=True)
class Motion:
    speed_px_s: float
    heading: str
    heading_deg: float | None
    stationary_s: float


def foot_motion(times: F64, feet: F64, heights: F64, bearing_deg: float | None) -> Motion:
    """Robust speed (median over a smoothed path), overall heading and time spent nearly still."""
    if len(times) < 2 or times[-1] <= times[0]:
        return Motion(0.0, "", None, 0.0)
    smooth = _smooth(feet, 5)
    dt = np.diff(times)
    step = np.hypot(*np.diff(smooth, axis=0).T)
    valid = dt > 0
    speeds = step[valid] / dt[valid]
    speed = float(np.median(speeds)) if len(speeds) else 0.0
    still = speeds < 0.15 * np.median(heights)
    stationary = float(dt[valid][still].sum())
    dx, dy = (smooth[-1] - smooth[0]).tolist()
    if math.hypot(dx, dy) < 0.5 * float(np.median(heights)):
        return Motion(speed, "stationary", None, stationary)
    heading, degrees = direction_name(dx, dy, bearing_deg)
    return Motion(speed, heading, degrees, stationary)


@dataclass(frozen=True, eq=False)
class Geometry:
    """What a camera's calibration and zones add to a summary: metric height and speed, per-zone dwell."""

    image_to_ground: F64 | None = None
    """3x3 homography from image pixels to ground-plane metres."""
    ground: GroundPlane | None = None
    """The camera behind the homography, when it admits one (needed for heights, not for speeds)."""
    zones: tuple[Zone, ...] = ()

    @classmethod
    def of(cls, camera: CameraGeometry) -> Geometry:
        """From a camera's calibration (if any) and zones."""
        if camera.calibration is None:
            return cls(zones=camera.zones)
        matrix = camera.calibration.matrix
        ground = GroundPlane.from_homography(matrix, camera.calibration.principal_point)
        return cls(image_to_ground=matrix, ground=ground, zones=camera.zones)

    def to_ground(self, points: F64) -> F64 | None:
        if self.image_to_ground is None:
            return None
        mapped = np.column_stack([points, np.ones(len(points))]) @ self.image_to_ground.T
        return np.asarray(mapped[:, :2] / mapped[:, 2:3], dtype=np.float64)


def inside(points: F64, polygon: tuple[tuple[float, float], ...]) -> npt.NDArray[np.bool_]:
    """Which of ``points`` ``(N, 2)`` lie inside ``polygon`` (even-odd ray casting)."""
    vertices = np.asarray(polygon, dtype=np.float64)
    x, y = points[:, 0], points[:, 1]
    result = np.zeros(len(points), dtype=bool)
    for (x1, y1), (x2, y2) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        result ^= crosses & (x < at_x)
    return result


def zone_dwell(times: F64, feet: F64, zones: tuple[Zone, ...]) -> dict[str, float]:
    """Seconds the foot point spent in each zone: every interval between observations that starts inside."""
    if len(times) < 2:
        return {}
    dt = np.diff(times)
    dwell = {zone.name: float(dt[inside(feet[:-1], zone.polygon)].sum()) for zone in zones}
    return {name: round(seconds, 3) for name, seconds in dwell.items() if seconds > 0}


def median_speed(times: F64, points: F64) -> float:
    """Median speed of a point along its smoothed path (units of ``points`` per second)."""
    if len(times) < 2:
        return 0.0
    dt = np.diff(times)
    step = np.hypot(*np.diff(_smooth(points, 5), axis=0).T)
    valid = dt > 0
    return float(np.median(step[valid] / dt[valid])) if valid.any() else 0.0


def metric_size(boxes: F64, times: F64, feet: F64, geometry: Geometry) -> tuple[float | None, float | None]:
    """Median height (metres) and median foot-point speed on the ground (metres per second), when calibrated."""
    heights = [measure(box, geometry.ground).height_m for box in boxes] if geometry.ground is not None else []
    finite = [h for h in heights if h is not None and math.isfinite(h)]
    height_m = round(float(np.median(finite)), 3) if finite else None
    ground_feet = geometry.to_ground(feet)
    if ground_feet is None or not np.all(np.isfinite(ground_feet)):
        return height_m, None
    return height_m, round(median_speed(times, ground_feet), 3)


def _names(votes: Counter[str], samples: int) -> tuple[str, ...]:
    """Colour names voted for by at least a third of the samples, most votes first (at most two)."""
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(name for name, n in ranked[:2] if n * 3 >= max(samples, 1))


CARRIED_SHARE = 0.2
"""A bag is the track's only if it was seen with the person in at least this share of their detected frames."""


def carried_names(votes: Counter[str], frames: int) -> tuple[str, ...]:
    """Objects associated with the person in at least two frames and :data:`CARRIED_SHARE` of ``frames``."""
    return tuple(sorted(name for name, n in votes.items() if n >= max(2, CARRIED_SHARE * frames)))


def summarise(
    track_no: int, record: TrackRecord, *, bearing_deg: float | None, geometry: Geometry | None = None
) -> FinishedTrack:
    """The finished track of a record with at least one observation; ``geometry`` adds metric sizes and zones."""
    geometry = geometry or Geometry()
    boxes = np.array(record.boxes, dtype=np.float64).reshape(-1, 4)
    times = np.array(record.times, dtype=np.float64)
    scores = np.array(record.scores, dtype=np.float32)
    feet = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], axis=1)
    heights = boxes[:, 3] - boxes[:, 1]
    class_id = Counter(record.classes).most_common(1)[0][0]
    motion = foot_motion(times, feet, heights, bearing_deg)
    path_points = rdp(np.column_stack([feet, times]), max(1.0, 0.1 * float(np.median(heights))))
    height_m, speed_m_s = metric_size(boxes, times, feet, geometry)
    dwell = {"stationary": round(motion.stationary_s, 3)} if motion.stationary_s > 0 else {}
    dwell.update(zone_dwell(times, feet, geometry.zones))
    appearance = record.appearance
    if appearance.size and np.linalg.norm(appearance) > 0:
        appearance = (appearance / np.linalg.norm(appearance)).astype(np.float32)
    summary = TrackSummary(
        class_name=COCO_CLASSES[class_id] if 0 <= class_id < len(COCO_CLASSES) else f"class_{class_id}",
        upper_colours=_names(record.upper, record.samples),
        lower_colours=_names(record.lower, record.samples),
        body_colours=_names(record.body, record.samples),
        carried=carried_names(record.carried, len(record.times)),
        height_px=round(float(np.median(heights)), 2),
        height_m=height_m,
        speed_px_s=round(motion.speed_px_s, 2),
        speed_m_s=speed_m_s,
        heading=motion.heading,
        heading_deg=motion.heading_deg,
        path=tuple((round(float(t), 3), round(float(x), 1), round(float(y), 1)) for x, y, t in path_points),
        dwell_s=round(float(times[-1] - times[0]), 3),
        zone_dwell_s=dwell,
        appearance=appearance,
        thumbnail=record.thumbnail,
        thumbnail_frame=record.thumbnail_frame,
        score=round(float(scores.mean()), 4),
    )
    observations = TrackObservations(
        frame_index=np.array(record.frames, dtype=np.int64),
        t=times,
        xyxy=boxes.astype(np.float32),
        score=scores,
    )
    return FinishedTrack(track_no, observations, summary)
