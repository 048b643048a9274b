"""Writing an evidence bundle: the clips and stills of confirmed tracks, the manifest and its proofs, as one zip.

:func:`write_bundle` works in a scratch folder beside the final zip and writes the zip to a partial file; the
caller renames it into place only once the database row is ready, and every failure removes what was written.
Clips are stored uncompressed in the zip (video does not deflate); the manifests are deflated.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vigil.db.models import Footage, Observation, ReviewMark, Track
from vigil.errors import NotFound
from vigil.footage.custody import footage_path
from vigil.search.export.clips import Clip, annotated_still, cut_clip, frame_at
from vigil.search.export.manifest import (
    FORMAT,
    MANIFEST_DIGEST,
    MANIFEST_HMAC,
    MANIFEST_HTML,
    MANIFEST_JSON,
    digest_line,
    footage_entry,
    hmac_line,
    manifest_bytes,
    render_html,
    sha256_hex,
    stamp,
    track_entry,
)
from vigil.settings import Settings

CLIP_MARGIN_S = 2.0  # footage kept before the first and after the last sighting
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExportedTrack:
    """A confirmed track with its current verdict, ready to be exported."""

    track: Track
    mark: ReviewMark
    marker: str  # username of who confirmed it


@dataclass(frozen=True)
class BundleHeader:
    """Who made the bundle, when, for what (the manifest's first fields)."""

    export_id: int
    case_ref: str
    purpose: str
    username: str
    display_name: str
    created_at: datetime
    version: str


@dataclass(frozen=True)
class BundleContent:
    """Everything else the manifest holds: the tracks, their source footage and the case's audit entries."""

    tracks: Sequence[ExportedTrack]
    footage_ingesters: dict[int, str]  # footage id -> username of who ingested it
    audit_entries: list[dict[str, Any]]
    chain_head: tuple[int, str]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def best_observation(track: Track) -> Observation:
    """The observation the still shows: the most confident detection, the largest box among equals."""
    if not track.observations:
        raise NotFound(f"track {track.id} has no observations to make a still from")
    return max(track.observations, key=lambda o: (o.score, (o.x1 - o.x0) * (o.y1 - o.y0), -o.frame_index))


def track_points(track: Track) -> list[tuple[float, float]]:
    """The track's path as image points: analysis stores (t, x, y) triples, older rows (x, y) pairs."""
    points = json.loads(track.path or "[]")
    return [(float(p[-2]), float(p[-1])) for p in points if isinstance(p, list) and len(p) in (2, 3)]


def _offset_s(footage: Footage, at: datetime) -> float:
    return (at - footage.start_time).total_seconds()


def _source(settings: Settings, footage: Footage) -> Path:
    path = footage_path(settings, footage)
    if not path.is_file():
        raise NotFound(
            f"the stored file of footage {footage.id} is missing, so it cannot be exported; "
            f"run `vigil footage verify {footage.id}`"
        )
    return path


def _clip_entry(clip: Clip, name: str, footage: Footage, wanted: tuple[float, float], zone: ZoneInfo) -> dict[str, Any]:
    begin = footage.start_time + timedelta(seconds=clip.start_s)
    end = footage.start_time + timedelta(seconds=clip.end_s)
    return {
        "path": name,
        "method": clip.method,
        "codec": clip.codec,
        "container": clip.container,
        "packets_or_frames": clip.frames,
        "start_s": round(clip.start_s, 6),
        "end_s": round(clip.end_s, 6),
        "start": stamp(begin, zone),
        "end": stamp(end, zone),
        "requested_start_s": round(wanted[0], 6),
        "requested_end_s": round(wanted[1], 6),
        "note": clip.note
        or "Cut without re-encoding: the packets are the original's, from the keyframe at or before the start",
    }


def _media(item: ExportedTrack, settings: Settings, work: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cut the clip and draw the still of one track into ``work``; their manifest entries."""
    track, footage, zone = item.track, item.track.footage, settings.zone
    source = _source(settings, footage)
    wanted = (
        max(0.0, _offset_s(footage, track.first_seen) - CLIP_MARGIN_S),
        min(footage.duration_s, _offset_s(footage, track.last_seen) + CLIP_MARGIN_S),
    )
    if wanted[1] <= wanted[0]:
        wanted = (wanted[0], wanted[0] + CLIP_MARGIN_S)
    (work / "clips").mkdir(parents=True, exist_ok=True)
    clip = cut_clip(source, work / "clips" / f"track-{track.id}", start_s=wanted[0], end_s=wanted[1])
    observation = best_observation(track)
    seen = footage.start_time + timedelta(seconds=observation.t)
    local = seen.astimezone(zone)
    labels = [
        f"{track.camera.code} {track.camera.name}"[:80],
        f"{local:%Y-%m-%d %H:%M:%S.%f}"[:-4] + f" {local:%Z} ({seen:%H:%M:%S} UTC)",
        f"track {track.id} ({track.class_name}), frame {observation.frame_index}",
    ]
    box = (observation.x0, observation.y0, observation.x1, observation.y1)
    path = track_points(track)
    still = annotated_still(frame_at(source, observation.t), box=box, path=path, labels=labels)
    still_name = f"stills/track-{track.id}.png"
    (work / still_name).parent.mkdir(parents=True, exist_ok=True)
    (work / still_name).write_bytes(still)
    clip_name = f"clips/{clip.path.name}"
    still_entry = {
        "path": still_name,
        "frame_index": observation.frame_index,
        "t": observation.t,
        "at": stamp(seen, zone),
        "box": list(box),
        "score": observation.score,
    }
    return _clip_entry(clip, clip_name, footage, wanted, zone), still_entry


def _manifest(header: BundleHeader, content: BundleContent, settings: Settings, work: Path) -> dict[str, Any]:
    zone = settings.zone
    tracks, footage = [], {}
    for item in content.tracks:
        entry = track_entry(item.track, item.mark, item.marker, zone)
        entry["clip"], entry["still"] = _media(item, settings, work)
        tracks.append(entry)
        source = item.track.footage
        footage[source.id] = footage_entry(source, content.footage_ingesters.get(source.id, "?"), zone)
    return {
        "format": FORMAT,
        "bundle_id": str(uuid.uuid4()),
        "export_id": header.export_id,
        "force": settings.force_name,
        "case_ref": header.case_ref,
        "purpose": header.purpose,
        "created_by": {"username": header.username, "display_name": header.display_name},
        "created_at": stamp(header.created_at, zone),
        "timezone": settings.timezone,
        "vigil_version": header.version,
        "tracks": tracks,
        "footage": [footage[key] for key in sorted(footage)],
        "audit": {
            "entries": content.audit_entries,
            "chain_head": {"seq": content.chain_head[0], "hash": content.chain_head[1]},
        },
    }


def write_bundle(
    header: BundleHeader, content: BundleContent, *, settings: Settings, secret: str, target: Path
) -> dict[str, Any]:
    """Write the bundle zip to ``target`` (a partial file the caller renames); return its manifest."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".work-", dir=target.parent) as scratch:
        work = Path(scratch)
        manifest = _manifest(header, content, settings, work)
        media = sorted(p for p in work.rglob("*") if p.is_file())
        files = [
            {"path": p.relative_to(work).as_posix(), "sha256": file_sha256(p), "size": p.stat().st_size} for p in media
        ]
        html = render_html(manifest, files)
        files.append({"path": MANIFEST_HTML, "sha256": sha256_hex(html), "size": len(html)})
        manifest["files"] = files
        raw = manifest_bytes(manifest)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in media:
                archive.write(path, path.relative_to(work).as_posix(), compress_type=zipfile.ZIP_STORED)
            archive.writestr(MANIFEST_HTML, html)
            archive.writestr(MANIFEST_JSON, raw)
            archive.writestr(MANIFEST_DIGEST, digest_line(raw))
            archive.writestr(MANIFEST_HMAC, hmac_line(raw, secret))
    return manifest
