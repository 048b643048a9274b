"""Live deployments running in threads against a real SQLite file: alerts pushed to a subscriber, and the
non-match rule checked in the data folder, the database file and the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import make_settings, shared_data_dir
from tests.faces.live_support import (
    CAMERA,
    NOW,
    enrolled_watchlist,
    file_sources,
    grace_video,
    operator,
    planned_deployment,
)
from vigil.db.face_models import Alert, Deployment, Enrolment
from vigil.db.models import User
from vigil.faces.images import read_photo
from vigil.faces.live import stop_deployment
from vigil.faces.live_control import go_live
from vigil.faces.live_runtime import AlertBroker, LiveRuntime
from vigil.faces.watchlists import SubjectForm, add_subjects, create_subject, create_watchlist, enrol_photos
from vigil.system import System, open_system, prepare
from vigil.vision.faces.recognizer import FaceRecognizer, default_recognizer


@pytest.fixture(scope="module")
def recognizer() -> FaceRecognizer:
    return default_recognizer(threads=1)


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    system = open_system(make_settings(tmp_path / "data"))
    prepare(system)
    yield system
    system.close()


def _runtime(
    system: System, recognizer: FaceRecognizer, broker: AlertBroker | None = None, *, realtime: bool = False
) -> LiveRuntime:
    return LiveRuntime(
        sessions=system.sessions,
        data_dir=system.settings.data_dir,
        make_recognizer=lambda: recognizer,
        broker=broker,
        realtime=realtime,
        clock=lambda: NOW + timedelta(minutes=1),
    )


def _go_live(system: System, runtime: LiveRuntime, deployment_id: int) -> None:
    """As the console's Start button and a command do: the service, then the edge's commit starts the streams."""
    with system.sessions() as db:
        olive = db.execute(select(User).where(User.username == "olive")).scalar_one()
        sources = file_sources(system.settings.data_dir)
        go_live(db, runtime=runtime, user=olive, deployment_id=deployment_id, sources=sources, now=NOW)
        assert runtime.running(deployment_id) == [], "nothing is read before the start is committed"
        db.commit()
    assert runtime.running(deployment_id), "the commit started the streams"


def test_a_start_that_is_not_committed_reads_no_camera(
    system: System, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    with system.sessions() as db:
        user = operator(db)
        watchlist = enrolled_watchlist(db, system.settings, recognizer, user)
        deployment_id = planned_deployment(db, user, watchlist, grace_video(tmp_path)).id
        db.commit()
    runtime = _runtime(system, recognizer)
    with system.sessions() as db:
        olive = db.execute(select(User).where(User.username == "olive")).scalar_one()
        sources = file_sources(system.settings.data_dir)
        go_live(db, runtime=runtime, user=olive, deployment_id=deployment_id, sources=sources, now=NOW)
        db.rollback()  # e.g. the request failed after the service returned
        db.commit()  # a later commit on the same session must not start the abandoned deployment either
    assert runtime.running(deployment_id) == []
    with system.sessions() as db:
        deployment = db.get(Deployment, deployment_id)
        assert deployment is not None and deployment.status == "planned"


def _wait(runtime: LiveRuntime, deployment_id: int) -> None:
    for worker in runtime.running(deployment_id):
        assert worker.thread is not None
        worker.thread.join(timeout=120)
    runtime.stop(deployment_id)


def test_an_alert_is_stored_and_pushed_to_the_console_subscriber(
    system: System, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    with system.sessions() as db:
        user = operator(db)
        watchlist = enrolled_watchlist(db, system.settings, recognizer, user)
        deployment_id = planned_deployment(db, user, watchlist, grace_video(tmp_path)).id
        db.commit()
    broker = AlertBroker()
    runtime = _runtime(system, recognizer, broker, realtime=True)  # as fast as decoding, the face could be skipped

    states: list[dict[str, Any]] = []

    async def watch() -> dict[str, Any]:
        queue = broker.subscribe(deployment_id)
        await asyncio.to_thread(_go_live, system, runtime, deployment_id)
        try:
            while True:  # the stream's state changes come too ("receiving"); the alert is what this waits for
                event = await asyncio.wait_for(queue.get(), timeout=60)
                if event["type"] == "stream":
                    states.append(event)
                if event["type"] == "alert":
                    return event
        finally:
            broker.unsubscribe(deployment_id, queue)

    event = asyncio.run(watch())
    _wait(runtime, deployment_id)
    with system.sessions() as db:
        [alert] = db.execute(select(Alert)).scalars().all()
        deployment = db.get(Deployment, deployment_id)
        assert deployment is not None and deployment.faces_seen >= 1
        assert (event["type"], event["id"], event["camera"]) == ("alert", alert.id, CAMERA)
        assert event["score"] >= 0.5 and (system.settings.data_dir / str(alert.crop_path)).is_file()
        assert alert.outcome == "pending"
    assert states[0] == {"type": "stream", "camera": CAMERA, "state": "receiving", "detail": ""}
    assert runtime.stream_states(deployment_id) == {}, "stopped deployments are no longer listed"


HAMILTON = "faces-face_recognition/examples/short_hamilton_clip.mp4"
OBAMA = "faces-face_recognition/examples/obama.jpg"


def _clip_embeddings(recognizer: FaceRecognizer, clip: Path) -> list[bytes]:
    """Every face embedding of every frame of the clip, as the bytes a careless system would have stored."""
    found = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            analysis = recognizer.analyse(np.asarray(frame.to_ndarray(format="bgr24"), np.uint8))
            found.extend(vector.astype(np.float32).tobytes() for vector in analysis.embeddings)
    return found


@pytest.mark.data
def test_faces_that_match_no_one_leave_no_trace(
    system: System, recognizer: FaceRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    clip, probe = shared_data_dir() / HAMILTON, shared_data_dir() / OBAMA
    if not clip.is_file() or not probe.is_file():
        pytest.skip("shared face data absent")
    data_dir = system.settings.data_dir
    with system.sessions() as db:
        user = operator(db)
        form = SubjectForm(
            "MISPER-7",
            "missing",
            "Missing person at risk, last seen in Penrith",
            "MISPER 7",
            NOW.date() + timedelta(days=90),
        )
        create_subject(db, user=user, form=form, now=NOW)
        enrol_photos(
            db,
            settings=system.settings,
            user=user,
            recognizer=recognizer,
            subject_ref="MISPER-7",
            photos=[("obama.jpg", read_photo(probe, max_mb=20))],
            now=NOW,
        )
        create_watchlist(db, user=user, name="obama-only", kind="deployment", now=NOW)
        add_subjects(db, user=user, watchlist_name="obama-only", subject_refs=["MISPER-7"], now=NOW)
        # The best of the clip's faces scores about 0.50 against this photo: 0.6 is a realistic operating threshold.
        deployment_id = planned_deployment(db, user, "obama-only", clip, threshold=0.6).id
        enrolment = db.execute(select(Enrolment)).scalar_one()
        enrolled_bytes = bytes(enrolment.embedding)
        db.commit()
    files_before = {p for p in data_dir.rglob("*") if p.is_file()}
    runtime = _runtime(system, recognizer)
    caplog.set_level(logging.DEBUG)
    _go_live(system, runtime, deployment_id)
    _wait(runtime, deployment_id)
    with system.sessions() as db:
        stop_deployment(
            db,
            user=db.execute(select(User).where(User.username == "olive")).scalar_one(),
            deployment_id=deployment_id,
            now=NOW + timedelta(hours=1),
        )
        db.commit()
        deployment = db.get(Deployment, deployment_id)
        assert deployment is not None and deployment.faces_seen >= 2, "the clip's faces were seen and counted"
        assert db.execute(select(Alert)).scalars().all() == []
    system.engine.dispose()

    new_files = {p for p in data_dir.rglob("*") if p.is_file()} - files_before
    assert {p.name for p in new_files} <= {"vigil.db-wal", "vigil.db-shm"}, f"files written: {new_files}"
    stored = b"".join(p.read_bytes() for p in data_dir.glob("vigil.db*"))
    assert enrolled_bytes in stored, "control: an embedding that is stored can be found this way"
    clip_vectors = _clip_embeddings(recognizer, clip)
    assert len(clip_vectors) > 100
    leaked = [v for v in clip_vectors if v[:32] in stored]
    assert leaked == [], "no embedding of a face seen by the deployment is in the database"
    assert not [r for r in caplog.records if r.name.startswith("vigil")], "nothing about faces was logged"
