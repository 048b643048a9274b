"""Search by example: tracks that look like a given track ("more like this") or like a person or vehicle in an
uploaded photo, ranked by appearance similarity and optionally narrowed by the description search's filters.

Both need the analytics capability with a stated case and purpose and are audited as ``search.similar`` with the
source (a track id, or the photo's SHA-256 and which object in it was used) and the number of results. Uploaded
photos are never stored: only their SHA-256 is kept, in the audit entry, so the search can be tied to the
photo the investigator holds in the case file. Results are of the example's class (a person finds people)
unless the filters name classes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vigil.analysis.describe import VEHICLE_CLASSES, DescribedObject, describe_image
from vigil.db.base import utcnow
from vigil.db.models import Track, User
from vigil.domain.detections import COCO_CLASSES, PERSON_CLASS_ID
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise, require_held_for
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.search.query.filters import _exact as passes_exact_checks  # zone presence and line crossing
from vigil.search.query.filters import camera_ids, longest_track_s, predicates
from vigil.search.query.track_query import TrackQuery
from vigil.search.review.marks import case_id_of, current_verdicts
from vigil.search.similarity.index import SimilarityIndex
from vigil.search.similarity.vectors import vector_of_blob
from vigil.vision.appearance import appearance_vector
from vigil.vision.detect import Detector
from vigil.vision.image_files import ACCEPTED, DEFAULT_MAX_PIXELS, decode_image
from vigil.vision.segment import ColourModelSegmenter

MAX_PHOTO_BYTES = 20 * 1024 * 1024
EXAMPLE_CLASSES = frozenset({"person", *(COCO_CLASSES[c] for c in VEHICLE_CLASSES)})
_UNFILTERED = TrackQuery()


@dataclass(frozen=True)
class SimilarTrack:
    track: Track  # with camera and footage loaded
    score: float  # cosine similarity of appearance, -1..1
    verdict: str | None  # the current review verdict for the case


@dataclass(frozen=True)
class PhotoExample:
    """What was found in an uploaded photo: the people and vehicles (largest first) and which one was used."""

    sha256: str
    objects: list[DescribedObject]
    used: int


@dataclass(frozen=True)
class SimilarResult:
    results: list[SimilarTrack]
    source: Track | None = None
    photo: PhotoExample | None = None


def _allow(db: Session, user: User, context: AuditContext, now: datetime) -> None:
    authorise(db, user=user, capability=Capability.ANALYTICS, action="search.similar", context=context, now=now)


def _filtered(query: TrackQuery) -> bool:
    """Whether the query narrows anything beyond classes (which the re-check applies cheaply)."""
    return query.model_copy(update={"classes": [], "limit": _UNFILTERED.limit, "offset": 0}) != _UNFILTERED


def _search(
    db: Session, index: SimilarityIndex, vector: npt.ArrayLike, *, k: int, query: TrackQuery, exclude: Sequence[int]
) -> list[tuple[int, float]]:
    """Top ``k`` of the index among the tracks the filters allow (zone presence checked on the results)."""
    cameras = camera_ids(db, query)
    if cameras == []:
        return []
    where = predicates(query, cameras, longest_track_s(db) if query.start is not None else 0.0)
    allowed = None
    if _filtered(query):
        allowed = np.fromiter(db.execute(select(Track.id).where(*where)).scalars(), dtype=np.int64)
        where = [Track.class_name.in_(query.classes)] if query.classes else []
    where = [*where, Track.superseded.is_(False)]
    found = index.search(db, vector, k=k, allowed_ids=allowed, exclude=exclude, where=where)
    return [(n.track_id, n.score) for n in found]


def _results(db: Session, found: list[tuple[int, float]], query: TrackQuery, case_id: int | None) -> list[SimilarTrack]:
    ids = [track_id for track_id, _ in found]
    stmt = select(Track).where(Track.id.in_(ids)).options(selectinload(Track.camera), selectinload(Track.footage))
    tracks = {track.id: track for track in db.execute(stmt).scalars()} if ids else {}
    verdicts = current_verdicts(db, case_id=case_id, track_ids=ids) if case_id is not None else {}
    kept = [
        SimilarTrack(tracks[track_id], score, verdicts.get(track_id))
        for track_id, score in found
        if track_id in tracks
        and tracks[track_id].footage.case_id in (None, case_id)  # never footage held for another case
        and passes_exact_checks(tracks[track_id], query)
    ]
    return kept


def _audit(
    db: Session, user: User, context: AuditContext, now: datetime, subject: tuple[str, str], details: dict[str, object]
) -> None:
    audit.record(
        db,
        actor=user.username,
        action="search.similar",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type=subject[0],
        subject_id=subject[1],
        details=details,
        now=now,
    )


def similar_to_track(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    index: SimilarityIndex,
    track_id: int,
    k: int = 50,
    query: TrackQuery | None = None,
    now: datetime | None = None,
) -> SimilarResult:
    """The ``k`` tracks that look most like track ``track_id`` (itself excluded), audited as ``search.similar``."""
    now = now or utcnow()
    _allow(db, user, context, now)
    source = db.get(Track, track_id)
    if source is None:
        raise NotFound(f"no track {track_id}")
    held_for = source.footage.case_id
    require_held_for(
        db, user=user, context=context, held_for=held_for, subject=f"track {track_id}", action="search.similar"
    )
    vector = vector_of_blob(source.appearance)
    if vector is None or not vector.any():
        raise InvalidInput(f"track {track_id} has no appearance vector to compare (it was too small or brief)")
    query = query or _UNFILTERED
    if not query.classes:
        query = query.model_copy(update={"classes": [source.class_name]})
    found = _search(db, index, vector, k=k, query=query, exclude=[source.id])
    results = _results(db, found, query, case_id_of(db, context.case_ref))
    details: dict[str, object] = {"source": "track", "track": source.id, "count": len(results)}
    details["filters"] = query.model_dump(mode="json", exclude_defaults=True)
    _audit(db, user, context, now, ("track", str(source.id)), details)
    return SimilarResult(results, source=source)


def decode_photo(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> npt.NDArray[np.uint8]:
    """An uploaded photo as a BGR image (its size checked from its header before decoding), or a clear error."""
    if not data:
        raise InvalidInput(f"the uploaded file is empty; choose a photo ({ACCEPTED})")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput(f"a photo is limited to {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
    return decode_image(data, label="the uploaded file", max_pixels=max_pixels)


def _area(obj: DescribedObject) -> float:
    x0, y0, x1, y1 = obj.box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def photo_example(
    image: npt.NDArray[np.uint8], *, detector: Detector, sha256: str, pick: int | None
) -> tuple[PhotoExample, npt.NDArray[np.float32]]:
    """The people and vehicles in a photo (largest first), the one used (``pick``, default the largest) and its
    appearance vector, computed as the pipeline does (segmented silhouette for a person)."""
    objects = sorted(
        # A still nothing was detected in is described as one whole-image person (for `vigil describe`); a search
        # needs an object the detector actually found, or a blank or unrelated photo would rank every track.
        (o for o in describe_image(image, detector=detector) if o.class_name in EXAMPLE_CLASSES and not o.whole_image),
        key=lambda o: -_area(o),
    )
    if not objects:
        raise InvalidInput("no person or vehicle was found in the photo; try a tighter, clearer crop")
    if pick is not None and not 0 <= pick < len(objects):
        raise InvalidInput(f"the photo has {len(objects)} people or vehicles; pick one of 1 to {len(objects)}")
    used = pick if pick is not None else 0
    box = np.array(objects[used].box, dtype=np.float32)
    if objects[used].class_name == COCO_CLASSES[PERSON_CLASS_ID]:
        mask = ColourModelSegmenter(shape="person").segment(image, box).mask
        vector = appearance_vector(image, box, mask)
    else:
        vector = appearance_vector(image, box)
    return PhotoExample(sha256, objects, used), vector


def similar_to_image(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    index: SimilarityIndex,
    detector: Detector,
    photo: bytes,
    pick: int | None = None,
    k: int = 50,
    query: TrackQuery | None = None,
    now: datetime | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> SimilarResult:
    """The ``k`` tracks that look most like the person or vehicle in a photo (the photo is not stored),
    audited as ``search.similar`` with the photo's SHA-256. A photo over ``max_pixels`` is refused unread."""
    now = now or utcnow()
    _allow(db, user, context, now)
    sha256 = hashlib.sha256(photo).hexdigest()
    example, vector = photo_example(
        decode_photo(photo, max_pixels=max_pixels), detector=detector, sha256=sha256, pick=pick
    )
    if not vector.any():
        raise InvalidInput("the person or vehicle in the photo is too small to compare; use a larger photo")
    query = query or _UNFILTERED
    if not query.classes:
        query = query.model_copy(update={"classes": [example.objects[example.used].class_name]})
    found = _search(db, index, vector, k=k, query=query, exclude=[])
    results = _results(db, found, query, case_id_of(db, context.case_ref))
    used = example.objects[example.used]
    details: dict[str, object] = {
        "source": "photo",
        "sha256": sha256,
        "found": len(example.objects),
        "used": {"index": example.used, "class": used.class_name, "box": [round(v, 1) for v in used.box]},
        "count": len(results),
        "filters": query.model_dump(mode="json", exclude_defaults=True),
    }
    _audit(db, user, context, now, ("photo", sha256[:64]), details)
    return SimilarResult(results, photo=example)
