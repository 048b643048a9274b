"""Multi-object tracking: detections in, the same detections with track identities out.

:class:`ByteTracker` follows ByteTrack (Zhang et al., 2022) with the additions CCTV needs:

* a continuous-time Kalman filter (:mod:`vigil.vision.kalman`), so detection may run on every k-th frame or at
  an adaptive rate;
* two-stage association solved with ``lap.lapjv``: confident detections first (to tracked *and* lost tracks),
  then low-confidence ones (often half-occluded people) to the tracks still unmatched, then new tracks;
* a camera-aware motion gate: a detection may join a track only within ``gate_base + gate_speed * gap`` box
  heights of its predicted centre. Box height stands in for distance from the camera (a near person is both
  taller and faster in pixels), so one gate fits the whole scene;
* appearance: an exponential average of each track's appearance vector (any L2-normalised vector the caller
  computes per detection), compared by cosine distance; it re-identifies a person after an occlusion and
  stops identities swapping when two people cross;
* birth needs ``min_hits`` detections; a lost track is kept ``lost_buffer_s`` seconds for re-activation,
  less once it has left the picture.

State serialises without pickle (:meth:`ByteTracker.to_bytes`, :meth:`ByteTracker.from_bytes`) and round-trips
exactly, for resumable analysis jobs.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

import cv2
import lap
import numpy as np
import numpy.typing as npt

from vigil.domain.detections import Detections
from vigil.vision import kalman
from vigil.vision.kalman import KalmanConfig
from vigil.vision.nms import iou_matrix

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

TENTATIVE, TRACKED, LOST = 0, 1, 2
_FORMAT = "vigil-bytetracker/1"
_NO_MATCH = 1e6
_SIG_SHAPE = (8, 3, 3)
_SIG_BINS = 8 * 3 * 3
# Classes that a detector confuses with each other are one group for association (COCO ids).
_CLASS_GROUPS = {1: 1, 3: 1, 2: 2, 5: 2, 7: 2, 6: 2}


class Tracker(Protocol):
    """Gives detections identities over time; returns a new value, never mutates its input."""

    def update(self, detections: Detections, t: float) -> Detections: ...


@dataclass(frozen=True)
class TrackerConfig:
    """Thresholds of :class:`ByteTracker` (times in seconds, distances in box heights)."""

    high_score: float = 0.5
    low_score: float = 0.2
    new_track_score: float = 0.55
    min_hits: int = 3
    tentative_timeout_s: float = 0.45
    lost_buffer_s: float = 4.0
    exit_buffer_s: float = 0.3
    max_coast_s: float = 1.0
    gate_base: float = 0.6
    gate_speed: float = 1.2
    size_gate: float = 1.5
    iou_weight: float = 0.5
    appearance_weight: float = 0.5
    appearance_gate: float = 0.4
    feature_momentum: float = 0.8
    match_limit: float = 0.9
    lost_match_limit: float = 0.8
    lost_appearance_share: float = 0.6
    """Weight of appearance (against distance within the gate) when re-identifying a lost track."""
    low_match_limit: float = 0.5
    low_size_gate: float = 1.25
    weak_noise: float = 3.0
    """Low-confidence boxes (often cut by an occluder) move a track's centre with this many times the noise,
    and do not change its size."""
    kalman: KalmanConfig = field(default_factory=KalmanConfig)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrackerConfig:
        k: dict[str, Any] = {key: tuple(v) if isinstance(v, list) else v for key, v in data["kalman"].items()}
        return cls(**{**data, "kalman": KalmanConfig(**k)})


@dataclass
class _Track:
    track_id: int
    state: int
    mean: F64
    cov: F64
    t: float
    hits: int
    score: float
    class_id: int
    confirmed: bool
    feature: F32


@dataclass(frozen=True)
class EndedTrack:
    track_id: int
    confirmed: bool
    """False for a tentative track that never reached ``min_hits`` (noise)."""


def _group(class_id: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
    return np.array([_CLASS_GROUPS.get(int(c), int(c) + 100) for c in class_id], dtype=np.int64)


def assign(cost: F64, limit: float) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one pairs (row, column) whose cost is at most ``limit``."""
    if cost.size == 0:
        return []
    _, rows, _ = lap.lapjv(cost, extend_cost=True, cost_limit=limit)
    return [(int(r), int(c)) for r, c in enumerate(rows) if c >= 0 and cost[r, c] <= limit]


def colour_signatures(image: npt.NDArray[np.uint8], xyxy: F32) -> F32:
    """Cheap appearance vectors for association: hue-saturation-value histograms of each box's upper and lower
    central region (the middle half of the width, 10-50 % and 50-90 % of the height), square-rooted and
    L2-normalised (cosine of two vectors = Bhattacharyya coefficient of the histograms)."""
    height, width = image.shape[:2]
    out = np.zeros((len(xyxy), 2 * _SIG_BINS), dtype=np.float32)
    for k, (x0, y0, x1, y1) in enumerate(np.asarray(xyxy, dtype=np.float64).tolist()):
        w, h = x1 - x0, y1 - y0
        left, right = max(0, int(x0 + 0.25 * w)), min(width, int(np.ceil(x1 - 0.25 * w)))
        top, middle = max(0, int(y0 + 0.1 * h)), min(height, max(0, int(y0 + 0.5 * h)))
        bottom = min(height, int(np.ceil(y0 + 0.9 * h)))
        if right - left < 1 or bottom - top < 2:
            continue
        hsv = cv2.cvtColor(image[top:bottom, left:right], cv2.COLOR_BGR2HSV)
        split = min(max(middle - top, 1), bottom - top - 1)
        for part, rows in enumerate((hsv[:split], hsv[split:])):
            hist = cv2.calcHist([rows], [0, 1, 2], None, list(_SIG_SHAPE), [0, 180, 0, 256, 0, 256]).ravel()
            out[k, part * _SIG_BINS : (part + 1) * _SIG_BINS] = np.sqrt(hist / max(float(hist.sum()), 1.0))
    return _normalise(out)


def _unused(candidates: npt.NDArray[np.intp], matched: dict[int, int]) -> npt.NDArray[np.intp]:
    used = set(matched.values())
    return np.array([j for j in candidates.tolist() if j not in used], dtype=np.intp)


def _normalise(vectors: F32) -> F32:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: F32 = np.where(norms > 0, vectors / np.maximum(norms, 1e-12), 0).astype(np.float32)
    return result


class ByteTracker:
    """ByteTrack-style tracker with appearance and camera-aware gates; see the module docstring."""

    def __init__(self, config: TrackerConfig | None = None, *, frame_size: tuple[int, int] | None = None) -> None:
        self.config = config or TrackerConfig()
        self.frame_size = frame_size
        self._tracks: list[_Track] = []
        self._ended: list[EndedTrack] = []
        self._next_id = 1

    # -- public verbs -------------------------------------------------------------------------------------

    def update(self, detections: Detections, t: float, *, features: F32 | None = None) -> Detections:
        """``detections`` at time ``t`` with ``track_id`` set (-1 where no track took a detection).

        ``features`` (N, D), one appearance vector per detection (all-zero rows: unknown), improves
        re-identification; without it the tracker matches on motion alone.
        """
        n = len(detections)
        feats = (
            _normalise(np.asarray(features, dtype=np.float32)) if features is not None else np.zeros((n, 0), np.float32)
        )
        if feats.shape[0] != n:
            raise ValueError(f"{feats.shape[0]} feature rows for {n} detections")
        cfg = self.config
        assigned = np.full(n, -1, dtype=np.int64)
        pred_mean, pred_cov = self._predicted(t)
        high = np.flatnonzero(detections.score >= cfg.high_score)
        low = np.flatnonzero((detections.score >= cfg.low_score) & (detections.score < cfg.high_score))
        states = [tr.state for tr in self._tracks]
        confirmed = [i for i, state in enumerate(states) if state != TENTATIVE]
        matched = self._associate(confirmed, high, detections, feats, pred_mean, t, "tracked")
        lost = [i for i, state in enumerate(states) if state == LOST and i not in matched]
        matched |= self._associate(lost, _unused(high, matched), detections, feats, pred_mean, t, "lost")
        missed = [i for i in confirmed if states[i] == TRACKED and i not in matched]
        matched |= self._associate(missed, low, detections, feats, pred_mean, t, "weak")
        tentative = [i for i, state in enumerate(states) if state == TENTATIVE]
        matched |= self._associate(tentative, _unused(high, matched), detections, feats, pred_mean, t, "tentative")
        pairs = sorted(matched.items())
        if pairs:
            rows, cols = [i for i, _ in pairs], [j for _, j in pairs]
            weak = (detections.score[cols] < cfg.high_score)[:, None]
            noise = np.where(weak, np.array([cfg.weak_noise, cfg.weak_noise, 30.0, 30.0]), 1.0)
            means, covs = kalman.update(pred_mean[rows], pred_cov[rows], detections.xyxy[cols], cfg.kalman, noise)
            for k, (i, j) in enumerate(pairs):
                self._apply(i, j, detections, feats, means[k], covs[k], t)
                assigned[j] = self._tracks[i].track_id
        self._age(set(matched), t, pred_mean)
        self._birth(detections, feats, assigned, t)
        return detections.with_track_ids(assigned)

    def predict(self, t: float, *, include_lost: bool = False, confirmed_only: bool = False) -> Detections:
        """Where the live tracks are expected at time ``t`` (``track_id`` set; score 0, or 1 with
        ``confirmed_only`` for a track matched to a detection at ``t`` itself)."""
        keep = [
            i
            for i, tr in enumerate(self._tracks)
            if (include_lost or tr.state != LOST) and (tr.confirmed or not confirmed_only)
        ]
        if not keep:
            return Detections.empty()
        tracks = [self._tracks[i] for i in keep]
        mean = np.stack([tr.mean for tr in tracks])
        gap = np.clip(np.array([t - tr.t for tr in tracks]), 0.0, self.config.max_coast_s)
        mean = kalman.predict_mean(mean, gap)
        seen = [confirmed_only and tr.t == t for tr in tracks]
        return Detections(
            xyxy=kalman.cxcywh_to_xyxy(mean[:, :4]).astype(np.float32),
            score=np.array(seen, dtype=np.float32),
            class_id=np.array([tr.class_id for tr in tracks], dtype=np.int32),
            track_id=np.array([tr.track_id for tr in tracks], dtype=np.int64),
        )

    def pop_ended(self) -> list[EndedTrack]:
        """Tracks removed since the last call, in the order they ended."""
        ended, self._ended = self._ended, []
        return ended

    def end_all(self) -> list[EndedTrack]:
        """End every track (at the end of the footage); returns all not yet popped."""
        self._ended.extend(EndedTrack(tr.track_id, tr.confirmed) for tr in self._tracks)
        self._tracks = []
        return self.pop_ended()

    def calm(self, t: float, spacing: float = 3.0) -> bool:
        """Every track confirmed and matched at the last update, and no two within ``spacing`` box heights of
        each other at time ``t``: nothing a detector would need to disentangle soon."""
        if any(tr.state != TRACKED for tr in self._tracks):
            return False
        if len(self._tracks) < 2:
            return True
        mean = kalman.predict_mean(
            np.stack([tr.mean for tr in self._tracks]), np.array([t - tr.t for tr in self._tracks])
        )
        gaps = np.linalg.norm(mean[:, None, :2] - mean[None, :, :2], axis=2)
        reach = spacing * np.maximum(mean[:, None, 3], mean[None, :, 3])
        np.fill_diagonal(gaps, np.inf)
        return bool(np.all(gaps > reach))

    def live_ids(self) -> list[int]:
        return [tr.track_id for tr in self._tracks]

    # -- association ----------------------------------------------------------------------------------------

    def _predicted(self, t: float) -> tuple[F64, F64]:
        if not self._tracks:
            return np.zeros((0, 8)), np.zeros((0, 8, 8))
        mean = np.stack([tr.mean for tr in self._tracks])
        cov = np.stack([tr.cov for tr in self._tracks])
        gap = np.array([t - tr.t for tr in self._tracks])
        return kalman.predict(mean, cov, np.clip(gap, 0.0, self.config.max_coast_s), self.config.kalman)

    def _cost(
        self, rows: list[int], cols: npt.NDArray[np.intp], dets: Detections, feats: F32, pred: F64, t: float, stage: str
    ) -> F64:
        """Association costs of tracks ``rows`` against detections ``cols`` (``_NO_MATCH`` where gated out).

        ``stage`` is "tracked" (motion, plus appearance), "lost" (appearance first, within the camera-aware
        gate), "weak" (low-confidence detections: IoU and size must agree closely) or "tentative".
        """
        cfg = self.config
        box = pred[rows, :4]
        det_box = kalman.xyxy_to_cxcywh(dets.xyxy[cols])
        gap = np.array([t - self._tracks[i].t for i in rows])
        height = np.maximum(box[:, 3], 1.0)
        radius = cfg.gate_base + cfg.gate_speed * np.minimum(gap, cfg.max_coast_s * 2)
        dist = np.linalg.norm(box[:, None, :2] - det_box[None, :, :2], axis=2) / height[:, None]
        ratio = np.abs(np.log(np.maximum(det_box[None, :, 3], 1.0) / height[:, None]))
        groups = np.array([_CLASS_GROUPS.get(self._tracks[i].class_id, self._tracks[i].class_id + 100) for i in rows])
        size_gate = cfg.low_size_gate if stage == "weak" else cfg.size_gate
        invalid = (dist > radius[:, None]) | (ratio > np.log(size_gate))
        invalid |= groups[:, None] != _group(dets.class_id[cols])[None, :]
        if stage == "lost":
            cost = dist / radius[:, None]
        else:
            iou = iou_matrix(kalman.cxcywh_to_xyxy(box).astype(np.float32), dets.xyxy[cols]).astype(np.float64)
            cost = cfg.iou_weight * (1.0 - iou) + (1.0 - cfg.iou_weight) * np.minimum(dist, 1.0)
        if stage != "weak" and feats.shape[1]:
            app, known = self._appearance(rows, feats[cols])
            invalid |= known & (app > cfg.appearance_gate)
            if stage == "lost":
                w = cfg.lost_appearance_share
                cost = np.where(known, (1 - w) * cost + w * app / cfg.appearance_gate, cost)
            else:
                cost = cost + cfg.appearance_weight * app
        return np.where(invalid, _NO_MATCH, cost)

    def _appearance(self, rows: list[int], det_feats: F32) -> tuple[F64, npt.NDArray[np.bool_]]:
        """Cosine distances of the tracks' appearance to the detections', and where both are known."""
        track_feats = np.stack([self._feature(i, det_feats.shape[1]) for i in rows])
        known = (np.linalg.norm(track_feats, axis=1)[:, None] > 0) & (np.linalg.norm(det_feats, axis=1)[None, :] > 0)
        return np.where(known, 1.0 - track_feats @ det_feats.T, 0.0).astype(np.float64), known

    def _feature(self, i: int, dim: int) -> F32:
        feature = self._tracks[i].feature
        return feature if feature.shape[0] == dim else np.zeros(dim, dtype=np.float32)

    def _associate(
        self, rows: list[int], cols: npt.NDArray[np.intp], dets: Detections, feats: F32, pred: F64, t: float, stage: str
    ) -> dict[int, int]:
        """Pairs (track index, detection index) of one association stage (see :meth:`_cost`)."""
        if not rows or not len(cols):
            return {}
        cost = self._cost(rows, cols, dets, feats, pred, t, stage)
        limit = {"lost": self.config.lost_match_limit, "weak": self.config.low_match_limit}.get(
            stage, self.config.match_limit
        )
        return {rows[r]: int(cols[c]) for r, c in assign(cost, limit)}

    # -- track life -----------------------------------------------------------------------------------------

    def _apply(self, i: int, j: int, dets: Detections, feats: F32, mean: F64, cov: F64, t: float) -> None:
        """Track ``i`` took detection ``j``; ``mean`` and ``cov`` are its corrected state."""
        track, cfg = self._tracks[i], self.config
        track.mean, track.cov, track.t = mean, cov, t
        track.hits += 1
        track.score = float(dets.score[j])
        track.class_id = int(dets.class_id[j])
        if feats.shape[1] and dets.score[j] >= cfg.high_score and np.any(feats[j]):
            old = self._feature(i, feats.shape[1])
            blended = (
                feats[j] if not np.any(old) else cfg.feature_momentum * old + (1 - cfg.feature_momentum) * feats[j]
            )
            track.feature = _normalise(blended[None, :])[0]
        if track.state == TENTATIVE and track.hits >= cfg.min_hits:
            track.confirmed = True
        track.state = TRACKED if track.confirmed else TENTATIVE

    def _age(self, matched: set[int], t: float, pred_mean: F64) -> None:
        cfg, keep = self.config, []
        for i, track in enumerate(self._tracks):
            if i in matched:
                keep.append(track)
                continue
            gap = t - track.t
            if track.state == TENTATIVE:
                alive = gap <= cfg.tentative_timeout_s
            else:
                track.state = LOST
                alive = gap <= (cfg.exit_buffer_s if self._outside(pred_mean[i]) else cfg.lost_buffer_s)
            if alive:
                keep.append(track)
            else:
                self._ended.append(EndedTrack(track.track_id, track.confirmed))
        self._tracks = keep

    def _outside(self, mean: F64) -> bool:
        """Whether a predicted box has (mostly) left the picture."""
        if self.frame_size is None:
            return False
        width, height = self.frame_size
        cx, cy, w, h = mean[:4]
        return bool(cx < w / 4 or cx > width - w / 4 or cy - h / 4 > height or cy + h / 2 < h / 4)

    def _birth(self, dets: Detections, feats: F32, assigned: npt.NDArray[np.int64], t: float) -> None:
        cfg = self.config
        free = np.flatnonzero((assigned < 0) & (dets.score >= cfg.new_track_score))
        if not len(free):
            return
        taken = dets.xyxy[assigned >= 0]
        if len(taken):
            overlap = iou_matrix(dets.xyxy[free], taken).max(axis=1)
            free = free[overlap < 0.6]
        mean, cov = kalman.initiate(dets.xyxy[free], cfg.kalman)
        for k, j in enumerate(free):
            feature = feats[j] if feats.shape[1] else np.zeros(0, dtype=np.float32)
            track = _Track(
                self._next_id,
                TENTATIVE,
                mean[k],
                cov[k],
                t,
                1,
                float(dets.score[j]),
                int(dets.class_id[j]),
                cfg.min_hits <= 1,
                feature.astype(np.float32),
            )
            if track.confirmed:
                track.state = TRACKED
            self._tracks.append(track)
            assigned[j] = track.track_id
            self._next_id += 1

    # -- state ----------------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The whole tracker state (configuration included) as bytes; no pickle."""
        tracks, dim = self._tracks, max((tr.feature.shape[0] for tr in self._tracks), default=0)
        header = {
            "format": _FORMAT,
            "config": self.config.to_json(),
            "frame_size": list(self.frame_size) if self.frame_size else None,
            "next_id": self._next_id,
            "ended": [[e.track_id, e.confirmed] for e in self._ended],
        }
        features = np.zeros((len(tracks), dim), dtype=np.float32)
        for k, tr in enumerate(tracks):
            if tr.feature.shape[0] == dim:
                features[k] = tr.feature
        buffer = io.BytesIO()
        np.savez(
            buffer,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            ints=np.array(
                [[tr.track_id, tr.state, tr.hits, tr.class_id, tr.confirmed] for tr in tracks], dtype=np.int64
            ).reshape(-1, 5),
            floats=np.array([[tr.t, tr.score] for tr in tracks], dtype=np.float64).reshape(-1, 2),
            mean=np.array([tr.mean for tr in tracks], dtype=np.float64).reshape(-1, 8),
            cov=np.array([tr.cov for tr in tracks], dtype=np.float64).reshape(-1, 8, 8),
            features=features,
            has_feature=np.array([tr.feature.shape[0] == dim and dim > 0 for tr in tracks], dtype=bool),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ByteTracker:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes().decode())
            if header.get("format") != _FORMAT:
                raise ValueError(f"not a saved ByteTracker state (format {header.get('format')!r})")
            size = header["frame_size"]
            tracker = cls(TrackerConfig.from_json(header["config"]), frame_size=tuple(size) if size else None)
            tracker._next_id = int(header["next_id"])
            tracker._ended = [EndedTrack(int(i), bool(c)) for i, c in header["ended"]]
            ints, floats, has = arrays["ints"], arrays["floats"], arrays["has_feature"]
            for k in range(ints.shape[0]):
                feature = arrays["features"][k] if has[k] else np.zeros(0, dtype=np.float32)
                tracker._tracks.append(
                    _Track(
                        int(ints[k, 0]),
                        int(ints[k, 1]),
                        arrays["mean"][k].copy(),
                        arrays["cov"][k].copy(),
                        float(floats[k, 0]),
                        int(ints[k, 2]),
                        float(floats[k, 1]),
                        int(ints[k, 3]),
                        bool(ints[k, 4]),
                        feature.astype(np.float32).copy(),
                    )
                )
        return tracker

    def with_config(self, **changes: Any) -> ByteTracker:
        """A copy of this tracker's state under a changed configuration (for tuning)."""
        copy = ByteTracker.from_bytes(self.to_bytes())
        copy.config = replace(self.config, **changes)
        return copy
