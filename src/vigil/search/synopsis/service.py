"""Video synopsis: an hour of a camera's footage shown in a couple of minutes, objects from different times together.

For a camera and a time range (optionally only the tracks a search returned) every track becomes a tube of boxes
over time; :mod:`vigil.search.synopsis.plan` chooses when each tube starts in the synopsis so tubes overlap as
little as the target length allows, and :mod:`vigil.search.synopsis.render` pastes each object's own pixels over a
median background, labels it with its real local time and track id, and writes an H.264 MP4 plus a click map: a
click at (time, x, y) on the synopsis resolves to the track and its moment in the original footage
(:func:`resolve_click`), which the review page then plays. Every object shown is only a candidate for a person
to review.

A synopsis is a footage view: it needs the analytics capability with a stated case and purpose and is audited as
``synopsis.render`` (camera, range, track count). The files are derived data under
``data_dir/derived/synopses/``, named by a hash of the request and the tracks it selected, so the same request
is rendered once and reused; the result page is audited as ``synopsis.view`` and its video and click map are
authorised the same way but not audited request by request.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from vigil.db.base import utcnow
from vigil.db.models import Camera, Footage, Observation, Track, User
from vigil.domain.cameras import camera_code as normal_code
from vigil.errors import InvalidInput, NotFound
from vigil.footage.custody import footage_path
from vigil.governance import audit
from vigil.governance.access import authorise, current_training, ensure_case
from vigil.governance.audit import AuditContext
from vigil.governance.cameras.register import CameraStatus, camera_statuses
from vigil.governance.roles import Capability, role_grants_capability
from vigil.search.query.filters import other_cases_footage
from vigil.search.synopsis import render
from vigil.search.synopsis.plan import Plan, SynopsisOptions, Tube, plan_synopsis, target_length
from vigil.settings import Settings

RENDER_VERSION = 1
MAX_RANGE = timedelta(days=31)
MAX_TRACKS = 20_000
OBSERVATION_CHUNK = 500
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class SynopsisResult:
    key: str
    video: Path
    sidecar: Path
    frames: int
    fps: float
    size: tuple[int, int]
    length_s: float
    tracks: int
    reused: bool  # an identical earlier render was served
    render_s: float  # wall time of this call's render (0 when reused)


@dataclass(frozen=True)
class ClickTarget:
    track_id: int
    source_t: float  # seconds from the start of the track's footage


def synopsis_folder(settings: Settings) -> Path:
    return settings.data_dir / "derived" / "synopses"


@dataclass(frozen=True)
class PreparedSynopsis:
    """An authorised, audited synopsis request with everything its render needs (no database session)."""

    key: str
    folder: Path
    tubes: list[Tube]
    sources: dict[int, render.Source]
    range_s: float
    options: SynopsisOptions
    zone: ZoneInfo
    meta: dict[str, str]

    def cached(self) -> SynopsisResult | None:
        """An identical earlier render, if its files are still there."""
        return _cached(self.folder, self.key)

    def render(self) -> SynopsisResult:
        """The earlier render, or a new one (CPU-heavy: seconds to a minute per hour of footage)."""
        return self.cached() or _render(self)


def render_synopsis(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    camera_code: str,
    start: datetime,
    end: datetime,
    track_ids: Sequence[int] | None = None,
    out_path: Path | None = None,
    settings: Settings,
    now: datetime | None = None,
    options: SynopsisOptions | None = None,
) -> SynopsisResult:
    """Render (or reuse) the synopsis of a camera's tracks in ``[start, end)``; audited as ``synopsis.render``."""
    prepared = prepare_synopsis(
        db=db,
        user=user,
        context=context,
        camera_code=camera_code,
        start=start,
        end=end,
        track_ids=track_ids,
        settings=settings,
        now=now,
        options=options,
    )
    result = prepared.render()
    if out_path is not None:
        _copy_out(result, out_path)
    return result


def synopsis_cameras(db: Session, *, user: User, today: date) -> list[CameraStatus] | None:
    """The cameras the synopsis form offers, or None for a user who may not make a synopsis (role or training):
    the form must not hand the force's camera list to someone who cannot use it."""
    allowed = (
        user.is_active
        and role_grants_capability(user.role, Capability.ANALYTICS)
        and current_training(db, user=user, capability=Capability.ANALYTICS, today=today) is not None
    )
    return camera_statuses(db, today=today) if allowed else None


def prepare_synopsis(
    *,
    db: Session,
    user: User,
    context: AuditContext,
    camera_code: str,
    start: datetime,
    end: datetime,
    track_ids: Sequence[int] | None = None,
    settings: Settings,
    now: datetime | None = None,
    options: SynopsisOptions | None = None,
) -> PreparedSynopsis:
    """Check and audit a synopsis request (``synopsis.render``) and select its tracks; render it afterwards."""
    now = now or utcnow()
    authorise(db, user=user, capability=Capability.ANALYTICS, action="synopsis.render", context=context, now=now)
    check_range(start, end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    camera = db.execute(select(Camera).where(Camera.code == normal_code(camera_code))).scalar_one_or_none()
    if camera is None:
        raise NotFound(f"no camera {camera_code!r}")
    case_id = ensure_case(db, reference=context.case_ref, user=user).id
    tubes = tubes_of(db, _tracks(db, camera, start, end, track_ids, case_id), start, end)
    if not tubes:
        asked = f" among the {len(set(track_ids))} tracks asked for" if track_ids else ""
        raise InvalidInput(f"nothing to show: camera {camera.code} has no tracks{asked} between {start} and {end}")
    options = options or SynopsisOptions()
    span = {"camera": camera.code, "from": start.isoformat(), "to": end.isoformat()}
    prepared = PreparedSynopsis(
        key=_key(camera, start, end, tubes, options),
        folder=synopsis_folder(settings),
        tubes=tubes,
        sources=_sources(db, settings, {t.footage_id for t in tubes}),
        range_s=(end - start).total_seconds(),
        options=options,
        zone=settings.zone,
        meta=span,
    )
    audit.record(
        db,
        actor=user.username,
        action="synopsis.render",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="camera",
        subject_id=camera.id,
        details={**span, "tracks": len(tubes)},
        now=now,
    )
    return prepared


def check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("the start and end of a synopsis need a time zone")
    if end <= start:
        raise InvalidInput("the end of the range must be after its start")
    if end - start > MAX_RANGE:
        raise InvalidInput(f"a synopsis covers at most {MAX_RANGE.days} days; narrow the range")


def parse_local(value: str, field: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 date/time; without an offset it is local time in the force's time zone."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a date/time (use ISO 8601, e.g. 2024-05-01T14:00)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def parse_track_ids(value: str | None) -> list[int] | None:
    """A comma-separated list of track ids (``1,2,3``), or None when not given."""
    if value is None or not value.strip():
        return None
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"tracks: {value!r} is not a list of track ids (e.g. 12,15,31)") from None
    if not ids or any(i < 1 or i > 2**31 - 1 for i in ids):
        raise InvalidInput(f"tracks: {value!r} is not a list of track ids (e.g. 12,15,31)")
    return ids


def _tracks(
    db: Session, camera: Camera, start: datetime, end: datetime, track_ids: Sequence[int] | None, case_id: int
) -> list[Track]:
    """The camera's tracks in the range, leaving out footage held for a case other than ``case_id``."""
    stmt = (
        select(Track)
        .where(Track.camera_id == camera.id, Track.first_seen < end, Track.last_seen >= start)
        .where(other_cases_footage(case_id))
        .options(selectinload(Track.footage))
        .order_by(Track.first_seen, Track.id)
    )
    if track_ids is not None:
        stmt = stmt.where(Track.id.in_(sorted(set(track_ids))))
    else:
        stmt = stmt.where(Track.superseded.is_(False))
    tracks = list(db.execute(stmt.limit(MAX_TRACKS + 1)).scalars())
    if len(tracks) > MAX_TRACKS:
        raise InvalidInput(f"more than {MAX_TRACKS} tracks in this range; narrow it or choose tracks from a search")
    return tracks


def tubes_of(db: Session, tracks: Sequence[Track], start: datetime, end: datetime) -> list[Tube]:
    """The tracks' observations within ``[start, end)`` as tubes (tracks with none there are left out).

    Observations are read as plain rows, in chunks of tracks: an hour of a busy camera has hundreds of thousands.
    """
    rows: dict[int, list[tuple[float, float, float, float, float]]] = {t.id: [] for t in tracks}
    ids = list(rows)
    columns = (Observation.track_id, Observation.t, Observation.x0, Observation.y0, Observation.x1, Observation.y1)
    for at in range(0, len(ids), OBSERVATION_CHUNK):
        chunk = ids[at : at + OBSERVATION_CHUNK]
        for track_id, t, x0, y0, x1, y1 in db.execute(select(*columns).where(Observation.track_id.in_(chunk))):
            rows[track_id].append((t, x0, y0, x1, y1))
    tubes = []
    for track in tracks:
        origin = track.footage.start_time
        low, high = (start - origin).total_seconds(), (end - origin).total_seconds()
        kept = sorted(row for row in rows[track.id] if low <= row[0] < high)
        if kept:
            array = np.array(kept, dtype=np.float64)
            _, first = np.unique(array[:, 0], return_index=True)  # one box per time
            array = array[first]
            tubes.append(Tube(track.id, track.footage_id, origin, array[:, 0].copy(), array[:, 1:].copy()))
    return tubes


def _key(camera: Camera, start: datetime, end: datetime, tubes: list[Tube], options: SynopsisOptions) -> str:
    request = {
        "version": RENDER_VERSION,
        "camera": camera.id,
        "range": [start.isoformat(), end.isoformat()],
        "tracks": sorted(t.track_id for t in tubes),
        "observations": sum(len(t.times) for t in tubes),
        "options": options.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:32]


def _sources(db: Session, settings: Settings, footage_ids: set[int]) -> dict[int, render.Source]:
    sources = {}
    for footage in db.execute(select(Footage).where(Footage.id.in_(sorted(footage_ids)))).scalars():
        path = footage_path(settings, footage)
        if not path.is_file():
            raise NotFound(
                f"the stored file of footage {footage.id} is missing; run `vigil footage verify {footage.id}`"
            )
        size = (footage.width, footage.height)
        sources[footage.id] = render.Source(footage.id, path, footage.fps, size, footage.start_time)
    return sources


def _render(request: PreparedSynopsis) -> SynopsisResult:
    tubes, sources, options, folder, key = request.tubes, request.sources, request.options, request.folder, request.key
    began = time.perf_counter()
    per_tube = Counter(sources[t.footage_id] for t in tubes)
    main = per_tube.most_common(1)[0][0]
    size, fps = render.even_size(main.size), main.fps
    plan = plan_synopsis(
        tubes, frame_size=main.size, max_length_s=target_length(request.range_s, tubes, options), options=options
    )
    shown = render.schedule(plan, sources, fps=fps, size=size, zone=request.zone)
    needed = render.sprite_bytes(shown)
    if needed > options.max_sprite_mb * 2**20:
        raise InvalidInput(
            f"this synopsis needs {needed / 2**20:.0f} MiB of object cut-outs (allowed {options.max_sprite_mb}); "
            "narrow the range or choose tracks from a search"
        )
    backgrounds = {str(path): render.background_of(path) for path in {s.path for s in sources.values()}}
    background = _common_background(list(backgrounds.values()), size)
    sprites = render.collect_sprites(shown, backgrounds)
    labels = render.LabelPainter(size[1])
    folder.mkdir(parents=True, exist_ok=True)
    video, sidecar = folder / f"{key}.mp4", folder / f"{key}.json"
    partial = folder / f".{key}.{os.getpid()}.partial.mp4"
    try:
        count = render.encode(
            (render.compose(background, items, sprites, labels) for items in shown), partial, fps=fps, size=size
        )
        os.replace(partial, video)
    finally:
        partial.unlink(missing_ok=True)
    data = {**request.meta, **_click_data(plan, shown, fps=fps, size=size, count=count)}
    _write_json(sidecar, data)
    return _result(key, video, sidecar, data, reused=False, render_s=time.perf_counter() - began)


def _click_data(
    plan: Plan, shown: list[list[render.Appearance]], *, fps: float, size: tuple[int, int], count: int
) -> dict[str, Any]:
    """The sidecar: the video's geometry, each tube's placement and the per-frame click map."""
    return {
        "version": RENDER_VERSION,
        "fps": fps,
        "width": size[0],
        "height": size[1],
        "frames": count,
        "length_s": round(count / fps, 3),
        "tracks": [
            {
                "id": p.tube.track_id,
                "footage_id": p.tube.footage_id,
                "first_seen": p.tube.first_seen.isoformat(),
                "start_s": round(p.tube.start_s, 3),
                "offset_s": round(p.offset_s, 3),
                "collisions": p.collisions,
            }
            for p in plan.placements
        ],
        "boxes": render.click_map(shown),
    }


def _common_background(images: list[render.Image], size: tuple[int, int]) -> render.Image:
    resized = [
        img if (img.shape[1], img.shape[0]) == size else np.asarray(cv2.resize(img, size), dtype=np.uint8)
        for img in images
    ]
    if len(resized) == 1:
        return resized[0].copy()
    return np.asarray(np.median(np.stack(resized[:25]), axis=0), dtype=np.uint8)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(partial, path)


def _cached(folder: Path, key: str) -> SynopsisResult | None:
    video, sidecar = folder / f"{key}.mp4", folder / f"{key}.json"
    if not (video.is_file() and sidecar.is_file()):
        return None
    return _result(key, video, sidecar, json.loads(sidecar.read_text()), reused=True, render_s=0.0)


def _result(
    key: str, video: Path, sidecar: Path, data: dict[str, Any], *, reused: bool, render_s: float
) -> SynopsisResult:
    return SynopsisResult(
        key=key,
        video=video,
        sidecar=sidecar,
        frames=int(data["frames"]),
        fps=float(data["fps"]),
        size=(int(data["width"]), int(data["height"])),
        length_s=float(data["length_s"]),
        tracks=len(data["tracks"]),
        reused=reused,
        render_s=render_s,
    )


def _copy_out(result: SynopsisResult, out_path: Path) -> None:
    try:
        shutil.copyfile(result.video, out_path)
        shutil.copyfile(result.sidecar, out_path.with_suffix(".json"))
    except OSError as exc:
        raise InvalidInput(f"cannot write {out_path}: {exc.strerror}") from None


def resolve_click(click_map: dict[str, Any], *, t: float, x: float, y: float) -> ClickTarget | None:
    """The object under a click at ``t`` seconds into the synopsis at synopsis pixel (x, y), topmost first."""
    frames = click_map["boxes"]
    index = min(len(frames) - 1, max(0, int(t * float(click_map["fps"]) + 1e-6)))
    for track_id, x0, y0, x1, y1, source_t in reversed(frames[index]):
        if x0 <= x <= x1 and y0 <= y <= y1:
            return ClickTarget(int(track_id), float(source_t))
    return None


def view_synopsis(db: Session, *, settings: Settings, user: User, context: AuditContext, key: str) -> SynopsisResult:
    """A rendered synopsis for its page, audited as ``synopsis.view``."""
    now = utcnow()
    authorise(db, user=user, capability=Capability.ANALYTICS, action="synopsis.view", context=context, now=now)
    result = _existing(db, settings, key)
    audit.record(
        db,
        actor=user.username,
        action="synopsis.view",
        capability=Capability.ANALYTICS.value,
        context=context,
        subject_type="synopsis",
        subject_id=key,
        now=now,
    )
    return result


def synopsis_file(
    db: Session, *, settings: Settings, user: User, context: AuditContext, key: str, kind: Literal["mp4", "json"]
) -> Path:
    """The video (``mp4``) or click map (``json``) of a synopsis for a page already audited (checked, not audited)."""
    authorise(db, user=user, capability=Capability.ANALYTICS, action="synopsis.view", context=context)
    result = _existing(db, settings, key)
    return result.video if kind == "mp4" else result.sidecar


def _existing(db: Session, settings: Settings, key: str) -> SynopsisResult:
    """A rendered synopsis whose tracks all still exist; one showing deleted tracks (footage past its retention)
    is removed, since it holds their pixels."""
    result = _cached(synopsis_folder(settings), key) if KEY_PATTERN.match(key) else None
    if result is not None:
        ids = {int(t["id"]) for t in json.loads(result.sidecar.read_text())["tracks"]}
        held = db.execute(select(func.count(Track.id)).where(Track.id.in_(sorted(ids)))).scalar_one()
        if held != len(ids):
            result.video.unlink(missing_ok=True)
            result.sidecar.unlink(missing_ok=True)
            result = None
    if result is None:
        raise NotFound(f"no synopsis {key!r}; render it again from the synopsis page")
    return result
