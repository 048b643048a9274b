"""Tables of integrated third-party cameras (issue 14): owners' shared live streams and every view of them.

A :class:`SharedCamera` belongs to a registry owner who chose to share its live picture on their terms: its stream
URL is stored only sealed (Fernet, key outside the database) and masked. A :class:`SharedView` is one officer's
time-limited look at one shared camera for one case and purpose; the owner's log is built from these rows, which
name the viewer's role, never the viewer. An "ask me each time" view waits for the owner's one-time approval link
(its token is stored only as a SHA-256 digest).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigil.db.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from vigil.db.models import Case, User
    from vigil.db.registry_models import RegistryOwner


class SharedCamera(Base):
    """An owner's camera whose live picture officers may view on the owner's terms."""

    __tablename__ = "shared_cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("registry_owners.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(100), default="")
    label: Mapped[str] = mapped_column(String(100))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    masked: Mapped[str] = mapped_column(String(600))  # the URL without credentials or query
    sealed: Mapped[str] = mapped_column(Text)  # the full URL, Fernet-encrypted
    terms: Mapped[str] = mapped_column(String(16))  # ask | emergency
    off_from: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "HH:MM" local: sharing off from...
    off_until: Mapped[str | None] = mapped_column(String(5), nullable=True)  # ...until (may pass midnight)
    max_view_minutes: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)  # sharing | paused
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    owner: Mapped[RegistryOwner] = relationship("RegistryOwner")


class SharedView(Base):
    """One officer's view of one shared camera: asked, approved or opened, and ended (who, role, case, when)."""

    __tablename__ = "shared_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(
        ForeignKey("shared_cameras.id", ondelete="SET NULL"), nullable=True, index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("registry_owners.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(Text)
    camera_label: Mapped[str] = mapped_column(String(100))
    emergency: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), index=True)  # awaiting | open | ended | declined | expired
    approval_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    approval_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    minutes: Mapped[float] = mapped_column(Float)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str] = mapped_column(String(200), default="")

    camera: Mapped[SharedCamera | None] = relationship()
    case: Mapped[Case] = relationship("Case")
    user: Mapped[User] = relationship("User")
