"""Tables of live rules and their alerts (issue 12 items 4 and 5).

* ``live_rules``: a rule drawn on a camera's picture (geometry normalised 0..1), with its parameters, the case
  and purpose it serves, its owner and its expiry (at most 31 days ahead, renewable). A rule ended early keeps
  its row (``ended_at``), so its alerts still name it.
* ``live_rule_alerts``: a rule's firing: camera, time, track, a snapshot with the box drawn, a short clip cut from
  the recording (``clip_state`` pending until the segment is ingested), and what the operator decided. Deleted by
  retention after ``retention.live_rule_alert_days`` unless escalated and kept for its case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigil.db.base import Base, UTCDateTime, utcnow
from vigil.db.models import Case, User


class LiveRule(Base):
    __tablename__ = "live_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    camera_code: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """zone_entry | line_crossing | loitering | occupancy | left_behind | appearance_watch | similar_watch"""
    geometry: Mapped[str] = mapped_column(Text)
    """JSON: {"polygon": [[x, y], ...]} or {"line": [[x, y], [x, y]], "direction": ...}, normalised 0..1."""
    params: Mapped[str] = mapped_column(Text)
    """JSON: classes, seconds, count, radius, cooldown_s, schedule; watches: cameras (the first is
    ``camera_code``), description and query (appearance), track, class, threshold and vector (similar)."""
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    case: Mapped[Case] = relationship()
    owner: Mapped[User] = relationship()


class LiveRuleAlert(Base):
    __tablename__ = "live_rule_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("live_rules.id", ondelete="CASCADE"), index=True)
    camera_code: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    track_id: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    boxes: Mapped[str] = mapped_column(Text, default="[]")
    snapshot_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    clip_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    clip_state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending (the segment is still being recorded) | ready | unavailable (not recorded)"""
    clip_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[str] = mapped_column(String(16), default="new", index=True)
    """new | acknowledged | dismissed | escalated"""
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kept_for_case: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rule: Mapped[LiveRule] = relationship()
