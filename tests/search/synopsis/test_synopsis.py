"""Video synopsis: real analysed footage from two times on one camera rendered into one short video."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.builders import make_camera, make_user
from vigil.db.models import AuditEntry, Case, Footage, Track, User
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.search.synopsis.plan import SynopsisOptions, Tube, plan_synopsis
from vigil.search.synopsis.service import SynopsisResult, render_synopsis, resolve_click, synopsis_file, view_synopsis
from vigil.settings import Settings

CONTEXT = AuditContext(case_ref="CUM-2026-000417", purpose="identify the man in the red top seen near the market")
HOUR = timedelta(hours=1)


def two_times(db: Session, settings: Settings) -> tuple[list[Footage], User]:
    """The crossing scene analysed at 14:00 and (a slightly longer take) at 14:30 on camera PEN-01."""
    first = analysed_footage(db, settings, start=SCENE_START)
    second = analysed_footage(db, settings, start=SCENE_START + timedelta(minutes=30), scene_frames=70)
    return [first, second], make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref,))


def render(db: Session, settings: Settings, user: User, **kwargs: Any) -> SynopsisResult:
    request: dict[str, Any] = {"camera_code": "PEN-01", "start": SCENE_START, "end": SCENE_START + HOUR}
    request.update(kwargs)
    return render_synopsis(db=db, user=user, context=CONTEXT, settings=settings, **request)


def decoded(path: Path) -> list[np.ndarray[Any, np.dtype[np.uint8]]]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def intersects(a: list[float], b: list[float]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_tubes_from_two_times_play_together_without_overlapping(db: Session, settings: Settings) -> None:
    footage, user = two_times(db, settings)
    result = render(db, settings, user)
    data = json.loads(result.sidecar.read_text())
    tracks = list(db.execute(select(Track).order_by(Track.id)).scalars())
    assert len(tracks) == 4 and {t.footage_id for t in tracks} == {f.id for f in footage}
    assert result.length_s < sum(f.duration_s for f in footage)
    assert result.tracks == 4 and {t["id"] for t in data["tracks"]} == {t.id for t in tracks}
    shown = {box[0] for frame in data["boxes"] for box in frame}
    assert shown == {t.id for t in tracks}
    together = [frame for frame in data["boxes"] if len({box[0] for box in frame}) > 1]
    assert together, "no two objects from different times are ever shown at once"
    assert any(len({t.footage_id for t in tracks if t.id in {b[0] for b in f}}) == 2 for f in together)
    for frame in data["boxes"]:
        for i, a in enumerate(frame):
            assert not any(intersects(a[1:5], b[1:5]) for b in frame[i + 1 :]), frame
    assert all(t["collisions"] == 0 for t in data["tracks"])
    images = decoded(result.video)
    assert len(images) == result.frames == data["frames"] == len(data["boxes"])
    assert images[0].shape == (240, 320, 3) and result.size == (320, 240)


def test_the_red_topped_figure_is_seen_where_the_click_map_says(db: Session, settings: Settings) -> None:
    _, user = two_times(db, settings)
    result = render(db, settings, user)
    data, images = json.loads(result.sidecar.read_text()), decoded(result.video)
    red_ids = {t.id for t in db.execute(select(Track).where(Track.upper_colours.contains("red"))).scalars()}
    assert len(red_ids) == 2
    seen: list[float] = []
    for index, frame in enumerate(data["boxes"]):
        for track_id, x0, y0, x1, y1, _ in frame:
            if track_id not in red_ids or x1 < 130 or x0 > 300:  # clear of the pillar and the picture's edge
                continue
            top = images[index][y0 + (y1 - y0) // 6 : (y0 + y1) // 2, x0:x1].astype(int)
            red = (top[..., 2] > 150) & (top[..., 1] < 100) & (top[..., 0] < 100)
            seen.append(float(red.mean()))
    assert len(seen) >= 20
    # the figure is fully red-topped except where the yellow one walks in front of it in the original
    assert sum(share > 0.3 for share in seen) >= 0.8 * len(seen), seen


def test_a_click_on_an_object_resolves_to_its_track_and_original_moment(db: Session, settings: Settings) -> None:
    _, user = two_times(db, settings)
    result = render(db, settings, user)
    data = json.loads(result.sidecar.read_text())
    tracks = {t.id: t for t in db.execute(select(Track)).scalars()}
    clicks = 0
    for index in range(0, len(data["boxes"]), 7):
        for track_id, x0, y0, x1, y1, source_t in data["boxes"][index]:
            target = resolve_click(data, t=(index + 0.5) / data["fps"], x=(x0 + x1) / 2, y=(y0 + y1) / 2)
            assert target is not None and (target.track_id, target.source_t) == (track_id, source_t)
            track = tracks[track_id]
            observed = [o.t for o in track.observations]
            assert min(observed) - 1e-6 <= source_t <= max(observed) + 1e-6
            near = min(track.observations, key=lambda o: abs(o.t - source_t))
            if abs(near.t - source_t) < 0.05:  # at an observation the click map's box is the observed box
                assert [x0, y0, x1, y1] == [round(v) for v in (near.x0, near.y0, near.x1, near.y1)]
            clicks += 1
    assert clicks >= 10
    assert resolve_click(data, t=0.0, x=1, y=1) is None


def test_a_render_is_audited_and_the_same_request_reuses_its_files(db: Session, settings: Settings) -> None:
    _, user = two_times(db, settings)
    first = render(db, settings, user)
    modified = first.video.stat().st_mtime_ns
    again = render(db, settings, user)
    assert (again.key, again.reused, first.reused) == (first.key, True, False)
    assert again.video.stat().st_mtime_ns == modified
    assert first.video.parent == settings.data_dir / "derived" / "synopses"
    entries = db.execute(select(AuditEntry).where(AuditEntry.action == "synopsis.render")).scalars().all()
    assert len(entries) == 2
    details = json.loads(entries[0].details)
    assert (entries[0].actor, entries[0].case_ref, entries[0].purpose) == ("ivy", CONTEXT.case_ref, CONTEXT.purpose)
    assert details == {
        "camera": "PEN-01",
        "from": SCENE_START.isoformat(),
        "to": (SCENE_START + HOUR).isoformat(),
        "tracks": 4,
    }


def test_only_the_chosen_tracks_are_shown_and_written_where_asked(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    _, user = two_times(db, settings)
    red_ids = sorted(t.id for t in db.execute(select(Track).where(Track.upper_colours.contains("red"))).scalars())
    result = render(db, settings, user, track_ids=red_ids, out_path=tmp_path / "out.mp4")
    data = json.loads((tmp_path / "out.json").read_text())
    assert {box[0] for frame in data["boxes"] for box in frame} == set(red_ids)
    assert (tmp_path / "out.mp4").read_bytes() == result.video.read_bytes()
    assert len(decoded(tmp_path / "out.mp4")) == result.frames


@pytest.mark.parametrize(
    ("request_change", "error", "message"),
    [
        ({"camera_code": "NOPE-9"}, NotFound, "no camera 'NOPE-9'"),
        ({"end": SCENE_START}, InvalidInput, "the end of the range must be after its start"),
        ({"end": SCENE_START - HOUR}, InvalidInput, "the end of the range must be after its start"),
        ({"end": SCENE_START + timedelta(days=40)}, InvalidInput, "at most 31 days"),
        ({"start": datetime(2024, 5, 1, 14, 0)}, InvalidInput, "need a time zone"),
        ({"start": SCENE_START + 2 * HOUR, "end": SCENE_START + 3 * HOUR}, InvalidInput, "nothing to show"),
        ({"camera_code": "KES-02"}, InvalidInput, "nothing to show: camera KES-02 has no tracks"),
        ({"track_ids": [987654]}, InvalidInput, "nothing to show: camera PEN-01 has no tracks among the 1"),
    ],
)
def test_bad_requests_get_clear_errors_and_no_files(
    db: Session, settings: Settings, request_change: dict[str, Any], error: type[Exception], message: str
) -> None:
    analysed_footage(db, settings, start=SCENE_START)
    make_camera(db, "KES-02")
    user = make_user(db, "ivy", trained_for=("analytics",), cases=(CONTEXT.case_ref,))
    with pytest.raises(error, match=message):
        render(db, settings, user, **request_change)
    folder = settings.data_dir / "derived" / "synopses"
    assert not folder.exists() or not any(folder.iterdir())
    assert not db.execute(select(AuditEntry).where(AuditEntry.action == "synopsis.render")).scalars().all()


def test_an_untrained_user_is_refused_and_the_refusal_audited(db: Session, settings: Settings) -> None:
    analysed_footage(db, settings, start=SCENE_START)
    ned = make_user(db, "ned")
    with pytest.raises(NotPermitted):
        render(db, settings, ned)
    [refusal] = db.execute(select(AuditEntry).where(AuditEntry.action == "synopsis.render")).scalars().all()
    assert (refusal.actor, refusal.outcome) == ("ned", "refused")


def walker(track_id: int, seen_s: float, *, x_from: float, x_to: float, seconds: float = 6.0) -> Tube:
    times = np.linspace(0.0, seconds, 13)
    xs = np.linspace(x_from, x_to, 13)
    boxes = np.stack([xs, np.full(13, 100.0), xs + 14, np.full(13, 140.0)], axis=1)
    origin = datetime(2024, 5, 1, 14, 0, tzinfo=UTC) + timedelta(seconds=seen_s)
    return Tube(track_id, track_id, origin, times, boxes)


def test_the_plan_lets_walkers_share_the_screen_and_never_exceeds_the_target() -> None:
    options = SynopsisOptions()
    same_way = [walker(i, 600.0 * i, x_from=20, x_to=280) for i in range(1, 4)]
    plan = plan_synopsis(same_way, frame_size=(320, 240), max_length_s=120, options=options)
    assert [p.collisions for p in plan.placements] == [0, 0, 0]
    assert plan.length_s < 3 * 6.0 and [p.tube.track_id for p in plan.placements] == [1, 2, 3]
    starts = [p.offset_s for p in plan.placements]
    assert starts == sorted(starts) and starts[0] == 0.0
    crowd = [walker(i, 60.0 * i, x_from=20, x_to=280) for i in range(40)]
    crowded = plan_synopsis(crowd, frame_size=(320, 240), max_length_s=20.0, options=options)
    assert crowded.length_s <= 20.0 + 1e-9 and sum(p.collisions for p in crowded.placements) > 0


def test_a_synopsis_showing_a_deleted_track_is_removed_not_served(db: Session, settings: Settings) -> None:
    _, user = two_times(db, settings)
    result = render(db, settings, user)
    shown = view_synopsis(db, settings=settings, user=user, context=CONTEXT, key=result.key)
    assert shown.video == result.video and shown.frames == result.frames
    assert (
        synopsis_file(db, settings=settings, user=user, context=CONTEXT, key=result.key, kind="json") == result.sidecar
    )
    [view] = db.execute(select(AuditEntry).where(AuditEntry.action == "synopsis.view")).scalars().all()
    assert (view.subject_type, view.subject_id, view.case_ref) == ("synopsis", result.key, CONTEXT.case_ref)
    db.delete(db.execute(select(Track).limit(1)).scalar_one())  # as retention deletes footage and its tracks
    db.flush()
    with pytest.raises(NotFound, match="render it again"):
        synopsis_file(db, settings=settings, user=user, context=CONTEXT, key=result.key, kind="mp4")
    assert not result.video.exists() and not result.sidecar.exists()
    with pytest.raises(NotFound):
        view_synopsis(db, settings=settings, user=user, context=CONTEXT, key="../../etc/passwd")


def test_footage_held_for_another_case_is_left_out_of_the_synopsis(db: Session, settings: Settings) -> None:
    """F6: the 14:30 footage is held for another case, so a synopsis for this case shows only the 14:00 tubes."""
    footage, user = two_times(db, settings)
    make_user(db, "olly", cases=("CUM-2026-000999",))
    footage[1].case_id = db.execute(select(Case.id).where(Case.reference == "CUM-2026-000999")).scalar_one()
    db.flush()
    result = render(db, settings, user)
    shown = {t["id"] for t in json.loads(result.sidecar.read_text())["tracks"]}
    mine = set(db.execute(select(Track.id).where(Track.footage_id == footage[0].id)).scalars())
    assert result.tracks == 2 and shown == mine
