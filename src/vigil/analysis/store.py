"""Writing finished tracks (rows, sampled observations, thumbnails) and reading them back for export."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.analysis.columns import fill_search_columns
from vigil.db.models import Footage, Observation, Track
from vigil.domain.tracks import FinishedTrack
from vigil.settings import Settings


def thumbnail_relpath(footage_id: int, job_id: int, track_no: int) -> Path:
    """Per run: a re-analysis never overwrites the thumbnail of a kept track of an earlier run."""
    return Path("derived") / str(footage_id) / "tracks" / f"{job_id}-{track_no}.jpg"


def save_thumbnail(finished: FinishedTrack, *, footage_id: int, job_id: int, data_dir: Path) -> str | None:
    """Write the track's thumbnail under ``data_dir`` and return its relative path (None when it has none)."""
    thumbnail = finished.summary.thumbnail
    if thumbnail is None or not thumbnail.size:
        return None
    rel = thumbnail_relpath(footage_id, job_id, finished.track_no)
    (data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(data_dir / rel), thumbnail, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return str(rel)


def track_row(finished: FinishedTrack, *, footage: Footage, job_id: int, thumbnail_path: str | None) -> Track:
    """The ``Track`` row (with its observations) of a finished track; search columns are filled by the caller."""
    obs, summary = finished.observations, finished.summary
    track = Track(
        footage_id=footage.id,
        camera_id=footage.camera_id,
        job_id=job_id,
        track_no=finished.track_no,
        class_name=summary.class_name,
        first_seen=footage.start_time + timedelta(seconds=float(obs.t[0])),
        last_seen=footage.start_time + timedelta(seconds=float(obs.t[-1])),
        first_frame=int(obs.frame_index[0]),
        last_frame=int(obs.frame_index[-1]),
        upper_colours=",".join(summary.upper_colours),
        lower_colours=",".join(summary.lower_colours),
        body_colours=",".join(summary.body_colours),
        carried=",".join(summary.carried),
        height_px=summary.height_px,
        height_m=summary.height_m,
        speed_px_s=summary.speed_px_s,
        speed_m_s=summary.speed_m_s,
        heading=summary.heading,
        heading_deg=summary.heading_deg,
        dwell_s=summary.dwell_s,
        zone_dwell=json.dumps(dict(summary.zone_dwell_s), sort_keys=True),
        path=json.dumps([[round(v, 3) for v in point] for point in summary.path]),
        score=summary.score,
        thumbnail_path=thumbnail_path,
        appearance=summary.appearance.astype(np.float32).tobytes() if summary.appearance.size else None,
    )
    track.observations = [
        Observation(
            frame_index=int(f),
            t=float(t),
            x0=float(b[0]),
            y0=float(b[1]),
            x1=float(b[2]),
            y1=float(b[3]),
            score=float(s),
        )
        for f, t, b, s in zip(obs.frame_index, obs.t, obs.xyxy, obs.score, strict=True)
    ]
    return track


def store_tracks(
    db: Session,
    *,
    footage: Footage,
    job_id: int,
    tracks: Iterable[FinishedTrack],
    data_dir: Path,
    zone: tzinfo | None = None,
    thumbnails: Mapping[int, str | None] | None = None,
) -> int:
    """Add finished tracks to the session (the caller commits them with the job's checkpoint).

    ``zone`` is the force's time zone for the search columns (default: the settings' default zone).
    ``thumbnails``: the tracks' thumbnails already written (by track number), e.g. before a write transaction
    began; otherwise each is written here."""
    zone = zone or ZoneInfo(Settings.model_fields["timezone"].default)
    count = 0
    for finished in tracks:
        if not len(finished.observations):
            continue
        if thumbnails is not None:
            thumb = thumbnails.get(finished.track_no)
        else:
            thumb = save_thumbnail(finished, footage_id=footage.id, job_id=job_id, data_dir=data_dir)
        track = track_row(finished, footage=footage, job_id=job_id, thumbnail_path=thumb)
        fill_search_columns(track, zone)
        db.add(track)
        count += 1
    db.flush()
    return count


def tracks_of(db: Session, footage_id: int) -> Sequence[Track]:
    stmt = (
        select(Track)
        .where(Track.footage_id == footage_id, Track.superseded.is_(False))
        .options(selectinload(Track.observations))
        .order_by(Track.track_no)
    )
    return db.execute(stmt).scalars().all()


def _every_frame(track: Track) -> list[tuple[int, float, float, float, float, float]]:
    """Boxes for every frame of the track's life, linearly interpolated between sampled observations."""
    obs = track.observations
    rows: list[tuple[int, float, float, float, float, float]] = []
    for a, b in itertools.pairwise(obs):
        span = b.frame_index - a.frame_index
        start = np.array([a.x0, a.y0, a.x1, a.y1])
        end = np.array([b.x0, b.y0, b.x1, b.y1])
        for step in range(span):
            x0, y0, x1, y1 = (start + (end - start) * (step / span)).tolist()
            rows.append((a.frame_index + step, x0, y0, x1, y1, a.score if step == 0 else 0.0))
    last = obs[-1]
    rows.append((last.frame_index, last.x0, last.y0, last.x1, last.y1, last.score))
    return rows


def export_mot(tracks: Sequence[Track]) -> str:
    """MOTChallenge text: frame,id,left,top,w,h,conf,-1,-1,-1 with frames numbered from 1, source pixels."""
    lines = []
    for track in tracks:
        for frame, x0, y0, x1, y1, score in _every_frame(track):
            lines.append((frame + 1, track.track_no, x0, y0, x1 - x0, y1 - y0, score))
    lines.sort()
    return "".join(f"{f},{i},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c:.3f},-1,-1,-1\n" for f, i, x, y, w, h, c in lines)


def track_as_dict(track: Track) -> dict[str, object]:
    return {
        "track_no": track.track_no,
        "class": track.class_name,
        "first_seen": track.first_seen.isoformat(),
        "last_seen": track.last_seen.isoformat(),
        "first_frame": track.first_frame,
        "last_frame": track.last_frame,
        "upper_colours": [c for c in track.upper_colours.split(",") if c],
        "lower_colours": [c for c in track.lower_colours.split(",") if c],
        "body_colours": [c for c in track.body_colours.split(",") if c],
        "carried": [c for c in track.carried.split(",") if c],
        "height_px": round(track.height_px, 1),
        "height_m": track.height_m,
        "speed_px_s": round(track.speed_px_s, 2),
        "speed_m_s": track.speed_m_s,
        "heading": track.heading,
        "dwell_s": round(track.dwell_s, 2),
        "zone_dwell_s": json.loads(track.zone_dwell),
        "path": json.loads(track.path),
        "score": round(track.score, 3),
        "thumbnail": track.thumbnail_path,
    }


def export_json(tracks: Sequence[Track]) -> str:
    rows = []
    for track in tracks:
        row = track_as_dict(track)
        row["observations"] = [
            [
                o.frame_index,
                round(o.t, 3),
                round(o.x0, 1),
                round(o.y0, 1),
                round(o.x1, 1),
                round(o.y1, 1),
                round(o.score, 3),
            ]
            for o in track.observations
        ]
        rows.append(row)
    return json.dumps(rows, indent=1) + "\n"


CSV_FIELDS = (
    "track_no",
    "class",
    "first_seen",
    "last_seen",
    "upper_colours",
    "lower_colours",
    "body_colours",
    "carried",
    "height_px",
    "height_m",
    "speed_px_s",
    "speed_m_s",
    "heading",
    "dwell_s",
    "score",
)


def export_csv(tracks: Sequence[Track]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for track in tracks:
        row = track_as_dict(track)
        writer.writerow([" ".join(map(str, v)) if isinstance(v, list) else v for v in (row[k] for k in CSV_FIELDS)])
    return buffer.getvalue()
