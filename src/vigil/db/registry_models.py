"""Tables of the camera registry and footage requests (issue 5): owners, their cameras, requests, upload links.

Personal data (an owner's name, address, postcode, email and phone) lives only on :class:`RegistryOwner`;
deleting a registration blanks those columns and deletes the owner's cameras, keeping the row (status
``deleted``) so that the footage requests already sent stay countable. Tokens (verification, self-service and
upload links) are stored only as SHA-256 hex digests.

On PostgreSQL with PostGIS the migration mirrors each camera's position as a geography point in
``registry_geo.camera_points`` (kept by a trigger, GiST-indexed): a table outside these models, in its own schema,
so that SQLite and Alembic's model comparison never see it (see the 0006 migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigil.db.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from vigil.db.models import Case, Footage


class RegistryOwner(Base):
    """A resident or business who registered cameras; blanked (status ``deleted``) when they delete it."""

    __tablename__ = "registry_owners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # resident | business
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | active | deleted
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(400), default="")
    postcode: Mapped[str] = mapped_column(String(16), default="")
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    consent_version: Mapped[str] = mapped_column(String(16))
    consent_text: Mapped[str] = mapped_column(Text)
    verify_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    verify_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    cameras: Mapped[list[RegisteredCamera]] = relationship(
        back_populates="owner", order_by="RegisteredCamera.id", cascade="all, delete-orphan", passive_deletes=True
    )


class RegisteredCamera(Base):
    """A camera an owner registered: where it is, which way it faces, what it is and how long it keeps video."""

    __tablename__ = "registered_cameras"
    __table_args__ = (Index("ix_registered_cameras_lat_lon", "latitude", "longitude"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("registry_owners.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16))  # doorbell | cctv | dashcam
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    facing_deg: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: all round or unknown
    retention_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[RegistryOwner] = relationship(back_populates="cameras")


class FootageRequest(Base):
    """A request to one owner for footage for one case; its upload link's token is stored only as a hash."""

    __tablename__ = "footage_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("registry_owners.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)  # sent opened uploaded declined expired revoked failed
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_upload_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    send_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    case: Mapped[Case] = relationship("Case")
    owner: Mapped[RegistryOwner] = relationship()
    uploads: Mapped[list[RequestUpload]] = relationship(
        back_populates="request", order_by="RequestUpload.id", cascade="all, delete-orphan"
    )


class RequestUpload(Base):
    """One file an owner is sending (resumable, in chunks) or sent for a request, and what became of it."""

    __tablename__ = "request_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), index=True)
    upload_key: Mapped[str] = mapped_column(String(32), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))  # receiving | stored | refused
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    footage_id: Mapped[int | None] = mapped_column(ForeignKey("footage.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    request: Mapped[FootageRequest] = relationship(back_populates="uploads")
    footage: Mapped[Footage | None] = relationship("Footage")
