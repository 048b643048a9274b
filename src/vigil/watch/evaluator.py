"""Run the watches over the live tracks every few seconds and raise an alert for each new match.

A pass reads (one short read-only transaction) the active watches and the live tracks of their cameras seen
since the watch began and within the last ``LOOKBACK`` (tracks of live recordings, whether their segment is
still being recorded or already ingested, provisional rows and final ones alike; footage held for another case
is never looked at), scores them with no transaction open, and writes each new alert in its own short write.

De-duplication is per watch and track: a live track is rewritten (as a new row) at every refresh and once more
when it is final, but it keeps the moment it was first seen, so an alert is keyed by watch, camera and that
moment (the alert's ``at``) and the same track never fires a watch twice. The snapshot is the track's thumbnail
with its box; the camera's worker cuts the clip from the recording like any other alert's.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.base import utcnow
from vigil.db.live_models import LiveSegment
from vigil.db.models import Camera, Footage, Track
from vigil.db.rule_models import LiveRule, LiveRuleAlert
from vigil.db.session import session_scope
from vigil.governance import audit
from vigil.governance.audit import SYSTEM_ACTOR, AuditContext
from vigil.governance.roles import Capability
from vigil.live.rules.alerts import record_alert, snapshot_jpeg, write_snapshot
from vigil.live.rules.engine import Firing, Kind
from vigil.live.rules.service import WATCH_KINDS
from vigil.live.tracks import RESERVED_SOURCE
from vigil.search.query.filters import find_tracks, other_cases_footage
from vigil.search.query.service import load_query
from vigil.search.similarity.vectors import vector_of_blob

log = logging.getLogger(__name__)

EVERY_S = 3.0
"""How often the watches' runner (:mod:`vigil.watch.runner`, beside the live cameras) runs a pass."""
LOOKBACK = timedelta(minutes=2)
"""Tracks last seen longer ago than this are not looked at again (their provisional rows were already)."""
SAME_MOMENT = timedelta(milliseconds=5)
CHUNK = 500
"""Candidates matched per query (the search's own page limit)."""


@dataclass(frozen=True)
class Match:
    rule_id: int
    kind: str
    case_ref: str
    purpose: str
    camera_code: str
    track_id: int
    first_seen: datetime
    thumbnail: str | None
    summary: str
    search: tuple[str, dict[str, object]]


def active_watches(db: Session, now: datetime) -> list[LiveRule]:
    stmt = select(LiveRule).where(
        LiveRule.kind.in_(WATCH_KINDS), LiveRule.ended_at.is_(None), LiveRule.expires_at > now
    )
    return list(db.execute(stmt.order_by(LiveRule.id)).scalars())


def live_candidates(db: Session, rule: LiveRule, cameras: list[str], since: datetime) -> list[Track]:
    """The live tracks of ``cameras`` seen since ``since`` (not replaced, not held for another case)."""
    live_footage = or_(
        Track.footage_id.in_(select(Footage.id).where(Footage.source == RESERVED_SOURCE)),
        Track.footage_id.in_(select(LiveSegment.footage_id)),
    )
    stmt = (
        select(Track)
        .join(Camera, Camera.id == Track.camera_id)
        .where(
            Camera.code.in_(cameras),
            Track.last_seen >= since,
            Track.superseded.is_(False),
            live_footage,
            other_cases_footage(rule.case_id),
        )
        .order_by(Track.id)
    )
    return list(db.execute(stmt).scalars())


def appearance_matches(db: Session, rule: LiveRule, candidates: list[Track]) -> list[Track]:
    """The candidates the watch's description finds (the search's own filters, on these tracks only)."""
    query = load_query(json.loads(rule.params)["query"])
    found: list[Track] = []
    for start in range(0, len(candidates), CHUNK):
        ids = [t.id for t in candidates[start : start + CHUNK]]
        chunk = query.model_copy(update={"track_ids": ids, "limit": len(ids), "offset": 0})
        found += find_tracks(db, chunk, case_id=rule.case_id).tracks
    return found


def similar_matches(db: Session, rule: LiveRule, candidates: list[Track]) -> list[tuple[Track, float]]:
    """The candidates of the example's class whose appearance is at least the watch's threshold alike."""
    params = json.loads(rule.params)
    example = np.frombuffer(base64.b64decode(params["vector"]), dtype="<f4")
    kept = []
    for track in candidates:
        if track.class_name != params["class"] or track.id == params["track"]:
            continue
        score = similarity(example, vector_of_blob(track.appearance))
        if score is not None and score >= float(params["threshold"]):
            kept.append((track, score))
    return kept


def similarity(example: npt.NDArray[np.float32], vector: npt.NDArray[np.float32] | None) -> float | None:
    """Cosine similarity of a unit example and a stored vector (None if the track has no usable vector)."""
    if vector is None or vector.shape != example.shape:
        return None
    norm = float(np.linalg.norm(vector))
    return None if norm == 0.0 else float(np.dot(example, vector) / norm)


def find_matches(db: Session, *, now: datetime) -> list[Match]:
    """Every (watch, live track) match of this pass not yet alerted. Read-only."""
    matches = []
    for rule in active_watches(db, now):
        params = json.loads(rule.params)
        since = max(rule.created_at, now - LOOKBACK)
        candidates = live_candidates(db, rule, list(params["cameras"]), since)
        if rule.kind == "appearance_watch":
            found: list[tuple[Track, float | None]] = [(t, None) for t in appearance_matches(db, rule, candidates)]
            search: tuple[str, dict[str, object]] = ("search.run", {"query": params["query"]})
        else:
            found = [(t, s) for t, s in similar_matches(db, rule, candidates)]
            source = {"source": "photo", "sha256": params["photo"]} if params.get("photo") else {}
            search = ("search.similar", source or {"source": "track", "track": params["track"]})
        for track, score in found:
            if alerted(db, rule_id=rule.id, camera_code=track.camera.code, first_seen=track.first_seen):
                continue
            example = f"track {params['track']}" if params.get("track") else "the photo"
            what = params.get("description") or f"looks like {example} ({score:.2f})"
            matches.append(
                Match(
                    rule.id,
                    rule.kind,
                    rule.case.reference,
                    rule.purpose,
                    track.camera.code,
                    track.id,
                    track.first_seen,
                    track.thumbnail_path,
                    f"{rule.name}: {track.class_name} matching {what}",
                    search,
                )
            )
    return matches


def alerted(db: Session, *, rule_id: int, camera_code: str, first_seen: datetime) -> bool:
    """Whether the watch has already fired for the track first seen at that moment on that camera."""
    stmt = select(LiveRuleAlert.id).where(
        LiveRuleAlert.rule_id == rule_id,
        LiveRuleAlert.camera_code == camera_code,
        LiveRuleAlert.at.between(first_seen - SAME_MOMENT, first_seen + SAME_MOMENT),
    )
    return db.execute(stmt.limit(1)).first() is not None


def thumbnail_snapshot(data_dir: Path, match: Match) -> str | None:
    """The track's thumbnail with its box drawn, stored as the alert's snapshot (None without a thumbnail)."""
    if match.thumbnail is None:
        return None
    image = cv2.imread(str(data_dir / match.thumbnail))
    if image is None:
        return None
    height, width = image.shape[:2]
    jpeg = snapshot_jpeg(np.asarray(image, dtype=np.uint8), [(0.0, 0.0, float(width - 1), float(height - 1))])
    return write_snapshot(data_dir, match.camera_code, jpeg)


def raise_watch_alert(db: Session, *, match: Match, snapshot_path: str | None) -> bool:
    """Store the alert (unless another pass did meanwhile) and audit the firing as the search it is."""
    if alerted(db, rule_id=match.rule_id, camera_code=match.camera_code, first_seen=match.first_seen):
        return False
    rule = db.get(LiveRule, match.rule_id)
    if rule is None or rule.ended_at is not None:
        return False
    firing = Firing(match.rule_id, cast(Kind, match.kind), 0.0, match.first_seen, match.track_id, (), match.summary)
    alert = record_alert(db, camera_code=match.camera_code, firing=firing, snapshot_path=snapshot_path)
    action, details = match.search
    audit.record(
        db,
        actor=SYSTEM_ACTOR,
        action=action,
        capability=Capability.ANALYTICS.value,
        context=AuditContext(case_ref=match.case_ref, purpose=match.purpose),
        subject_type="live_rule",
        subject_id=match.rule_id,
        details={**details, "watch": match.rule_id, "alert": alert.id, "results": 1, "found": match.track_id},
    )
    return True


def run_pass(sessions: sessionmaker[Session], *, data_dir: Path, now: datetime | None = None) -> int:
    """One pass over every active watch; the number of alerts raised."""
    with session_scope(sessions) as db:
        matches = find_matches(db, now=now or utcnow())
    raised = 0
    for match in matches:
        snapshot = thumbnail_snapshot(data_dir, match)
        with session_scope(sessions) as db:
            raised += raise_watch_alert(db, match=match, snapshot_path=snapshot)
    return raised
