"""Tables of live cameras (issue 12): each camera's health, the gaps in its recording and its recorded segments.

* ``live_health``: one row per camera, written by its worker process at most every few seconds (and at once on
  a change of state), read by `vigil live status` and the /live page.
* ``live_gaps``: a time the camera was not recorded (disconnection, a worker that died, a write error), from
  the end of the last recorded segment to the start of the next; ``ended_at`` is empty while the gap is open.
* ``live_segments``: the footage records a worker recorded, in order, each naming the segment before it.
  Deleted with the footage (retention) by the database's cascade.
* ``live_views``: a camera-wall view session: who watches live, for what purpose and case (stated once).
* ``live_bookmarks``: a moment of a camera an operator marked for a case; the segment(s) covering it are kept
  beyond footage retention while the case is held.
* ``live_checkpoints``: one row per analysed camera, the live analyser's saved state (vigil.live.analysis),
  written in the same transaction as the tracks finished since the previous one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vigil.db.base import Base, UTCDateTime, utcnow


class LiveHealth(Base):
    __tablename__ = "live_health"

    camera_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    """connecting | online | offline | error | stopped"""
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    recording: Mapped[str] = mapped_column(String(16), default="continuous")
    codec: Mapped[str] = mapped_column(String(32), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    fps: Mapped[float] = mapped_column(Float, default=0.0)
    last_frame_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    drops: Mapped[int] = mapped_column(Integer, default=0)
    lag_s: Mapped[float] = mapped_column(Float, default=0.0)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    worker_pid: Mapped[int] = mapped_column(Integer, default=0)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    node: Mapped[str] = mapped_column(String(80), default="", server_default="")
    """The Ray node the camera's actor runs on (``address node-id``, see :func:`vigil.cluster.cameras.node_name`);
    empty on the local engine."""
    analysis: Mapped[str] = mapped_column(String(16), default="off", server_default="off")
    """on | off | error (live analysis of the stream; the reason of an error is in ``reason``)"""
    analysed_fps: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    tracks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Tracks the live analysis finished and stored so far (all workers of the camera)."""
    recording_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """Since when the camera's recording has been failing (disk full, ...): one episode, one notice to the
    supervisors; None once a segment is stored again."""
    recording_failure: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Why the episode began, as the supervisors were told."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveGap(Base):
    __tablename__ = "live_gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_code: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text)


class LiveSegment(Base):
    __tablename__ = "live_segments"

    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id", ondelete="CASCADE"), primary_key=True)
    camera_code: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    previous_footage_id: Mapped[int | None] = mapped_column(
        ForeignKey("footage.id", ondelete="SET NULL"), nullable=True
    )
    previous_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LiveView(Base):
    __tablename__ = "live_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LiveBookmark(Base):
    __tablename__ = "live_bookmarks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_code: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveCheckpoint(Base):
    __tablename__ = "live_checkpoints"

    camera_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin: Mapped[datetime] = mapped_column(UTCDateTime)
    """Wall-clock time of the analyser's t = 0 (its first frame): times survive a restart unchanged."""
    next_index: Mapped[int] = mapped_column(Integer)
    """Number the next analysed frame gets."""
    params: Mapped[str] = mapped_column(Text)
    """The analysis params the state was made with (JSON); a change of them starts afresh."""
    state: Mapped[bytes] = mapped_column(LargeBinary)
    tracks: Mapped[int] = mapped_column(Integer, default=0)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
