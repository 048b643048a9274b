"""Comparing the faces of photos with a watchlist (``vigil fr identify``): each face's best-scoring subjects.

For scripts and evaluation. Needs a stated purpose and case; faces too poor to search with are reported with
their reasons and no matches. The scores rank candidates for a person to check: they identify no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.face_models import Watchlist
from vigil.db.models import User
from vigil.errors import InvalidInput
from vigil.faces.images import Photo, from_bytes, model_name
from vigil.faces.watchlists import fr_capability, get_watchlist
from vigil.governance import audit
from vigil.governance.audit import AuditContext
from vigil.vision.faces import FaceRecognizer
from vigil.vision.faces.embed import subject_templates


@dataclass(frozen=True)
class Match:
    subject: str
    category: str
    score: float


@dataclass(frozen=True)
class FaceResult:
    box: tuple[float, float, float, float]
    quality: float
    searchable: bool
    reasons: tuple[str, ...]
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class ImageResult:
    image: str
    faces: tuple[FaceResult, ...]


@dataclass(frozen=True)
class Gallery:
    """A watchlist's subjects as a matrix: one unit template per subject, and each row's subject.

    A subject enrolled from several photos is scored by one template, the normalised mean of its entries'
    embeddings, not by its best entry: with a best-entry rule every extra photo is one more chance for a stranger
    to score high (measured with ``bench/faces_lfw.py --enrol 2``, BENCHMARKS.md).
    """

    vectors: npt.NDArray[np.float32]
    subjects: tuple[str, ...]
    categories: dict[str, str]

    def best(self, probe: npt.NDArray[np.float32], top: int) -> tuple[Match, ...]:
        """The ``top`` subjects by the similarity of their template to ``probe``."""
        if not len(self.subjects):
            return ()
        scores = (self.vectors @ probe).tolist()
        ranked = sorted(zip(self.subjects, scores, strict=True), key=lambda item: (-item[1], item[0]))[:top]
        return tuple(Match(subject, self.categories[subject], round(score, 4)) for subject, score in ranked)


def gallery_of(watchlist: Watchlist, model: str) -> Gallery:
    """The watchlist's subjects whose entries made by ``model`` still hold an embedding, one template each."""
    entries = [e for e in watchlist.entries if e.embedding is not None and e.model == model]
    if watchlist.entries and not entries:
        raise InvalidInput(f"watchlist {watchlist.name!r} holds no embeddings of the {model} model")
    vectors = np.stack([from_bytes(e.embedding) for e in entries if e.embedding is not None]) if entries else None
    templates, subjects = subject_templates(
        vectors if vectors is not None else np.zeros((0, 1), np.float32), [e.subject.reference for e in entries]
    )
    return Gallery(
        vectors=templates,
        subjects=subjects,
        categories={e.subject.reference: e.subject.category for e in entries},
    )


def identify(
    db: Session,
    *,
    user: User,
    recognizer: FaceRecognizer,
    watchlist_name: str,
    photos: Sequence[tuple[str, Photo]],
    context: AuditContext,
    top: int = 5,
    now: datetime | None = None,
) -> list[ImageResult]:
    """Every face of every photo with its ``top`` watchlist subjects (audited ``fr.identify``)."""
    now = now or utcnow()
    capability = fr_capability(db, user=user, action="fr.identify", context=context, now=now)
    watchlist = get_watchlist(db, watchlist_name)
    gallery = gallery_of(watchlist, model_name(recognizer))
    results = []
    for label, photo in photos:
        analysis = recognizer.analyse(photo.image)
        faces = []
        for index, quality in enumerate(analysis.quality):
            box = tuple(round(float(v), 1) for v in analysis.faces.xyxy[index])
            matches = gallery.best(analysis.embeddings[index], top) if quality.searchable else ()
            faces.append(
                FaceResult(
                    (box[0], box[1], box[2], box[3]), quality.score, quality.searchable, quality.reasons, matches
                )
            )
        results.append(ImageResult(label, tuple(faces)))
    audit.record(
        db,
        actor=user.username,
        action="fr.identify",
        capability=capability.value,
        context=context,
        subject_type="fr_watchlist",
        subject_id=watchlist.name,
        details={
            "images": [photo.sha256 for _, photo in photos],
            "faces": sum(len(r.faces) for r in results),
            "subjects": len(gallery.subjects),
        },
        now=now,
    )
    return results
