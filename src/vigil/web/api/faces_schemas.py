"""Request and response bodies of the facial recognition operations of the JSON API (watchlists, retrospective
searches, live deployments and their alerts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from vigil.db.face_models import Alert, Deployment, Enrolment, RetroCandidate, RetroSearch, Subject, Watchlist
from vigil.faces.retrospective import moment
from vigil.web.api.common import PageInfo
from vigil.web.api.schemas import LongText, Name, Reply, Request, ShortText


class SubjectRequest(Request):
    reference: ShortText = Field(description="The subject's reference, e.g. a warrant or missing-person number.")
    category: Literal["wanted", "missing", "vulnerable", "witness"] = Field(description="Why they are listed.")
    reason: LongText = Field(description="The reason for listing (at least a sentence).")
    authority: Name = Field(description="The authority: the warrant or the authorising officer.")
    expires_on: date = Field(description="When the listing lapses (in the future).")


class EnrolmentReply(Reply):
    id: int = Field(description="Enrolment id.")
    sha256: str = Field(description="SHA-256 of the enrolled photo.")
    quality: float = Field(description="Face quality, 0-1.")
    face_number: int = Field(description="Which face of the photo was enrolled.")
    override_reason: str | None = Field(description="Why a quality refusal was overridden, if it was.")
    enrolled_at: datetime = Field(description="When (UTC).")

    @classmethod
    def of(cls, row: Enrolment) -> EnrolmentReply:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class SubjectReply(Reply):
    reference: str = Field(description="The subject's reference.")
    category: str = Field(description="Why they are listed.")
    reason: str = Field(description="The reason for listing.")
    authority: str = Field(description="On whose authority.")
    expires_on: date = Field(description="When the listing lapses.")
    enrolments: list[EnrolmentReply] = Field(description="Enrolled photos.")

    @classmethod
    def of(cls, row: Subject) -> SubjectReply:
        fields = {name: getattr(row, name) for name in ("reference", "category", "reason", "authority", "expires_on")}
        return cls(**fields, enrolments=[EnrolmentReply.of(e) for e in row.enrolments])


class WatchlistRequest(Request):
    name: Name = Field(description="A new watchlist's name (2-200 characters).")
    kind: Literal["deployment", "standing"] = Field("deployment", description="For one deployment, or standing.")


class WatchlistNameRequest(Request):
    watchlist: Name = Field(description="The watchlist's name.")


class WatchlistEntriesRequest(Request):
    watchlist: Name = Field(description="The watchlist's name.")
    subjects: list[ShortText] = Field(min_length=1, max_length=500, description="References of subjects to add.")


class WatchlistReply(Reply):
    id: int = Field(description="Watchlist id.")
    name: str = Field(description="Name.")
    kind: str = Field(description="deployment or standing.")
    frozen_at: datetime | None = Field(description="When it was frozen (no more changes), if it is.")
    subjects: list[str] = Field(description="References of the subjects on it.")

    @classmethod
    def of(cls, row: Watchlist) -> WatchlistReply:
        subjects = sorted({entry.subject.reference for entry in row.entries})
        return cls(id=row.id, name=row.name, kind=row.kind, frozen_at=row.frozen_at, subjects=subjects)


class RegisterReply(Reply):
    subjects: list[SubjectReply] = Field(description="Every subject, by reference.")
    watchlists: list[WatchlistReply] = Field(description="Every watchlist, by name.")


class CandidateReply(Reply):
    id: int = Field(description="Candidate id (to record a verdict).")
    rank: int = Field(description="1 = most similar.")
    score: float = Field(description="Similarity to the probe (not an identification).")
    verdict: str = Field(description="pending, confirmed or rejected: a trained person decides.")
    footage_id: int = Field(description="The footage the face was seen in.")
    seen_at: datetime = Field(description="When the face was seen (UTC).")
    offset_s: float = Field(description="Seconds from the start of the footage.")

    @classmethod
    def of(cls, row: RetroCandidate) -> CandidateReply:
        seen_at, _ = moment(row.entry)
        return cls(
            id=row.id,
            rank=row.rank,
            score=row.score,
            verdict=row.verdict,
            footage_id=row.entry.footage_id,
            seen_at=seen_at,
            offset_s=row.entry.t,
        )


class RetroSearchReply(Reply):
    id: int = Field(description="Search id.")
    probe_sha256: str = Field(description="SHA-256 of the probe photo.")
    probe_quality: float = Field(description="Quality of the probe's face, 0-1.")
    faces_compared: int = Field(description="Faces of the case's footage it was compared with.")
    searched_at: datetime = Field(description="When (UTC).")
    notice: str = Field(description="A candidate is not an identification.")
    candidates: list[CandidateReply] | None = Field(description="The ranked candidates (on a search's own view).")

    @classmethod
    def of(cls, row: RetroSearch, *, notice: str, with_candidates: bool) -> RetroSearchReply:
        candidates = [CandidateReply.of(c) for c in row.candidates] if with_candidates else None
        fields = ("id", "probe_sha256", "probe_quality", "faces_compared", "searched_at")
        return cls(**{name: getattr(row, name) for name in fields}, notice=notice, candidates=candidates)


class CaseSearchesReply(Reply):
    searches: list[RetroSearchReply] = Field(description="The case's searches, newest first (this page of them).")
    page: PageInfo = Field(description="Where this page of searches is in the list.")
    footage: int = Field(description="Footage held for the case.")
    indexed: int = Field(description="Of which indexed for faces.")
    faces: int = Field(description="Faces indexed in the case's footage.")


class CandidateVerdictRequest(Request):
    verdict: Literal["confirmed", "rejected"] = Field(description="The trained person's decision.")
    note: LongText = Field("", description="Why (kept with the verdict).")


class DeploymentReply(Reply):
    id: int = Field(description="Deployment id.")
    name: str = Field(description="Name.")
    location: str = Field(description="Where.")
    window_start: datetime = Field(description="May start from (UTC).")
    window_end: datetime = Field(description="Must end by (UTC).")
    threshold: float = Field(description="Alert threshold (similarity).")
    status: str = Field(description="planned, live, ended or cancelled.")
    operationally_sensitive: bool = Field(description="Kept off the public page beforehand.")
    started_at: datetime | None = Field(description="When it went live (UTC).")
    ended_at: datetime | None = Field(description="When it ended (UTC).")
    faces_seen: int = Field(description="Faces seen so far.")

    @classmethod
    def of(cls, row: Deployment) -> DeploymentReply:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class DeploymentList(Reply):
    items: list[DeploymentReply] = Field(description="Deployments, newest window first.")
    page: PageInfo = Field(description="Where this page is in the list.")


class AlertReply(Reply):
    id: int = Field(description="Alert id.")
    at: datetime = Field(description="When (UTC).")
    camera: str = Field(description="Which camera.")
    score: float = Field(description="Similarity to the watchlist face.")
    subject: str | None = Field(description="The watchlist subject's reference.")
    outcome: str = Field(description="pending, confirmed, dismissed or engaged.")
    outcome_note: str = Field(description="The operator's note.")

    @classmethod
    def of(cls, row: Alert) -> AlertReply:
        subject = row.subject.reference if row.subject is not None else None
        fields = ("id", "at", "camera", "score", "outcome", "outcome_note")
        return cls(**{name: getattr(row, name) for name in fields}, subject=subject)


class ConsoleReply(Reply):
    deployment: DeploymentReply = Field(description="The deployment.")
    alerts: list[AlertReply] = Field(description="Its alerts, pending first.")


class AlertDecisionRequest(Request):
    outcome: Literal["confirmed", "dismissed", "engaged"] = Field(description="The operator's decision.")
    note: LongText = Field("", description="Outcome note (at most 1000 characters).")
    case: ShortText = Field("", description="Case reference to link an engaged alert to, if any.")
