"""Retrospective facial recognition: a probe photo searched only against the footage of one case.

The system does not scan everyone: faces are detected and embedded only in footage attached to the case the
user states (``footage.case_id``), on demand, sampled at ``settings.faces.index_sample_fps``, and only faces fit
to search with are kept. Index rows live with the footage (the database deletes them with it) and their crops
under ``derived/<footage id>/faces/``, which footage retention removes with the footage: they are kept exactly
as long as the case keeps its footage. Footage outside the case is refused, and the refusal audited.

A search lists ranked candidates (score, crop, time, camera, a link to that moment of the video) for a trained
user to confirm or reject one by one. A candidate is not an identification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, undefer

from vigil.db.base import utcnow
from vigil.db.face_models import FaceIndexEntry, FaceIndexRun, RetroCandidate, RetroSearch
from vigil.db.models import Case, Footage, User
from vigil.errors import InvalidInput, NotFound
from vigil.faces.images import Photo, crop_face, from_bytes, jpeg, model_name, one_face, to_bytes, write_file
from vigil.footage.custody import footage_path
from vigil.footage.video import iter_frames
from vigil.governance import audit
from vigil.governance.access import authorise, ensure_case, refuse
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer

VERDICTS = ("confirmed", "rejected")
NOT_AN_IDENTIFICATION = (
    "A candidate is not an identification: it is a face that looks similar to the probe. A trained person must "
    "compare the images and confirm or reject each one, and a confirmation is an investigative lead to corroborate."
)
SAME_APPEARANCE_S = 2.0
"""Faces of one footage within this many seconds and one face-width of each other count as one appearance."""


@dataclass(frozen=True)
class IndexReport:
    footage_id: int
    frames_sampled: int
    faces_indexed: int
    faces_too_poor: int
    already_indexed: bool


def _allow(db: Session, user: User, action: str, context: AuditContext, now: datetime) -> Case:
    authorise(db, user=user, capability=Capability.RETROSPECTIVE_FR, action=action, context=context, now=now)
    return ensure_case(db, reference=context.case_ref, user=user)


def _record(
    db: Session, user: User, action: str, context: AuditContext, subject: tuple[str, int], **details: object
) -> None:
    audit.record(
        db,
        actor=user.username,
        action=action,
        capability=Capability.RETROSPECTIVE_FR.value,
        context=context,
        subject_type=subject[0],
        subject_id=subject[1],
        details=details,
    )


def case_footage(
    db: Session, *, user: User, case: Case, context: AuditContext, footage_ids: Sequence[int] | None
) -> list[Footage]:
    """The footage of ``case`` (all of it, or the given ids, each of which must be the case's)."""
    held = list(db.execute(select(Footage).where(Footage.case_id == case.id).order_by(Footage.id)).scalars())
    if footage_ids:
        outside = sorted(set(footage_ids) - {f.id for f in held})
        if outside:
            raise refuse(
                db,
                actor=user.username,
                action="fr.retro.index",
                reason=(
                    f"footage {', '.join(map(str, outside))} is not held for case {case.reference}: faces are "
                    "indexed only in the footage of the case being investigated"
                ),
                capability=Capability.RETROSPECTIVE_FR.value,
                context=context,
            )
        held = [f for f in held if f.id in set(footage_ids)]
    if not held:
        raise InvalidInput(f"case {case.reference} holds no footage: attach footage to the case before searching it")
    return held


def index_case_footage(
    db: Session,
    *,
    settings: Settings,
    user: User,
    recognizer: FaceRecognizer,
    context: AuditContext,
    footage_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> list[IndexReport]:
    """Detect and embed the faces of the case's footage not yet indexed (audited ``fr.retro.index`` each)."""
    now = now or utcnow()
    case = _allow(db, user, "fr.retro.index", context, now)
    model = model_name(recognizer)
    reports = []
    for footage in case_footage(db, user=user, case=case, context=context, footage_ids=footage_ids):
        run = db.execute(
            select(FaceIndexRun).where(FaceIndexRun.footage_id == footage.id, FaceIndexRun.model == model)
        ).scalar_one_or_none()
        if run is not None:
            reports.append(IndexReport(footage.id, run.frames_sampled, run.faces_indexed, run.faces_too_poor, True))
            continue
        report = _index_one(db, settings=settings, user=user, recognizer=recognizer, footage=footage, case=case)
        _record(
            db, user, "fr.retro.index", context, ("footage", footage.id),
            frames=report.frames_sampled, faces=report.faces_indexed, too_poor=report.faces_too_poor, model=model,
        )  # fmt: skip
        reports.append(report)
    db.flush()
    return reports


def _index_one(
    db: Session, *, settings: Settings, user: User, recognizer: FaceRecognizer, footage: Footage, case: Case
) -> IndexReport:
    written: list[Path] = []
    try:
        entries, sampled, too_poor = _scan(settings, recognizer, footage, case, written)
    except (OSError, ValueError, av.error.FFmpegError) as exc:
        for path in written:
            path.unlink(missing_ok=True)
        raise InvalidInput(f"footage {footage.id} could not be decoded to index its faces ({exc})") from None
    db.add_all(entries)
    db.add(
        FaceIndexRun(
            footage_id=footage.id,
            case_id=case.id,
            model=model_name(recognizer),
            sample_fps=settings.faces.index_sample_fps,
            frames_sampled=sampled,
            faces_indexed=len(entries),
            faces_too_poor=too_poor,
            indexed_by_id=user.id,
        )
    )
    db.flush()
    return IndexReport(footage.id, sampled, len(entries), too_poor, False)


def _scan(
    settings: Settings, recognizer: FaceRecognizer, footage: Footage, case: Case, written: list[Path]
) -> tuple[list[FaceIndexEntry], int, int]:
    """Faces fit to search in the sampled frames (crops written, paths appended to ``written``), frames, too poor."""
    every = max(1, round(footage.fps / settings.faces.index_sample_fps)) if footage.fps > 0 else 1
    model, floor = model_name(recognizer), settings.faces.index_min_quality
    entries: list[FaceIndexEntry] = []
    sampled = too_poor = 0
    for frame in iter_frames(footage_path(settings, footage), every=every):
        sampled += 1
        analysis = recognizer.analyse(frame.image)
        for k, quality in enumerate(analysis.quality):
            if not quality.searchable or quality.score < floor:
                too_poor += 1
                continue
            box = analysis.faces.xyxy[k]
            relative = f"derived/{footage.id}/faces/{frame.index:07d}_{k}.jpg"
            written.append(write_file(settings.data_dir, relative, jpeg(crop_face(frame.image, box))))
            x0, y0, x1, y1 = (float(v) for v in box)
            entries.append(
                FaceIndexEntry(
                    footage_id=footage.id, case_id=case.id, frame_index=frame.index, t=float(frame.timestamp),
                    x0=x0, y0=y0, x1=x1, y1=y1, quality=quality.score, embedding=to_bytes(analysis.embeddings[k]),
                    model=model, crop_path=relative,
                )
            )  # fmt: skip
    return entries, sampled, too_poor


def _same_appearance(a: FaceIndexEntry, b: FaceIndexEntry) -> bool:
    if a.footage_id != b.footage_id or abs(a.t - b.t) > SAME_APPEARANCE_S:
        return False
    width = max(a.x1 - a.x0, b.x1 - b.x0)
    return bool(np.hypot((a.x0 + a.x1 - b.x0 - b.x1) / 2, (a.y0 + a.y1 - b.y0 - b.y1) / 2) <= width)


def rank_entries(
    entries: Sequence[FaceIndexEntry], probe: np.ndarray, *, min_score: float, limit: int
) -> list[tuple[FaceIndexEntry, float]]:
    """Entries by falling similarity to ``probe``, one per appearance, at or above ``min_score``."""
    if not entries:
        return []
    scores = np.stack([from_bytes(e.embedding) for e in entries]) @ probe
    chosen: list[tuple[FaceIndexEntry, float]] = []
    for index in np.argsort(-scores, kind="stable"):
        score = float(scores[index])
        if score < min_score or len(chosen) >= limit:
            break
        entry = entries[int(index)]
        if not any(_same_appearance(entry, kept) for kept, _ in chosen):
            chosen.append((entry, score))
    return chosen


def case_faces(db: Session, *, case: Case, model: str) -> list[FaceIndexEntry]:
    """Every indexed face of the case's footage made by ``model``, embeddings loaded in the same query."""
    stmt = (
        select(FaceIndexEntry)
        .where(FaceIndexEntry.case_id == case.id, FaceIndexEntry.model == model)
        .options(undefer(FaceIndexEntry.embedding))
        .order_by(FaceIndexEntry.id)
    )
    return list(db.execute(stmt).scalars())


def search_probe(
    db: Session,
    *,
    settings: Settings,
    user: User,
    recognizer: FaceRecognizer,
    photo: Photo,
    label: str,
    context: AuditContext,
    now: datetime | None = None,
) -> RetroSearch:
    """Search a probe photo (one face, fit to search) against the case's footage, indexing it first if needed.

    Stored as a :class:`RetroSearch` with its ranked candidates, all pending a person's verdict; audited
    ``fr.retro.search``.
    """
    now = now or utcnow()
    case = _allow(db, user, "fr.retro.search", context, now)
    face = one_face(recognizer, photo, label=label, use="search", min_quality=settings.faces.probe_min_quality)
    index_case_footage(db, settings=settings, user=user, recognizer=recognizer, context=context, now=now)
    model = model_name(recognizer)
    entries = case_faces(db, case=case, model=model)
    limits = settings.faces
    ranked = rank_entries(entries, face.embedding, min_score=limits.retro_min_score, limit=limits.retro_candidates)
    crop_path = f"faces/probes/{case.id}/{photo.sha256}.jpg"
    write_file(settings.data_dir, crop_path, jpeg(face.crop))
    search = RetroSearch(
        case_id=case.id,
        purpose=context.purpose,
        probe_sha256=photo.sha256,
        probe_crop_path=crop_path,
        probe_quality=face.quality.score,
        model=model,
        min_score=limits.retro_min_score,
        faces_compared=len(entries),
        searched_by_id=user.id,
        searched_at=now,
        candidates=[
            RetroCandidate(index_entry_id=entry.id, rank=rank, score=round(score, 4))
            for rank, (entry, score) in enumerate(ranked, start=1)
        ],
    )
    db.add(search)
    db.flush()
    _record(
        db, user, "fr.retro.search", context, ("fr_retro_search", search.id),
        probe_sha256=photo.sha256, faces_compared=len(entries), candidates=len(ranked),
        top_score=round(ranked[0][1], 4) if ranked else None,
    )  # fmt: skip
    return search


def _case_search(db: Session, search_id: int, case: Case) -> RetroSearch:
    stmt = (
        select(RetroSearch)
        .where(RetroSearch.id == search_id)
        .options(
            selectinload(RetroSearch.candidates).selectinload(RetroCandidate.entry).selectinload(FaceIndexEntry.footage)
        )
    )
    search = db.execute(stmt).scalar_one_or_none()
    if search is None or search.case_id != case.id:
        raise NotFound(f"no retrospective search {search_id} in case {case.reference}")
    return search


def view_search(
    db: Session, *, user: User, search_id: int, context: AuditContext, now: datetime | None = None
) -> RetroSearch:
    """A search of the stated case with its candidates (audited ``fr.retro.view``)."""
    now = now or utcnow()
    case = _allow(db, user, "fr.retro.view", context, now)
    search = _case_search(db, search_id, case)
    _record(db, user, "fr.retro.view", context, ("fr_retro_search", search.id), candidates=len(search.candidates))
    return search


def decide(
    db: Session,
    *,
    user: User,
    candidate_id: int,
    verdict: str,
    note: str = "",
    context: AuditContext,
    now: datetime | None = None,
) -> RetroCandidate:
    """Confirm or reject one candidate of a search of the stated case (audited ``fr.retro.verdict``)."""
    now = now or utcnow()
    case = _allow(db, user, "fr.retro.verdict", context, now)
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}")
    candidate = db.get(RetroCandidate, candidate_id)
    if candidate is None or candidate.search.case_id != case.id:
        raise NotFound(f"no candidate {candidate_id} in case {case.reference}")
    note = " ".join(note.split())[:2000]
    candidate.verdict, candidate.verdict_note = verdict, note
    candidate.decided_by_id, candidate.decided_at = user.id, now
    _record(
        db, user, "fr.retro.verdict", context, ("fr_retro_candidate", candidate.id),
        search=candidate.search_id, verdict=verdict, score=candidate.score, note=note,
    )  # fmt: skip
    db.flush()
    return candidate


def moment(entry: FaceIndexEntry) -> tuple[datetime, str]:
    """When a candidate face was seen (wall clock) and the link to that moment of the footage's video."""
    return entry.footage.start_time + timedelta(seconds=entry.t), f"/footage/{entry.footage_id}/video?t={entry.t:.2f}"
