"""Watches: live rules that are searches. Create them (audited as a rule and as a search).

* An *appearance watch* holds a description in the search language ("red top and a backpack heading north"),
  parsed once when it is created into the same query a search runs; it alerts when a live track of its cameras
  matches that query.
* A *similar-appearance watch* holds an example (a track the user may reach, or the largest person or vehicle in
  a photo, which is not stored: only its SHA-256 is kept, as for a search by photo) and a similarity threshold;
  it alerts when a live track of its cameras looks at least that similar (cosine of appearance vectors).

Like every live rule a watch needs the analytics capability with current training, a case, a purpose, an owner
and an expiry at most 31 days ahead; it watches from its creation until it expires or is ended. Creating one is
audited as ``live_rule.create`` and as the search it is (``search.run`` or ``search.similar``); each firing is
audited as that search again by :mod:`vigil.watch.evaluator`. Services flush; the caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import Case, Track, User
from vigil.db.rule_models import LiveRule
from vigil.domain.cameras import camera_code
from vigil.errors import InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import authorise, make_context, require_held_for
from vigil.governance.audit import AuditContext
from vigil.governance.cameras.register import get_camera
from vigil.governance.roles import Capability
from vigil.live.rules.service import validated, within_max_days
from vigil.search.query.service import MAX_DESCRIPTION_CHARS, query_json, refuse_description, understand
from vigil.search.query.track_query import TrackQuery
from vigil.search.similarity.by_example import decode_photo, photo_example
from vigil.search.similarity.vectors import as_query_vector, vector_of_blob
from vigil.vision.detect import Detector
from vigil.vision.image_files import DEFAULT_MAX_PIXELS

WatchKind = Literal["appearance_watch", "similar_watch"]
MAX_CAMERAS = 50
_PAGING = {"limit", "offset"}


class WatchRequest(BaseModel):
    """A watch as its owner describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80, description="Short name operators see on alerts.")
    kind: WatchKind = Field(description="appearance_watch (a description) or similar_watch (an example track).")
    cameras: tuple[str, ...] = Field(min_length=1, max_length=MAX_CAMERAS, description="Codes of cameras watched.")
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS, description="What to look for (appearance).")
    track: int | None = Field(None, ge=1, description="The example track's number (similar appearance).")
    threshold: float = Field(0.8, ge=0.3, le=1.0, allow_inf_nan=False, description="Similarity to alert at, 0..1.")
    days: float = Field(description="Days until it expires (at most 31; renewable).", allow_inf_nan=False)

    @field_validator("cameras")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(camera_code(v) for v in value if v.strip()))
        if not codes:
            raise ValueError("choose at least one camera to watch")
        return codes

    @field_validator("days")
    @classmethod
    def _expiry(cls, value: float) -> float:
        return within_max_days(value, "watch")

    @model_validator(mode="after")
    def _shape(self) -> WatchRequest:
        if self.kind == "appearance_watch" and not self.description.strip():
            raise ValueError("an appearance watch needs a description, e.g. 'red top and a backpack heading north'")
        return self


def parse_watch(data: dict[str, Any]) -> WatchRequest:
    """A watch request from a form or the command line, or InvalidInput with the first problem in plain words."""
    return validated(WatchRequest, data)


def watch_query(db: Session, *, user: User, context: AuditContext, description: str, zone: tzinfo) -> TrackQuery:
    """The query a watch's description asks for; refused (audited) if it asks to identify someone, and a clear
    error if it says nothing vigil can look for or names a time (a watch looks from now until it expires)."""
    understanding = understand(db, description=description, zone=zone)
    refuse_description(db, user=user, context=context, understanding=understanding)
    query = understanding.query
    if query.start is not None or query.end is not None:
        raise InvalidInput("a watch looks at live tracks from now until it expires: leave the date out of it")
    if query.model_dump(exclude=_PAGING, exclude_defaults=True) == {}:
        unknown = f" (not understood: {', '.join(understanding.unknown)})" if understanding.unknown else ""
        raise InvalidInput(
            f"vigil found nothing to look for in {description.strip()!r}{unknown}: describe clothing colours, "
            "what is carried, the kind of object or its heading, e.g. 'red top and a backpack heading north'"
        )
    return query


def example_vector(db: Session, *, user: User, context: AuditContext, track_id: int) -> tuple[Track, str]:
    """The example track (refused, audited, if held for another case) and its appearance vector as base64."""
    source = db.get(Track, track_id)
    if source is None:
        raise NotFound(f"there is no track {track_id}")
    require_held_for(
        db,
        user=user,
        context=context,
        held_for=source.footage.case_id,
        subject=f"track {track_id}",
        action="live_rule.create",
    )
    vector = vector_of_blob(source.appearance)
    if vector is None or not vector.any():
        raise InvalidInput(f"track {track_id} has no appearance vector to compare (it was too small or brief)")
    return source, _encoded(vector)


def _encoded(vector: npt.ArrayLike) -> str:
    return base64.b64encode(np.asarray(as_query_vector(vector), dtype="<f4").tobytes()).decode("ascii")


@dataclass(frozen=True)
class PhotoInput:
    """An uploaded photo of the example and what finds the person or vehicle in it."""

    data: bytes
    detector: Detector
    max_pixels: int = DEFAULT_MAX_PIXELS


def _similar_params(
    db: Session, *, user: User, context: AuditContext, request: WatchRequest, photo: PhotoInput | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The watch's example (a track, or a photo's largest person or vehicle) and what its audit says."""
    if request.track is not None:
        source, vector = example_vector(db, user=user, context=context, track_id=request.track)
        params = {"track": source.id, "class": source.class_name, "threshold": request.threshold, "vector": vector}
        return params, {"source": "track", "track": source.id, "threshold": request.threshold}
    if photo is None:
        raise InvalidInput("a similar-appearance watch needs an example: a track number or a photo")
    sha256 = hashlib.sha256(photo.data).hexdigest()
    image = decode_photo(photo.data, max_pixels=photo.max_pixels)
    example, found = photo_example(image, detector=photo.detector, sha256=sha256, pick=None)
    if not found.any():
        raise InvalidInput("the person or vehicle in the photo is too small to compare; use a larger photo")
    used = example.objects[example.used].class_name
    params = {"track": None, "photo": sha256, "class": used, "threshold": request.threshold, "vector": _encoded(found)}
    return params, {"source": "photo", "sha256": sha256, "class": used, "threshold": request.threshold}


def create_watch(
    *,
    db: Session,
    user: User,
    request: WatchRequest,
    case: str,
    purpose: str,
    zone: tzinfo,
    photo: PhotoInput | None = None,
) -> LiveRule:
    """Store a watch for ``case`` after checking capability, training, case, cameras and the search it is;
    audited as ``live_rule.create`` and as the search (``search.run`` or ``search.similar``)."""
    context = make_context(case, purpose)
    authorise(db, user=user, capability=Capability.ANALYTICS, action="live_rule.create", context=context)
    cameras = [get_camera(db, code) for code in request.cameras]
    retired = [c.code for c in cameras if not c.is_active]
    if retired:
        raise InvalidInput(f"camera {', '.join(retired)} is retired: watches watch cameras in service")
    params: dict[str, Any] = {"cameras": [c.code for c in cameras]}
    if request.kind == "appearance_watch":
        query = watch_query(db, user=user, context=context, description=request.description, zone=zone)
        params |= {"description": " ".join(request.description.split()), "query": query_json(query)}
        search: tuple[str, dict[str, Any]] = ("search.run", {"query": params["query"]})
    else:
        example, details = _similar_params(db, user=user, context=context, request=request, photo=photo)
        params |= example
        search = ("search.similar", details)
    held = db.execute(select(Case).where(Case.reference == context.case_ref)).scalar_one()
    now = utcnow()
    rule = LiveRule(
        name=request.name.strip(),
        camera_code=cameras[0].code,
        kind=request.kind,
        geometry="{}",
        params=json.dumps(params),
        case_id=held.id,
        purpose=context.purpose,
        owner_id=user.id,
        created_at=now,
        expires_at=now + timedelta(days=request.days),
    )
    db.add(rule)
    db.flush()
    facts = {"cameras": params["cameras"], "kind": rule.kind, "name": rule.name, "expires": rule.expires_at.isoformat()}
    for action, details in (("live_rule.create", facts), (search[0], {**search[1], "watch": rule.id, **facts})):
        audit.record(
            db,
            actor=user.username,
            action=action,
            capability=Capability.ANALYTICS.value,
            context=context,
            subject_type="live_rule",
            subject_id=rule.id,
            details=details | ({"description": params["description"]} if "description" in params else {}),
            now=now,
        )
    return rule
