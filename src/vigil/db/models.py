"""Tables of the foundation: users, training, tokens, cases, audit chain, locations, PIAs, cameras, footage."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import true

from vigil.db.base import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who made the account (None: the first administrator); they may not also record its training.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    """Where vigil's notices to this person go (e.g. a camera's recording failed, to supervisors); may be empty."""

    training: Mapped[list[TrainingRecord]] = relationship(
        back_populates="user", foreign_keys="TrainingRecord.user_id", order_by="TrainingRecord.id"
    )


class TrainingRecord(Base):
    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    capability: Mapped[str] = mapped_column(String(32))
    course: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A withdrawn record (entered in error, or training found wanting) no longer unlocks its capability.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    user: Mapped[User] = relationship(back_populates="training", foreign_keys=[user_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])

    def is_current(self, today: date) -> bool:
        """Valid today: completed, not expired and not withdrawn."""
        return self.withdrawn_at is None and self.completed_on <= today <= self.expires_on


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class LoginSession(Base):
    """A web login session; the cookie carries its random id, the database only its SHA-256."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Case(Base):
    """A case (crime or incident reference) that searches, footage and exports are held for."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retain_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")


class CaseMember(Base):
    """A user assigned to a case by a supervisor; only members reach the case's data (removal ends it)."""

    __tablename__ = "case_members"
    __table_args__ = (Index("ix_case_members_case_id_user_id", "case_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit log."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    capability: Mapped[str | None] = mapped_column(String(32), nullable=True)
    case_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    purpose: Mapped[str | None] = mapped_column(Text, nullable=True)
    subject_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's newest link, updated with every append; it also serialises appends (row lock)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(400), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Retired locations keep their PIAs and cameras' history but take no new cameras.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    pias: Mapped[list[PrivacyImpactAssessment]] = relationship(
        back_populates="location", order_by="PrivacyImpactAssessment.id"
    )
    cameras: Mapped[list[Camera]] = relationship(back_populates="location", order_by="Camera.id")


class PrivacyImpactAssessment(Base):
    __tablename__ = "pias"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    approved_purposes: Mapped[str] = mapped_column(Text)
    approved_on: Mapped[date] = mapped_column(Date)
    review_date: Mapped[date] = mapped_column(Date)
    approved_by: Mapped[str] = mapped_column(String(200))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    location: Mapped[Location] = relationship(back_populates="pias")


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    bearing_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    stream_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    calibration: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON ``{"image_to_ground": 3x3 list, "principal_point": [cx, cy]}``; ``None`` when uncalibrated."""
    zones: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    """JSON list of ``{"name": str, "polygon": [[x, y], ...]}`` in source-image pixels."""
    detect_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    """Score of a confident person detection on this camera (calibrated); ``None``: the settings' default."""
    person_height_px: Mapped[float | None] = mapped_column(Float, nullable=True)
    """Height in pixels of a small (distant) person in this camera's picture; ``None``: learnt per footage."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    location: Mapped[Location] = relationship(back_populates="cameras")


class CameraSource(Base):
    """The live source of a force camera (vigil.governance.camera_sources): its URL (or, where a setting allows
    it, a file replayed as a camera) encrypted with a key kept outside the database; only the masked form
    (``rtsp://***@host/path``) is stored in clear, for pages and the audit log."""

    __tablename__ = "camera_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "network" or "file"
    masked: Mapped[str] = mapped_column(String(600))
    sealed: Mapped[str] = mapped_column(Text)  # Fernet token of the full URL or path
    recording: Mapped[str] = mapped_column(String(16), default="continuous")  # continuous | motion | off
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    camera: Mapped[Camera] = relationship()


class Footage(Base):
    """An original video file, stored untouched under the data folder."""

    __tablename__ = "footage"
    __table_args__ = (UniqueConstraint("sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    container: Mapped[str] = mapped_column(String(64))
    codec: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    frame_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    start_time_source: Mapped[str] = mapped_column(String(32))
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ingested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(200))
    consent_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    """Footage an owner sent through a footage request: the case whose authorisation, with the owner's consent,
    stands in for a location PIA (analysis only while the footage is held for that case)."""

    camera: Mapped[Camera] = relationship()
    case: Mapped[Case | None] = relationship(foreign_keys=[case_id])
    custody: Mapped[list[CustodyEvent]] = relationship(
        back_populates="footage", order_by="CustodyEvent.id", cascade="all, delete-orphan"
    )


class CustodyEvent(Base):
    """Chain of custody: who did what with a piece of footage, and its hash at that time."""

    __tablename__ = "custody_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64))

    footage: Mapped[Footage] = relationship(back_populates="custody")


class AnalysisJob(Base):
    """A background analysis of one piece of footage, resumable from its last checkpoint."""

    __tablename__ = "analysis_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    params: Mapped[str] = mapped_column(Text, default="{}")
    total_frames: Mapped[int] = mapped_column(Integer, default=0)
    progress_frames: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_frame: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_state: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    tracks_written: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set when a forced re-analysis replaced this run: its tracks are kept under their ids, flagged superseded.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The process running the job (host, boot, pid and start time): a dead owner's job is resumed at start-up."""

    footage: Mapped[Footage] = relationship()


class PlayableCopy(Base):
    """A copy of a footage that browsers can play, made when the original's format cannot be played in one.

    The original stays untouched (it is the evidence, with its hash and custody); the copy lives in the
    footage's derived folder, so retention deletes it with the footage.
    """

    __tablename__ = "playable_copies"

    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, preparing, ready, failed
    method: Mapped[str] = mapped_column(String(16), default="")  # remux (no re-encoding) or transcode
    percent: Mapped[float] = mapped_column(Float, default=0.0)
    stored_path: Mapped[str | None] = mapped_column(String(500), nullable=True)  # relative to data_dir
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_MASKS = ("upper_mask", "lower_mask", "body_mask", "carried_mask")
_SEEN = "first_seen"


class Track(Base):
    """One object followed through one piece of footage, with its attributes."""

    __tablename__ = "tracks"
    __table_args__ = (
        UniqueConstraint("job_id", "track_no"),  # track numbers restart with each analysis run
        # Search (vigil.search.query.filters): cameras + time range; and scans driven by class (newest first), time of
        # day or carried objects, which carry the attribute masks so that rows are filtered before being read.
        Index("ix_tracks_camera_id_first_seen", "camera_id", "first_seen"),
        Index("ix_tracks_class_name_first_seen", "class_name", "first_seen", *_MASKS, "heading", "start_minute"),
        Index("ix_tracks_start_minute", "start_minute", "class_name", *_MASKS, "heading", "first_seen"),
        Index("ix_tracks_carried_mask", "carried_mask", "class_name", *_MASKS[:3], "heading", "start_minute", _SEEN),
        Index("ix_tracks_dwell_s", "dwell_s"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("analysis_jobs.id", ondelete="CASCADE"), index=True)
    track_no: Mapped[int] = mapped_column(Integer)
    class_name: Mapped[str] = mapped_column(String(32), index=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_frame: Mapped[int] = mapped_column(Integer)
    last_frame: Mapped[int] = mapped_column(Integer)
    upper_colours: Mapped[str] = mapped_column(String(32), default="")
    lower_colours: Mapped[str] = mapped_column(String(32), default="")
    body_colours: Mapped[str] = mapped_column(String(32), default="")
    carried: Mapped[str] = mapped_column(String(100), default="")
    height_px: Mapped[float] = mapped_column(Float, default=0.0)
    height_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    speed_px_s: Mapped[float] = mapped_column(Float, default=0.0)
    speed_m_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    heading: Mapped[str] = mapped_column(String(16), default="")
    heading_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    dwell_s: Mapped[float] = mapped_column(Float, default=0.0)
    zone_dwell: Mapped[str] = mapped_column(Text, default="{}")
    path: Mapped[str] = mapped_column(Text, default="[]")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    thumbnail_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    appearance: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    # Search columns derived from the attributes above when the track is stored (vigil.analysis.columns):
    # bit i of a colour mask is PALETTE[i]; bit i of carried_mask is CARRIED_CLASSES[i]; start_minute is the
    # minute of the day of first_seen in the force's time zone (for "between 2pm and 3pm on any day").
    upper_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lower_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    body_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    carried_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    start_minute: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A track of a run that a forced re-analysis replaced, kept because a review mark (hence perhaps an export)
    # refers to it: still reachable by its id, left out of searches, pages and dashboards of the footage.
    superseded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", index=True)

    footage: Mapped[Footage] = relationship()
    camera: Mapped[Camera] = relationship()
    observations: Mapped[list[Observation]] = relationship(
        back_populates="track",
        order_by="Observation.frame_index",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Observation(Base):
    """A sampled position of a track (at the analysis rate)."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    frame_index: Mapped[int] = mapped_column(Integer)
    t: Mapped[float] = mapped_column(Float)
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)

    track: Mapped[Track] = relationship(back_populates="observations")


class SavedSearch(Base):
    """A search an investigator kept for a case: its name and its query (a TrackQuery as JSON)."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("case_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # the plain-English text it was parsed from
    query: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()


class ReviewMark(Base):
    """An investigator's verdict on one candidate track for one case: confirmed, rejected or unsure.

    The latest mark of a (case, track) pair is its current verdict; earlier marks are kept as history.
    """

    __tablename__ = "review_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    marked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    track: Mapped[Track] = relationship()


class EvidenceExport(Base):
    """An evidence bundle made for a case: where the zip is and its SHA-256, for the register and retention."""

    __tablename__ = "evidence_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stored_path: Mapped[str] = mapped_column(String(500))  # relative to data_dir
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    track_count: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()


# Tables of later capabilities live in their own modules; importing them here registers them on Base.metadata.
from vigil.db import face_models as _face_models  # noqa: E402,F401
from vigil.db import live_models as _live_models  # noqa: E402,F401
from vigil.db import outbox_models as _outbox_models  # noqa: E402,F401
from vigil.db import registry_models as _registry_models  # noqa: E402,F401
from vigil.db import rule_models as _rule_models  # noqa: E402,F401
from vigil.db import share_models as _share_models  # noqa: E402,F401
