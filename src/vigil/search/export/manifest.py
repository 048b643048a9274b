"""The manifest of an evidence bundle: what each exported track is, where its footage came from, and proof.

``manifest.json`` describes every track (attributes, camera, location, times in UTC and local time, the reviewer's
verdict), the source footage with its full chain of custody, the case's audit entries with their hashes, and every
other file of the bundle with its SHA-256 and size. ``MANIFEST.sha256`` is the SHA-256 of ``manifest.json`` and
``MANIFEST.hmac`` an HMAC-SHA256 of it under a key derived from the system secret, which only the system that made
the bundle can recompute: a hash alone can be recomputed by whoever edits the bundle, the HMAC cannot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from vigil.db.models import CustodyEvent, Footage, ReviewMark, Track

FORMAT = "vigil-evidence-bundle/1"
MANIFEST_JSON = "manifest.json"
MANIFEST_HTML = "manifest.html"
MANIFEST_DIGEST = "MANIFEST.sha256"
MANIFEST_HMAC = "MANIFEST.hmac"
PROOF_FILES = (MANIFEST_JSON, MANIFEST_DIGEST, MANIFEST_HMAC)  # the files the manifest cannot list
HMAC_LABEL = b"vigil evidence export manifest v1"
TEMPLATE = Path(__file__).with_name("manifest.html")


def stamp(at: datetime, zone: ZoneInfo) -> dict[str, str]:
    """A moment as ISO 8601 in UTC and in the force's local time."""
    return {"utc": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "local": at.astimezone(zone).isoformat()}


def _names(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value) if value else {}
    except ValueError:
        return value


def track_entry(track: Track, mark: ReviewMark, marker: str, zone: ZoneInfo) -> dict[str, Any]:
    """A confirmed track as the manifest describes it (clip and still are added by the caller)."""
    location = track.camera.location
    return {
        "track_id": track.id,
        "track_no": track.track_no,
        "footage_id": track.footage_id,
        "class": track.class_name,
        "attributes": {
            "upper_colours": _names(track.upper_colours),
            "lower_colours": _names(track.lower_colours),
            "body_colours": _names(track.body_colours),
            "carried": _names(track.carried),
            "heading": track.heading,
            "heading_deg": track.heading_deg,
            "speed_px_s": track.speed_px_s,
            "speed_m_s": track.speed_m_s,
            "height_px": track.height_px,
            "height_m": track.height_m,
            "dwell_s": track.dwell_s,
            "zone_dwell": _json_or_text(track.zone_dwell),
            "score": track.score,
        },
        "camera": {"code": track.camera.code, "name": track.camera.name},
        "location": {
            "name": location.name,
            "address": location.address,
            "latitude": location.latitude,
            "longitude": location.longitude,
        },
        "first_seen": stamp(track.first_seen, zone),
        "last_seen": stamp(track.last_seen, zone),
        "verdict": {
            "verdict": mark.verdict,
            "marked_by": marker,
            "marked_at": stamp(mark.marked_at, zone),
            "note": mark.note,
        },
    }


def custody_entry(event: CustodyEvent, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "at": stamp(event.at, zone),
        "actor": event.actor,
        "action": event.action,
        "sha256": event.sha256,
        "details": _json_or_text(event.details),
    }


def footage_entry(footage: Footage, ingested_by: str, zone: ZoneInfo) -> dict[str, Any]:
    """The source footage of exported tracks, with its full chain of custody."""
    return {
        "footage_id": footage.id,
        "original_name": footage.original_name,
        "sha256": footage.sha256,
        "size_bytes": footage.size_bytes,
        "container": footage.container,
        "codec": footage.codec,
        "width": footage.width,
        "height": footage.height,
        "fps": footage.fps,
        "duration_s": footage.duration_s,
        "start_time": stamp(footage.start_time, zone),
        "start_time_source": footage.start_time_source,
        "source": footage.source,
        "camera": footage.camera.code,
        "ingested_by": ingested_by,
        "ingested_at": stamp(footage.ingested_at, zone),
        "custody": [custody_entry(event, zone) for event in footage.custody],
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as the bundle stores it (stable key order, so a re-serialisation is comparable)."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_line(manifest: bytes) -> bytes:
    """The content of MANIFEST.sha256 (the format of ``sha256sum``, so that tool can check it too)."""
    return f"{sha256_hex(manifest)}  {MANIFEST_JSON}\n".encode("ascii")


def _hmac_key(secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), HMAC_LABEL, hashlib.sha256).digest()


def hmac_line(manifest: bytes, secret: str) -> bytes:
    """The content of MANIFEST.hmac: HMAC-SHA256 of manifest.json under a key derived from the system secret."""
    return f"hmac-sha256 {hmac.new(_hmac_key(secret), manifest, hashlib.sha256).hexdigest()}\n".encode("ascii")


def hmac_matches(manifest: bytes, line: bytes, secret: str) -> bool:
    return hmac.compare_digest(hmac_line(manifest, secret), line)


def render_html(manifest: dict[str, Any], files: Sequence[dict[str, Any]]) -> bytes:
    """manifest.html: the manifest as a printable page with no external assets."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = env.get_template(TEMPLATE.name).render(m=manifest, files=files)
    return page.encode("utf-8")
