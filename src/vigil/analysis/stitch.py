"""Tracklet stitching: join a track that ended to the live track that continues it.

The tracker re-identifies a lost track from single detections as they come. When that fails (the person
reappeared looking different for a moment, or a passer-by took their detection) a new track starts, and the
old one ends when its lost buffer runs out. At that moment the new track has several detections of its own,
so the decision can be remade with more evidence: a live track that started after the ended one's last
detection, close enough for the time between (the same camera-aware gate as the tracker's, in box heights),
of similar size and with a similar appearance (the colour signature at the end of the old track against that
at the start of the new one) continues it. Tracks that ended at the picture's edge are not stitched: the
person left, and whoever comes in next is someone else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vigil.analysis.summary import TrackRecord


@dataclass(frozen=True)
class StitchPolicy:
    max_gap_s: float = 4.0
    gate_base: float = 0.6
    gate_speed: float = 1.2
    size_ratio: float = 1.4
    appearance_gate: float = 0.25
    min_detections: int = 3
    edge_margin: float = 0.02


def _at_edge(box: list[float], width: int, height: int, margin: float) -> bool:
    mx, my = margin * width, margin * height
    return box[0] <= mx or box[1] <= my or box[2] >= width - mx or box[3] >= height - my


def continuation(
    ended: TrackRecord, live: dict[int, TrackRecord], *, width: int, height: int, policy: StitchPolicy
) -> int | None:
    """The id of the live track that continues ``ended``, or None."""
    if not ended.frames or not ended.signature.size or _at_edge(ended.boxes[-1], width, height, policy.edge_margin):
        return None
    last_t, last = ended.times[-1], np.asarray(ended.boxes[-1])
    last_h = max(float(last[3] - last[1]), 1.0)
    best: tuple[float, int] | None = None
    for track_id, record in sorted(live.items()):
        if len(record.frames) < policy.min_detections or not record.early_signature.size:
            continue
        gap = record.times[0] - last_t
        if not 0 < gap <= policy.max_gap_s:
            continue
        first = np.asarray(record.boxes[0])
        first_h = max(float(first[3] - first[1]), 1.0)
        shift = float(np.hypot(*((first[:2] + first[2:]) / 2 - (last[:2] + last[2:]) / 2))) / last_h
        radius = policy.gate_base + policy.gate_speed * gap
        distance = 1.0 - float(ended.signature @ record.early_signature)
        if shift > radius or max(first_h / last_h, last_h / first_h) > policy.size_ratio:
            continue
        if distance > policy.appearance_gate:
            continue
        score = distance / policy.appearance_gate + shift / radius
        if best is None or score < best[0]:
            best = (score, track_id)
    return None if best is None else best[1]


def merged(first: TrackRecord, then: TrackRecord) -> TrackRecord:
    """One record of ``first`` followed by ``then`` (the later track's appearance and thumbnail if better)."""
    result = TrackRecord(
        frames=first.frames + then.frames,
        times=first.times + then.times,
        boxes=first.boxes + then.boxes,
        scores=first.scores + then.scores,
        classes=first.classes + then.classes,
        upper=first.upper + then.upper,
        lower=first.lower + then.lower,
        body=first.body + then.body,
        carried=first.carried + then.carried,
        samples=first.samples + then.samples,
        last_sample_t=then.last_sample_t,
        signature=then.signature,
        early_signature=first.early_signature,
        early_count=first.early_count,
    )
    if first.appearance.size and then.appearance.size:
        result.appearance = first.appearance + then.appearance
    else:
        result.appearance = first.appearance if first.appearance.size else then.appearance
    best = first if first.thumbnail_quality >= then.thumbnail_quality else then
    result.thumbnail, result.thumbnail_quality, result.thumbnail_frame = (
        best.thumbnail,
        best.thumbnail_quality,
        best.thumbnail_frame,
    )
    return result
