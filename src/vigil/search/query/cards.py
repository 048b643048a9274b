"""What a result card shows about a candidate track (search results, similar tracks): shared by the pages.

The template ``_track_card.html`` renders a :class:`ResultCard`; build one with :func:`result_card` from a
track whose ``camera`` and ``footage`` are loaded, its current verdict for the case (or None) and the force's
time zone (times on cards are local).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo

from vigil.db.models import Track


def _names(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


@dataclass(frozen=True)
class ResultCard:
    track_id: int
    footage_id: int
    track_no: int
    camera_code: str
    camera_name: str
    class_name: str
    first_seen: datetime
    last_seen: datetime
    seen_local: str  # first seen, in the force's time zone, for people to read
    duration_s: float
    offset_s: float  # seconds from the start of the footage, for the clip player
    upper: list[str]
    lower: list[str]
    body: list[str]
    carried: list[str]
    heading: str
    speed: str
    size: str
    has_thumbnail: bool
    verdict: str | None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["first_seen"], data["last_seen"] = self.first_seen.isoformat(), self.last_seen.isoformat()
        return data


def result_card(track: Track, *, verdict: str | None, zone: tzinfo) -> ResultCard:
    speed = f"{track.speed_m_s:.1f} m/s" if track.speed_m_s is not None else f"{track.speed_px_s:.0f} px/s"
    size = f"{track.height_m:.2f} m tall" if track.height_m is not None else f"{track.height_px:.0f} px high"
    local = track.first_seen.astimezone(zone)
    return ResultCard(
        track_id=track.id,
        footage_id=track.footage_id,
        track_no=track.track_no,
        camera_code=track.camera.code,
        camera_name=track.camera.name,
        class_name=track.class_name,
        first_seen=track.first_seen,
        last_seen=track.last_seen,
        seen_local=f"{local:%a %d %b %Y %H:%M:%S} {local.tzname() or ''}".strip(),
        duration_s=round((track.last_seen - track.first_seen).total_seconds(), 1),
        offset_s=round(max(0.0, (track.first_seen - track.footage.start_time).total_seconds()), 2),
        upper=_names(track.upper_colours),
        lower=_names(track.lower_colours),
        body=_names(track.body_colours),
        carried=_names(track.carried),
        heading=track.heading,
        speed=speed,
        size=size,
        has_thumbnail=track.thumbnail_path is not None,
        verdict=verdict,
    )
