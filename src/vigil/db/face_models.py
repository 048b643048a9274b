"""Tables of facial recognition (issue 6): watchlists, subjects, enrolments, deployments, alerts.

* Subjects and their enrolled images; a watchlist is a list of subjects' enrolments (copied as a snapshot so a
  frozen list does not change when an enrolment does), built for one deployment or kept as a standing list.
* Live deployments and the alerts they raise. Faces that match no one are never stored: a deployment keeps
  only a count of faces seen.
* Retrospective search: faces of a case's footage are indexed on demand (``fr_face_index``, deleted with the
  footage by the database's cascade), and each probe search keeps its ranked candidates and their verdicts.

Image and crop paths are relative to ``data_dir``. Embeddings are float32 unit vectors as bytes, tagged with
the model that made them (vectors of different models are never compared).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigil.db.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from vigil.db.models import Footage


class Subject(Base):
    """A person who may be put on a watchlist, on a stated authority and until an expiry date."""

    __tablename__ = "fr_subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # warrant or missing-person number
    category: Mapped[str] = mapped_column(String(16))  # wanted | missing | vulnerable | witness
    reason: Mapped[str] = mapped_column(Text)
    authority: Mapped[str] = mapped_column(String(200))
    expires_on: Mapped[date] = mapped_column(Date)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="subject", order_by="Enrolment.id")


class Enrolment(Base):
    """One quality-checked face of a subject's photo and its embedding.

    ``face_number`` is the face's number in the photo (1 for a photo of one face); ``face_chosen`` says who chose it:
    ``only`` (one face), ``person`` (the enroller, among several) or ``auto`` (it plainly stood out). A quality
    refusal a supervisor overrode keeps its reasons (``overridden_refusal``), the stated reason and who overrode it.
    """

    __tablename__ = "fr_enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("fr_subjects.id", ondelete="CASCADE"), index=True)
    stored_path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    quality: Mapped[float] = mapped_column(Float)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    model: Mapped[str] = mapped_column(String(32))
    enrolled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    face_number: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    face_chosen: Mapped[str] = mapped_column(String(8), default="only", server_default="only")
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    overridden_refusal: Mapped[str | None] = mapped_column(Text, nullable=True)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    subject: Mapped[Subject] = relationship(back_populates="enrolments")


class Watchlist(Base):
    """Subjects' enrolments to compare faces with; frozen (no more changes) when its deployment starts."""

    __tablename__ = "fr_watchlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # deployment | standing
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    entries: Mapped[list[WatchlistEntry]] = relationship(
        back_populates="watchlist", order_by="WatchlistEntry.id", cascade="all, delete-orphan", passive_deletes=True
    )


class WatchlistEntry(Base):
    """A subject's enrolment on a watchlist, with the embedding copied when it was added (the snapshot)."""

    __tablename__ = "fr_watchlist_entries"
    __table_args__ = (UniqueConstraint("watchlist_id", "enrolment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("fr_watchlists.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("fr_subjects.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("fr_enrolments.id", ondelete="SET NULL"), nullable=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # cleared when a deployment ends
    model: Mapped[str] = mapped_column(String(32))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    watchlist: Mapped[Watchlist] = relationship(back_populates="entries")
    subject: Mapped[Subject] = relationship()
    enrolment: Mapped[Enrolment | None] = relationship()


class Deployment(Base):
    """A live facial-recognition deployment: where, when, which cameras and watchlist, on whose authority."""

    __tablename__ = "fr_deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(300))
    streams: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of {"camera": code}; sources: camera_sources
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    watchlist_id: Mapped[int | None] = mapped_column(ForeignKey("fr_watchlists.id"), nullable=True)
    threshold: Mapped[float] = mapped_column(Float)
    authorising_officer: Mapped[str] = mapped_column(String(200))
    public_notice: Mapped[str] = mapped_column(Text, default="")
    operationally_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="planned", index=True)  # planned|live|ended|cancelled
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    faces_seen: Mapped[int] = mapped_column(Integer, default=0)
    # Published counts of alerts already deleted by retention (JSON: alerts, confirmed, dismissed, engaged, ...).
    results: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    watchlist: Mapped[Watchlist | None] = relationship()


class Alert(Base):
    """A face that scored at or above a deployment's threshold against a watchlist subject, and its outcome."""

    __tablename__ = "fr_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("fr_deployments.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("fr_subjects.id", ondelete="SET NULL"), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("fr_watchlist_entries.id", ondelete="SET NULL"), nullable=True
    )
    score: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    camera: Mapped[str] = mapped_column(String(200))
    crop_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # pending|confirmed|dismissed|engaged
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    deployment: Mapped[Deployment] = relationship()
    subject: Mapped[Subject | None] = relationship()


class FaceIndexRun(Base):
    """That one footage of a case has been indexed for faces (and how), even when it holds none."""

    __tablename__ = "fr_index_runs"
    __table_args__ = (UniqueConstraint("footage_id", "model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    model: Mapped[str] = mapped_column(String(32))
    sample_fps: Mapped[float] = mapped_column(Float)
    frames_sampled: Mapped[int] = mapped_column(Integer, default=0)
    faces_indexed: Mapped[int] = mapped_column(Integer, default=0)
    faces_too_poor: Mapped[int] = mapped_column(Integer, default=0)
    indexed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FaceIndexEntry(Base):
    """A face found in a case's footage: where and when, its embedding and its crop (only for case footage)."""

    __tablename__ = "fr_face_index"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    frame_index: Mapped[int] = mapped_column(Integer)
    t: Mapped[float] = mapped_column(Float)  # seconds from the footage start
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)
    embedding: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    model: Mapped[str] = mapped_column(String(32))
    crop_path: Mapped[str] = mapped_column(String(500))

    footage: Mapped[Footage] = relationship()


class RetroSearch(Base):
    """A probe photo searched against the faces of one case's footage, for a stated purpose."""

    __tablename__ = "fr_retro_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    probe_sha256: Mapped[str] = mapped_column(String(64))
    probe_crop_path: Mapped[str] = mapped_column(String(500))
    probe_quality: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(32))
    min_score: Mapped[float] = mapped_column(Float)
    faces_compared: Mapped[int] = mapped_column(Integer, default=0)
    searched_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    searched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    candidates: Mapped[list[RetroCandidate]] = relationship(
        back_populates="search", order_by="RetroCandidate.rank", cascade="all, delete-orphan", passive_deletes=True
    )


class RetroCandidate(Base):
    """A ranked face from the case's footage for a probe; a trained user confirms or rejects it (never an ID)."""

    __tablename__ = "fr_retro_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("fr_retro_searches.id", ondelete="CASCADE"), index=True)
    index_entry_id: Mapped[int] = mapped_column(ForeignKey("fr_face_index.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed | rejected
    verdict_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    search: Mapped[RetroSearch] = relationship(back_populates="candidates")
    entry: Mapped[FaceIndexEntry] = relationship()
