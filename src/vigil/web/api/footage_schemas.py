"""Response bodies of the footage, analysis and track operations of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from vigil.analysis.review import FootageStatus
from vigil.db.models import AnalysisJob, Footage, Track
from vigil.web.api.schemas import Reply, Request
from vigil.web.jobs import percent


def _names(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


class AnalyseRequest(Request):
    force: bool = Field(
        False,
        description="Analyse again even if already done: a new run; the earlier run's tracks that carry review "
        "marks are kept (superseded), the others deleted. Needs case and purpose.",
    )
    case: str | None = Field(None, max_length=64, description="Case reference (required with force).")
    purpose: str | None = Field(None, max_length=1000, description="Policing purpose (required with force).")


class JobReply(Reply):
    id: int = Field(description="Job id.")
    footage_id: int = Field(description="The footage being analysed.")
    status: str = Field(description="queued, running, done or failed.")
    progress_frames: int = Field(description="Frames read so far.")
    total_frames: int = Field(description="Frames in the footage (0 if unknown).")
    percent: float | None = Field(description="Progress 0-100, or null while the number of frames is unknown.")
    tracks_written: int = Field(description="Tracks stored so far.")
    created_at: datetime = Field(description="When the job was started (UTC).")
    finished_at: datetime | None = Field(description="When it finished (UTC), if it has.")
    error: str | None = Field(description="Why it failed, if it did.")

    @classmethod
    def of(cls, job: AnalysisJob) -> JobReply:
        return cls(
            id=job.id,
            footage_id=job.footage_id,
            status=job.status,
            progress_frames=job.progress_frames,
            total_frames=job.total_frames,
            percent=percent(job),
            tracks_written=job.tracks_written,
            created_at=job.created_at,
            finished_at=job.finished_at,
            error=job.error,
        )


class FootageReply(Reply):
    id: int = Field(description="Footage id.")
    camera: str = Field(description="Code of the camera that recorded it.")
    original_name: str = Field(description="The file's name when it was submitted (for display only).")
    sha256: str = Field(description="SHA-256 of the stored original.")
    size_bytes: int = Field(description="Size of the original.")
    container: str = Field(description="Container format, as FFmpeg names it.")
    codec: str = Field(description="Video codec.")
    width: int = Field(description="Frame width in pixels.")
    height: int = Field(description="Frame height in pixels.")
    fps: float = Field(description="Frames per second.")
    duration_s: float = Field(description="Duration in seconds.")
    frame_count: int | None = Field(description="Number of frames, if known.")
    start_time: datetime = Field(description="Recording start (UTC).")
    start_time_source: str = Field(description="Where the start time came from: operator, metadata or file mtime.")
    ingested_at: datetime = Field(description="When it was stored (UTC).")
    case: str | None = Field(description="Case it is held for, if any.")
    analysable: bool = Field(description="Whether its camera's location has a current PIA (needed for analysis).")
    analysis: JobReply | None = Field(description="The latest analysis job, if any.")

    @classmethod
    def of(cls, footage: Footage, job: AnalysisJob | None, analysable: bool) -> FootageReply:
        return cls(
            id=footage.id,
            camera=footage.camera.code,
            original_name=footage.original_name,
            sha256=footage.sha256,
            size_bytes=footage.size_bytes,
            container=footage.container,
            codec=footage.codec,
            width=footage.width,
            height=footage.height,
            fps=footage.fps,
            duration_s=footage.duration_s,
            frame_count=footage.frame_count,
            start_time=footage.start_time,
            start_time_source=footage.start_time_source,
            ingested_at=footage.ingested_at,
            case=footage.case.reference if footage.case else None,
            analysable=analysable,
            analysis=JobReply.of(job) if job else None,
        )

    @classmethod
    def of_status(cls, status: FootageStatus) -> FootageReply:
        return cls.of(status.footage, status.job, status.analysable)


class IngestReply(Reply):
    footage: FootageReply = Field(description="The stored footage (the earlier record for a duplicate).")
    duplicate: bool = Field(description="True when the same bytes were already stored; nothing new was kept.")
    warnings: list[str] = Field(description="Things to check, e.g. where the start time came from.")


class TrackReply(Reply):
    track_no: int = Field(description="Number of the track within its footage.")
    class_name: str = Field(description="Object class, e.g. person, bicycle, car.")
    first_seen: datetime = Field(description="First time it was seen (UTC).")
    last_seen: datetime = Field(description="Last time it was seen (UTC).")
    first_frame: int = Field(description="First frame (from 0).")
    last_frame: int = Field(description="Last frame.")
    upper_colours: list[str] = Field(description="Colour names of the upper body (people), most prominent first.")
    lower_colours: list[str] = Field(description="Colour names of the lower body (people).")
    body_colours: list[str] = Field(description="Colour names of a vehicle's body.")
    carried: list[str] = Field(description="Bags or other objects carried (people).")
    heading: str = Field(description="Overall direction: compass point if the camera bearing is known, else image.")
    heading_deg: float | None = Field(description="Heading in degrees from north, if the camera bearing is known.")
    speed_px_s: float = Field(description="Typical speed in pixels per second.")
    speed_m_s: float | None = Field(description="Typical speed in metres per second, if calibrated.")
    height_px: float = Field(description="Typical height in pixels.")
    height_m: float | None = Field(description="Estimated height in metres, if calibrated.")
    dwell_s: float = Field(description="Seconds spent nearly still.")
    score: float = Field(description="Mean detector confidence.")

    @classmethod
    def of(cls, track: Track) -> TrackReply:
        return cls(
            track_no=track.track_no,
            class_name=track.class_name,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            first_frame=track.first_frame,
            last_frame=track.last_frame,
            upper_colours=_names(track.upper_colours),
            lower_colours=_names(track.lower_colours),
            body_colours=_names(track.body_colours),
            carried=_names(track.carried),
            heading=track.heading,
            heading_deg=track.heading_deg,
            speed_px_s=track.speed_px_s,
            speed_m_s=track.speed_m_s,
            height_px=track.height_px,
            height_m=track.height_m,
            dwell_s=track.dwell_s,
            score=track.score,
        )
