"""The face-watch observer, fed the frames a camera worker hands its observers, against a real SQLite file: the
deployments live on its camera are matched, a face of no one on the watchlist leaves no trace (data folder, database
file, logs), and a deployment whose window closes stops being matched and is ended by the system. The same observer
in a real worker process on a real RTSP stream: tests/faces/test_live_watch_rtsp.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import make_settings, shared_data_dir
from tests.faces.live_builders import face_video, grace_hopper
from tests.faces.live_support import CAMERA, NOTICE, enrolled_watchlist, file_camera, file_sources, operator
from tests.support.clock import SteppedClock
from vigil.db.base import utcnow
from vigil.db.face_models import Alert, Deployment, Enrolment
from vigil.db.models import AuditEntry, User
from vigil.db.session import session_scope
from vigil.domain.clock import SYSTEM_CLOCK, Clock
from vigil.faces.images import read_photo
from vigil.faces.live import DeploymentPlan, StreamSpec, plan_deployment, start_deployment, stop_deployment
from vigil.faces.live_watch import RELOAD, FaceWatch
from vigil.faces.watchlists import SubjectForm, add_subjects, create_subject, create_watchlist, enrol_photos
from vigil.live.observers import LiveFrame
from vigil.system import System, open_system, prepare
from vigil.vision.faces.recognizer import FaceRecognizer, default_recognizer

HAMILTON = "faces-face_recognition/examples/short_hamilton_clip.mp4"
OBAMA = "faces-face_recognition/examples/obama.jpg"


@pytest.fixture(scope="module")
def recognizer() -> FaceRecognizer:
    return default_recognizer(threads=1)


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    system = open_system(make_settings(tmp_path / "data", faces={"allow_file_sources": True}))
    prepare(system)
    yield system
    system.close()


def _frames(video: Path, *, start: datetime) -> Iterator[LiveFrame]:
    """The video's frames as a camera worker hands them to its observers (dated from ``start``)."""
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            image = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
            at = start + timedelta(seconds=float(frame.time or 0.0))
            yield LiveFrame(camera_code=CAMERA, image=image, at=at, scene=None, decoded=frame)


def _live(system: System, watchlist: str, video: Path, *, window: timedelta, threshold: float = 0.5) -> int:
    """A deployment on the camera whose source is ``video``, started now, its window closing after ``window``."""
    with session_scope(system.sessions) as db:
        olive = db.execute(select(User).where(User.username == "olive")).scalar_one()
        sources = file_sources(system.settings.data_dir)
        file_camera(db, video, sources=sources)
        now = utcnow()
        plan = DeploymentPlan(
            name=f"Market {watchlist}",
            location="Penrith, Market Square",
            streams=(StreamSpec(camera=CAMERA),),
            window_start=now - timedelta(minutes=5),
            window_end=now + window,
            watchlist=watchlist,
            threshold=threshold,
            authorising_officer="Supt A. Example",
            public_notice=NOTICE,
        )
        deployment = plan_deployment(db, user=olive, plan=plan, sources=sources)
        start_deployment(db, user=olive, deployment_id=deployment.id)
        return deployment.id


def _watch(system: System, recognizer: FaceRecognizer, clock: Clock = SYSTEM_CLOCK) -> FaceWatch:
    return FaceWatch(
        settings=system.settings,
        sessions=system.sessions,
        camera_code=CAMERA,
        make_recognizer=lambda: recognizer,
        clock=clock,
    )


def test_a_watched_face_is_alerted_once_and_the_closed_window_ends_the_deployment(
    system: System, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    with session_scope(system.sessions) as db:
        enrolled_watchlist(db, system.settings, recognizer, operator(db))
    video = face_video(tmp_path / "market.mp4", portrait=grace_hopper(), present=range(5, 25), frames=30)
    deployment_id = _live(system, "penrith-2026-11-20", video, window=timedelta(hours=2))
    clock = SteppedClock(wakes=0, start=utcnow())
    watch = _watch(system, recognizer, clock)
    for frame in _frames(video, start=clock.now()):
        watch.observe(frame)
    assert list(watch.watching) == [deployment_id]
    with session_scope(system.sessions) as db:
        [alert] = db.execute(select(Alert)).scalars().all()
        assert (alert.deployment_id, alert.camera, alert.outcome) == (deployment_id, CAMERA, "pending")
        assert alert.score >= 0.5 and (system.settings.data_dir / str(alert.crop_path)).is_file()
    assert len(watch.latencies_s) == 1

    clock.current += timedelta(hours=2, seconds=1)  # the window has closed; the face is in view again
    for frame in _frames(video, start=clock.now()):
        watch.observe(frame)
    assert watch.watching == {}, "no more matching once the window has closed"
    watch.close()
    with session_scope(system.sessions) as db:
        deployment = db.get(Deployment, deployment_id)
        assert deployment is not None and deployment.status == "ended" and deployment.faces_seen >= 1
        assert deployment.ended_at == clock.now() and deployment.watchlist is not None
        assert all(entry.embedding is None for entry in deployment.watchlist.entries), "embeddings deleted"
        ended = db.execute(select(AuditEntry).where(AuditEntry.action == "fr.deployment.end")).scalar_one()
        assert ended.actor == "system"
        assert len(db.execute(select(Alert)).all()) == 1, "nothing raised after the window closed"


def test_a_deployment_ended_by_its_operator_is_no_longer_matched(
    system: System, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    with session_scope(system.sessions) as db:
        enrolled_watchlist(db, system.settings, recognizer, operator(db))
    video = face_video(tmp_path / "market.mp4", portrait=grace_hopper(), present=range(5, 25), frames=30)
    deployment_id = _live(system, "penrith-2026-11-20", video, window=timedelta(hours=2))
    clock = SteppedClock(wakes=0, start=utcnow())
    watch = _watch(system, recognizer, clock)
    frames = list(_frames(video, start=clock.now()))
    watch.observe(frames[0])
    assert list(watch.watching) == [deployment_id]
    with session_scope(system.sessions) as db:
        olive = db.execute(select(User).where(User.username == "olive")).scalar_one()
        stop_deployment(db, user=olive, deployment_id=deployment_id)
    clock.current += RELOAD  # the next reload is due
    for frame in frames[1:]:
        watch.observe(frame)
    assert watch.watching == {}
    with session_scope(system.sessions) as db:
        assert db.execute(select(Alert)).first() is None, "the face came into view after the end: no alert"


def test_the_full_picture_is_the_streams_own_resolution() -> None:
    full = np.zeros((1080, 1920, 3), np.uint8)
    full[500:580, 900:1000] = 200
    decoded = av.VideoFrame.from_ndarray(full, format="bgr24")
    scaled = np.asarray(decoded.reformat(width=1280, height=720, format="bgr24").to_ndarray(), np.uint8)
    frame = LiveFrame(camera_code=CAMERA, image=scaled, at=utcnow(), scene=None, decoded=decoded)
    assert frame.full_image.shape == (1080, 1920, 3) and int(frame.full_image[540, 950, 0]) == 200
    assert frame.full_image is frame.full_image, "converted once"
    unscaled = LiveFrame(camera_code=CAMERA, image=full, at=utcnow(), scene=None)
    assert unscaled.full_image is full


@pytest.mark.data
def test_faces_that_match_no_one_leave_no_trace(
    system: System, recognizer: FaceRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    clip, probe = shared_data_dir() / HAMILTON, shared_data_dir() / OBAMA
    if not clip.is_file() or not probe.is_file():
        pytest.skip("shared face data absent")
    data_dir = system.settings.data_dir
    with session_scope(system.sessions) as db:
        user = operator(db)
        form = SubjectForm(
            "MISPER-7",
            "missing",
            "Missing person at risk, last seen in Penrith",
            "MISPER 7",
            utcnow().date() + timedelta(days=90),
        )
        create_subject(db, user=user, form=form)
        photos = [("obama.jpg", read_photo(probe, max_mb=20))]
        enrol_photos(
            db, settings=system.settings, user=user, recognizer=recognizer, subject_ref="MISPER-7", photos=photos
        )
        create_watchlist(db, user=user, name="obama-only", kind="deployment")
        add_subjects(db, user=user, watchlist_name="obama-only", subject_refs=["MISPER-7"])
        enrolled_bytes = bytes(db.execute(select(Enrolment)).scalar_one().embedding)
    # The best of the clip's faces scores about 0.50 against this photo: 0.6 is a realistic operating threshold.
    deployment_id = _live(system, "obama-only", clip, window=timedelta(hours=2), threshold=0.6)
    files_before = {p for p in data_dir.rglob("*") if p.is_file()}
    caplog.set_level(logging.DEBUG)
    watch = _watch(system, recognizer)
    seen: list[bytes] = []
    for index, frame in enumerate(_frames(clip, start=utcnow())):
        if index % 6 == 0:  # 5 frames a second of the 30 fps clip, as the worker hands them over
            watch.observe(frame)
            seen.extend(v.astype(np.float32).tobytes() for v in recognizer.analyse(frame.image).embeddings)
    watch.close()
    with session_scope(system.sessions) as db:
        deployment = db.get(Deployment, deployment_id)
        assert deployment is not None and deployment.faces_seen >= 2, "the clip's faces were seen and counted"
        assert db.execute(select(Alert)).first() is None
    system.engine.dispose()

    new_files = {p for p in data_dir.rglob("*") if p.is_file()} - files_before
    assert {p.name for p in new_files} <= {"vigil.db-wal", "vigil.db-shm"}, f"files written: {new_files}"
    stored = b"".join(p.read_bytes() for p in data_dir.glob("vigil.db*"))
    assert enrolled_bytes in stored, "control: an embedding that is stored can be found this way"
    assert len(seen) > 20
    assert [v for v in seen if v[:32] in stored] == [], "no embedding of a face seen is in the database"
    assert not [r for r in caplog.records if r.name.startswith("vigil")], "nothing about faces was logged"
