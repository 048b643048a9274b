"""Live track storage: provisional rows replaced at each refresh (a marked one kept), final rows on the segment
the track was first seen in, and a lost segment's tracks moved (re-timed, thumbnails too) onto the next one."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import make_footage
from tests.support.builders import make_camera, make_case, make_user
from vigil.db.base import utcnow
from vigil.db.models import Camera, Footage, ReviewMark, Track
from vigil.db.session import session_scope
from vigil.domain.tracks import FinishedTrack, TrackObservations, TrackSummary
from vigil.governance.access import make_context
from vigil.governance.users import get_user
from vigil.live.tracks import RESERVED_SOURCE, LiveTrackStore, OpenSegment, adopt_reserved
from vigil.search.query.service import run_search
from vigil.search.query.track_query import TrackQuery
from vigil.system import System, open_system, prepare

CASE = make_context("CUM-2026-000700", "live monitoring of the square: follow people as they pass")


def make_finished(track_no: int, *, start: float = 1.0) -> FinishedTrack:
    """A person seen for 0.4 s from ``start`` seconds after the analyser's origin, in analysed pixels."""
    t = np.array([start, start + 0.2, start + 0.4])
    boxes = np.array([[10, 20, 30, 80], [12, 20, 32, 80], [14, 20, 34, 80]], dtype=np.float32)
    observations = TrackObservations(np.arange(3, dtype=np.int64), t, boxes, np.full(3, 0.9, dtype=np.float32))
    summary = TrackSummary(
        class_name="person",
        height_px=60.0,
        path=((start, 20.0, 80.0), (start + 0.4, 24.0, 80.0)),
        thumbnail=np.full((60, 20, 3), 128, dtype=np.uint8),
    )
    return FinishedTrack(track_no, observations, summary)


def build(tmp_path: Path) -> tuple[System, LiveTrackStore]:
    system = open_system(make_settings(tmp_path / "data"))
    prepare(system)
    with session_scope(system.sessions) as db:
        make_user(db, "recorder", "operator", trained_for=("analytics",))
        analyst = make_user(db, "analyst", "investigator", trained_for=("analytics",))
        make_case(db, CASE.case_ref, members=[analyst])
        make_camera(db, "CAM-T", pia_review=date.today() + timedelta(days=100))
    store = LiveTrackStore("CAM-T", "recorder", {}, system.settings.data_dir, ZoneInfo("Europe/London"), scale=2.0)
    return system, store


def found(db: Session) -> list[int]:
    """The track ids the real search returns for the camera."""
    analyst = get_user(db, "analyst")
    return [card.track_id for card in run_search(db=db, user=analyst, context=CASE, query=TrackQuery()).cards]


def test_provisional_rows_are_replaced_at_each_refresh_but_a_marked_one_is_kept_out_of_search(tmp_path: Path) -> None:
    system, store = build(tmp_path)
    origin = utcnow() - timedelta(seconds=5)
    segment = OpenSegment(origin, 960, 720, 25.0, "h264")
    with session_scope(system.sessions) as db:
        assert store.write(db, origin=origin, final=[], provisional=[make_finished(0)], segment=segment)
        first = found(db)
        assert len(first) == 1
        db.add(ReviewMark(case_id=1, track_id=first[0], verdict="unsure", marked_by_id=1))
        db.flush()
        store.write(db, origin=origin, final=[], provisional=[make_finished(0)], segment=segment)
        second = found(db)
        assert len(second) == 1 and second != first  # replaced: one result, not two
        kept = db.get(Track, first[0])
        assert kept is not None and kept.superseded and kept.track_no < 0  # the marked row and its verdict stay
        assert db.execute(select(ReviewMark).where(ReviewMark.track_id == first[0])).scalar_one()
        store.write(db, origin=origin, final=[make_finished(7)], provisional=[], segment=segment)
        (final,) = [db.get(Track, i) for i in found(db)]
        assert final is not None and final.track_no == 7
        assert len(db.execute(select(Track).where(Track.track_no < 0)).scalars().all()) == 1  # only the marked one


def test_a_final_track_without_a_segment_to_belong_to_is_not_written(tmp_path: Path) -> None:
    system, store = build(tmp_path)
    origin = utcnow()
    with session_scope(system.sessions) as db:
        placed = store.write(db, origin=origin, final=[make_finished(1)], provisional=[], segment=None)
        assert not placed and not db.execute(select(Track)).first()  # kept by the caller until it can be placed


def test_a_lost_segments_tracks_move_onto_the_next_segment_retimed_with_their_thumbnails(tmp_path: Path) -> None:
    system, store = build(tmp_path)
    data = system.settings.data_dir
    origin = utcnow() - timedelta(seconds=30)
    lost = OpenSegment(origin, 960, 720, 25.0, "h264")  # its worker was killed: the recording never closed
    with session_scope(system.sessions) as db:
        assert store.write(db, origin=origin, final=[make_finished(3, start=2.0)], provisional=[], segment=lost)
        track = db.execute(select(Track)).scalar_one()
        reserved = db.get(Footage, track.footage_id)
        assert reserved is not None and reserved.source == RESERVED_SOURCE
        reserved_id = reserved.id
        assert track.first_seen == origin + timedelta(seconds=2.0) and track.first_frame == 50  # 2 s at 25 fps
        assert track.observations[0].x0 == 20.0 and track.height_px == 120.0  # analysed pixels x 2
        assert (data / str(track.thumbnail_path)).is_file()
        video = tmp_path / "next.mp4"
        video.write_bytes(b"the next segment's bytes")
        following = make_footage(
            db,
            camera=track.camera,
            user=get_user(db, "recorder"),
            video=video,
            data_dir=data,
            start=origin + timedelta(seconds=10),
        )
        moved = adopt_reserved(db, footage=following, ended_at=origin + timedelta(seconds=20), data_dir=data)
        assert moved == 1
        db.expire_all()
        track = db.execute(select(Track)).scalar_one()
        assert track.footage_id == following.id and db.get(Footage, reserved_id) is None
        assert track.first_seen == origin + timedelta(seconds=2.0)  # the moment is unchanged ...
        assert track.observations[0].t == -8.0  # ... 8 s before the next segment starts
        assert track.first_frame == round(-8.0 * following.fps)
        assert str(track.thumbnail_path).startswith(f"derived/{following.id}/")
        assert (data / str(track.thumbnail_path)).is_file() and not (data / "derived" / str(reserved_id)).exists()


def test_the_segment_still_recording_is_not_listed_as_footage_nor_drawn_on(tmp_path: Path) -> None:
    """Its placeholder row carries searchable tracks, but it has no file yet: the footage register leaves it out
    and the live rules' still comes from the newest segment actually recorded."""
    from vigil.analysis.review import footage_register
    from vigil.analysis.stills import newest_footage

    system, store = build(tmp_path)
    origin = utcnow() - timedelta(seconds=5)
    with session_scope(system.sessions) as db:
        video = tmp_path / "seg.mp4"
        video.write_bytes(b"an earlier segment's bytes")
        camera = db.execute(select(Camera).where(Camera.code == "CAM-T")).scalar_one()
        recorder = get_user(db, "recorder")
        start = origin - timedelta(seconds=60)
        recorded = make_footage(
            db, camera=camera, user=recorder, video=video, data_dir=system.settings.data_dir, start=start
        )
        segment = OpenSegment(origin, 960, 720, 25.0, "h264")
        assert store.write(db, origin=origin, final=[], provisional=[make_finished(0)], segment=segment)
        placeholder = db.execute(select(Footage).where(Footage.source == RESERVED_SOURCE)).scalar_one()
        assert found(db)  # its track is searchable ...
        listed = [entry.footage.id for entry in footage_register(db, user=get_user(db, "analyst")).entries]
        assert placeholder.id not in listed and recorded.id in listed  # ... but it is not listed as footage
        for force_only in (True, False):  # the rule's still and the camera page's still alike
            newest = newest_footage(db, placeholder.camera_id, force_only=force_only)
            assert newest is not None and newest.id == recorded.id
