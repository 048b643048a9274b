"""Playable copies: planned at ingest, made by remux or transcode, the original untouched, deleted by retention."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import shared_data_dir
from tests.footage.builders import make_video
from tests.support.builders import make_camera, make_user
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, CustodyEvent, Footage, PlayableCopy, User
from vigil.db.session import session_scope
from vigil.footage.custody import footage_path
from vigil.footage.ingest import ingest_footage
from vigil.footage.playable import (
    COPY_NAME,
    FAILED,
    ORIGINAL,
    PREPARING,
    QUEUED,
    READY,
    REMUX,
    TRANSCODE,
    CopyMaker,
    copy_path,
    make_copy,
    plan_copy,
    prepare_copy,
)
from vigil.footage.storage import sha256_of
from vigil.governance.retention import FootageRule, run_retention
from vigil.settings import Settings
from vigil.system import System, open_system, prepare

VIDEOS = {
    "h264.mp4": {"codec": "libx264"},
    "h264.avi": {"codec": "libx264"},
    "h264.mkv": {"codec": "libx264"},
    "h264.ts": {"codec": "libx264", "container_format": "mpegts"},
    "vp9.webm": {"codec": "libvpx-vp9"},
    "mpeg4.avi": {"codec": "mpeg4"},
    "mpeg4.mp4": {"codec": "mpeg4"},
    "mjpeg.avi": {"codec": "mjpeg", "pix_fmt": "yuvj420p"},
    "h264-444.mp4": {"codec": "libx264", "pix_fmt": "yuv444p"},
}


@pytest.mark.parametrize(
    ("name", "plan"),
    [
        ("h264.mp4", ORIGINAL),
        ("vp9.webm", ORIGINAL),
        ("h264.avi", REMUX),  # the same frames in an MP4: seconds, no loss
        ("h264.mkv", REMUX),
        ("h264.ts", REMUX),
        ("mpeg4.avi", TRANSCODE),  # browsers decode no MPEG-4 Part 2
        ("mpeg4.mp4", TRANSCODE),
        ("mjpeg.avi", TRANSCODE),
        ("h264-444.mp4", TRANSCODE),  # browsers decode 4:2:0 only
    ],
)
def test_the_plan_follows_what_browsers_can_decode(tmp_path: Path, name: str, plan: str) -> None:
    assert plan_copy(make_video(tmp_path / name, size=(64, 48), **VIDEOS[name])) == plan  # type: ignore[arg-type]


@pytest.fixture
def system(settings: Settings) -> Iterator[System]:
    """A database of the test's own (a SQLite file): copies are made in sessions other than the test's."""
    built = open_system(settings)
    prepare(built)
    with session_scope(built.sessions) as db:
        make_user(db, "ivy", trained_for=("analytics",))
        make_camera(db, "PEN-01")
    yield built
    built.close()


@pytest.fixture
def sessions(system: System) -> sessionmaker[Session]:
    return system.sessions


@pytest.fixture
def db(system: System) -> Iterator[Session]:
    with system.sessions() as session:
        yield session


def _ingest(db: Session, settings: Settings, path: Path) -> Footage:
    user = db.execute(select(User).where(User.username == "ivy")).scalar_one()
    return ingest_footage(db, settings=settings, user=user, source_path=path, camera_code="PEN-01").footage


@pytest.mark.parametrize(("name", "method"), [("h264.avi", REMUX), ("mjpeg.avi", TRANSCODE)])
def test_a_copy_is_made_in_the_background_and_the_original_is_untouched(
    db: Session, settings: Settings, sessions: sessionmaker[Session], tmp_path: Path, name: str, method: str
) -> None:
    video = make_video(tmp_path / name, size=(96, 64), fps=10, seconds=3, **VIDEOS[name])  # type: ignore[arg-type]
    footage = _ingest(db, settings, video)
    record = db.get(PlayableCopy, footage.id)
    assert record is not None and (record.status, record.method, record.percent) == (QUEUED, method, 0.0)
    custody_before = db.execute(select(CustodyEvent.id, CustodyEvent.sha256)).all()
    db.commit()

    assert prepare_copy(sessions, data_dir=settings.data_dir, footage_id=footage.id) == READY
    db.expire_all()
    record = db.get(PlayableCopy, footage.id)
    assert record is not None and (record.status, record.method, record.percent) == (READY, method, 100.0)
    copy = copy_path(settings.data_dir, record)
    assert copy == (settings.data_dir / "derived" / str(footage.id) / COPY_NAME).resolve()
    with av.open(str(copy)) as made:
        stream = made.streams.video[0]
        assert (made.format.name.split(",")[0], stream.codec_context.name) == ("mov", "h264")
        assert sum(1 for _ in made.decode(stream)) == 30
        assert made.duration is not None and made.duration / 1e6 == pytest.approx(3.0, abs=0.15)
    assert sha256_of(footage_path(settings, footage)) == footage.sha256 == sha256_of(video)  # evidence untouched
    assert db.execute(select(CustodyEvent.id, CustodyEvent.sha256)).all() == custody_before
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "footage.playable_copy")).scalar_one()
    assert (entry.actor, entry.subject_id, entry.outcome) == ("system", str(footage.id), "ok")
    assert sorted(p.name for p in copy.parent.iterdir()) == [COPY_NAME]  # no partial file left


@pytest.mark.data
def test_the_pets_avi_is_remuxed_with_every_frame_and_its_true_length(
    db: Session, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    vtest = shared_data_dir() / "pets09-s2l1" / "vtest.avi"
    if not vtest.exists():
        pytest.skip(f"{vtest} is not available")
    footage = _ingest(db, settings, vtest)
    db.commit()
    assert prepare_copy(sessions, data_dir=settings.data_dir, footage_id=footage.id) == READY
    record = db.get(PlayableCopy, footage.id)
    assert record is not None and record.method == REMUX
    copy = copy_path(settings.data_dir, record)
    assert copy is not None
    with av.open(str(copy)) as made:
        assert made.streams.video[0].frames == 795 and made.duration is not None
        assert made.duration / 1e6 == pytest.approx(79.5, abs=0.2)


def test_an_mp4_the_browser_plays_gets_no_copy(db: Session, settings: Settings, tmp_path: Path) -> None:
    footage = _ingest(db, settings, make_video(tmp_path / "clip.mp4", codec="libx264"))
    record = db.get(PlayableCopy, footage.id)
    assert record is not None and record.status == ORIGINAL
    assert not (settings.data_dir / "derived" / str(footage.id)).exists()


def test_an_interrupted_copy_leaves_no_partial_and_is_finished_after_a_restart(
    db: Session, settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    footage = _ingest(db, settings, make_video(tmp_path / "clip.avi", codec="mpeg4", size=(96, 64), seconds=3))
    db.commit()
    stop = threading.Event()
    stop.set()  # the app is shutting down
    assert prepare_copy(sessions, data_dir=settings.data_dir, footage_id=footage.id, stop=stop) == PREPARING
    folder = settings.data_dir / "derived" / str(footage.id)
    assert list(folder.iterdir()) == []
    maker = CopyMaker(sessions, settings.data_dir)  # the next start
    try:
        assert maker.resume() == [footage.id]
        maker.wait(timeout=60)
    finally:
        maker.shutdown()
    db.expire_all()
    record = db.get(PlayableCopy, footage.id)
    assert record is not None and record.status == READY and copy_path(settings.data_dir, record) is not None


def test_a_copy_that_cannot_be_made_is_marked_failed_with_its_reason(
    db: Session, settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    footage = _ingest(db, settings, make_video(tmp_path / "clip.avi", codec="mpeg4", size=(96, 64)))
    db.commit()
    stored = footage_path(settings, footage)
    stored.chmod(0o640)
    stored.write_bytes(b"\0" * 64)  # the stored file is damaged (verify would report it)
    assert prepare_copy(sessions, data_dir=settings.data_dir, footage_id=footage.id) == FAILED
    db.expire_all()
    record = db.get(PlayableCopy, footage.id)
    assert record is not None and record.status == FAILED and record.error
    assert list((settings.data_dir / "derived" / str(footage.id)).iterdir()) == []


def test_retention_deletes_the_copy_with_the_footage(
    db: Session, settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    footage = _ingest(db, settings, make_video(tmp_path / "clip.avi", codec="mpeg4", size=(96, 64)))
    db.commit()
    assert prepare_copy(sessions, data_dir=settings.data_dir, footage_id=footage.id) == READY
    copy = settings.data_dir / "derived" / str(footage.id) / COPY_NAME
    assert copy.is_file()
    later = utcnow() + timedelta(days=settings.retention.footage_days + 1)
    run_retention(db, rules=[FootageRule(data_dir=settings.data_dir, days=settings.retention.footage_days)],
                  data_dir=settings.data_dir, now=later)  # fmt: skip
    assert not copy.exists() and db.get(PlayableCopy, footage.id) is None


def test_a_remuxed_copy_starts_at_zero_as_analysis_times_it(tmp_path: Path) -> None:
    """MPEG-TS starts its clock part-way (0.2 s here); analysis times frames from the first, so must the copy."""
    source = make_video(tmp_path / "h264.ts", size=(64, 48), fps=10, seconds=2, **VIDEOS["h264.ts"])  # type: ignore[arg-type]
    with av.open(str(source)) as original:
        assert (original.streams.video[0].start_time or 0) > 0
    target = tmp_path / "copy.mp4"
    assert make_copy(source, target, method=REMUX, progress=lambda done: None) == REMUX
    with av.open(str(target)) as made:
        times = [frame.time for frame in made.decode(video=0)]
    assert times[0] == 0.0 and len(times) == 20 and times[-1] == pytest.approx(1.9)
