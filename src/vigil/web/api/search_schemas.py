"""Request and response bodies of search by description, search by example and review marks in the JSON API."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import Field

from vigil.db.models import ReviewMark, SavedSearch
from vigil.search.query.cards import ResultCard
from vigil.search.query.parser import Understanding
from vigil.search.query.track_query import TrackQuery
from vigil.search.review.marks import Verdict
from vigil.search.similarity.by_example import SimilarResult
from vigil.web.api.common import PageInfo
from vigil.web.api.schemas import Description, Name, Note, Reply, Request


class CardReply(Reply):
    track_id: int = Field(description="Track id (the same on every page and in exports).")
    footage_id: int = Field(description="The footage the track is in.")
    track_no: int = Field(description="The track's number within its footage.")
    camera_code: str = Field(description="Camera code.")
    camera_name: str = Field(description="Camera name.")
    class_name: str = Field(description="Object class, e.g. person or car.")
    first_seen: datetime = Field(description="First seen (UTC).")
    last_seen: datetime = Field(description="Last seen (UTC).")
    seen_local: str = Field(description="First seen, in the force's time zone, for people to read.")
    duration_s: float = Field(description="Seconds in view.")
    offset_s: float = Field(description="Seconds from the start of the footage.")
    upper: list[str] = Field(description="Colours of the top.")
    lower: list[str] = Field(description="Colours of the legs.")
    body: list[str] = Field(description="Body colours (vehicles).")
    carried: list[str] = Field(description="Objects carried.")
    heading: str = Field(description="Heading: a compass point, an image direction or stationary.")
    speed: str = Field(description="Speed with its unit.")
    size: str = Field(description="Height with its unit.")
    has_thumbnail: bool = Field(description="Whether a thumbnail was kept.")
    verdict: str | None = Field(description="The current review verdict for the case, if any.")

    @classmethod
    def of(cls, card: ResultCard) -> CardReply:
        return cls(**{name: getattr(card, name) for name in cls.model_fields})


class UnderstandingReply(Reply):
    description: str = Field(description="The description, as read.")
    query: TrackQuery = Field(description="The filters vigil understood (send it to POST /search, edited or not).")
    chips: list[str] = Field(description="The understood filters as short phrases.")
    unknown: list[str] = Field(description="Words that were not understood.")
    notices: list[str] = Field(description="Notices, e.g. that vigil does not infer gender, age or ethnicity.")

    @classmethod
    def of(cls, understanding: Understanding) -> UnderstandingReply:
        return cls(**{name: getattr(understanding, name) for name in cls.model_fields})


class SearchRequest(Request):
    query: TrackQuery = Field(default_factory=TrackQuery, description="The filters; its limit and offset page.")
    description: Description = Field("", description="The description the query came from (audited with it).")


class SearchReply(Reply):
    cards: list[CardReply] = Field(description="The tracks found, newest first.")
    more: bool = Field(description="Whether another page follows (ask again with query.offset + query.limit).")


class SavedSearchRequest(Request):
    name: Name = Field(description="A name unique within the case.")
    query: TrackQuery = Field(description="The filters to keep.")
    description: Description = Field("", description="The description the query came from.")


class SavedSearchReply(Reply):
    id: int = Field(description="Saved search id.")
    name: str = Field(description="Its name within the case.")
    description: str = Field(description="The description it came from.")
    query: TrackQuery = Field(description="The filters.")
    created_at: datetime = Field(description="When it was saved (UTC).")

    @classmethod
    def of(cls, saved: SavedSearch) -> SavedSearchReply:
        query = TrackQuery.model_validate(json.loads(saved.query))
        return cls(
            id=saved.id, name=saved.name, description=saved.description, query=query, created_at=saved.created_at
        )


class SavedSearchList(Reply):
    items: list[SavedSearchReply] = Field(description="The case's saved searches, newest first.")
    page: PageInfo = Field(description="Where this page is in the list.")


class SimilarRequest(Request):
    top: int = Field(50, ge=1, le=200, description="How many of the most similar tracks to return.")
    filters: TrackQuery = Field(default_factory=TrackQuery, description="Only tracks these filters find.")


class SimilarCard(Reply):
    score: float = Field(description="Appearance similarity, -1 to 1 (higher is more alike).")
    card: CardReply = Field(description="The candidate track.")


class PhotoObject(Reply):
    class_name: str = Field(description="What was found in the photo.")
    box: list[float] = Field(description="Its box (x0, y0, x1, y1) in the photo's pixels.")


class PhotoReply(Reply):
    sha256: str = Field(description="SHA-256 of the photo (the photo itself is not kept).")
    objects: list[PhotoObject] = Field(description="People and vehicles found, largest first.")
    used: int = Field(description="Which of them was searched for (1 = first).")


class SimilarReply(Reply):
    source: CardReply | None = Field(description="The track searched from, for a search from a track.")
    photo: PhotoReply | None = Field(description="What the photo showed, for a search from a photo.")
    results: list[SimilarCard] = Field(description="The most similar tracks, most similar first.")


def similar_reply(result: SimilarResult, cards: list[ResultCard], source: ResultCard | None) -> SimilarReply:
    photo = None
    if result.photo is not None:
        objects = [PhotoObject(class_name=o.class_name, box=[float(v) for v in o.box]) for o in result.photo.objects]
        photo = PhotoReply(sha256=result.photo.sha256, objects=objects, used=result.photo.used + 1)
    scored = [SimilarCard(score=r.score, card=CardReply.of(c)) for r, c in zip(result.results, cards, strict=True)]
    return SimilarReply(source=CardReply.of(source) if source else None, photo=photo, results=scored)


class MarkRequest(Request):
    verdict: Verdict = Field(description="Whether the track is the one sought: confirmed, rejected or unsure.")
    note: Note = Field("", description="Why (kept with the mark).")


class MarkReply(Reply):
    id: int = Field(description="Mark id.")
    track_id: int = Field(description="The track marked.")
    verdict: str = Field(description="confirmed, rejected or unsure.")
    note: str = Field(description="The note given.")
    marked_by: str = Field(description="Who marked it.")
    marked_at: datetime = Field(description="When (UTC).")

    @classmethod
    def of(cls, mark: ReviewMark, marked_by: str) -> MarkReply:
        return cls(
            id=mark.id,
            track_id=mark.track_id,
            verdict=mark.verdict,
            note=mark.note,
            marked_by=marked_by,
            marked_at=mark.marked_at,
        )


class ReviewReply(Reply):
    card: CardReply = Field(description="The track.")
    marks: list[MarkReply] = Field(description="The case's marks of this track, newest first.")
