"""Building live deployments for tests through the real services: a subject enrolled from a real face photo, a
deployment watchlist, a force camera whose registered live source is a generated video (file sources allowed, as
only tests and demonstrations may), and a planned deployment watching it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cv2
from sqlalchemy.orm import Session

from tests.faces.live_builders import face_video, grace_hopper
from tests.support.builders import make_camera, make_user
from vigil.db.face_models import Deployment
from vigil.db.models import Camera, User
from vigil.faces.images import decode_photo
from vigil.faces.live import DeploymentPlan, StreamSpec, plan_deployment
from vigil.faces.watchlists import SubjectForm, add_subjects, create_subject, create_watchlist, enrol_photos
from vigil.governance.camera_sources import SourcePolicy, set_source
from vigil.settings import Settings
from vigil.vision.faces.recognizer import FaceRecognizer

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday
NOTICE = "Live facial recognition is in use in Penrith town centre today between 10:00 and 16:00."
SOURCE_KEY = b"r0VJ7Jw3cX2c8b0bVQv4Zq8lH7u2mB9eK1yT5nP6sAo="  # a Fernet key for tests only
CAMERA = "MKT-EAST"


def file_sources(data_dir: Path) -> SourcePolicy:
    """The source policy of a test or demonstration: files may be replayed as cameras (never from ``data_dir``)."""
    return SourcePolicy(key=SOURCE_KEY, data_dir=data_dir, allow_files=True)


def file_camera(db: Session, video: Path, *, code: str = CAMERA, sources: SourcePolicy | None = None) -> Camera:
    """A force camera whose live source is ``video`` (played in real time by its worker, not recorded), registered by
    an administrator through the service."""
    camera = db.query(Camera).filter_by(code=code).one_or_none() or make_camera(db, code)
    admin = db.query(User).filter_by(username="adam").one_or_none() or make_user(db, "adam", "admin")
    policy = sources or file_sources(video.parent / "vigil-data")
    set_source(db, user=admin, camera_code=code, url=str(video), policy=policy, recording="off")
    return camera


def operator(db: Session, name: str = "olive", role: str = "operator") -> User:
    """A live-FR operator, a member of the cases tests link alerts to."""
    return make_user(db, name, role, trained_for=("live_fr",), cases=("CUM-2026-7", "CUM-2026-9"))


def enrolled_watchlist(
    db: Session, settings: Settings, recognizer: FaceRecognizer, user: User, *, name: str = "penrith-2026-11-20"
) -> str:
    """A deployment watchlist holding one subject enrolled from Grace Hopper's portrait (matplotlib sample)."""
    ok, encoded = cv2.imencode(".jpg", grace_hopper())
    assert ok
    photo = decode_photo(encoded.tobytes(), label="grace.jpg", max_mb=20)
    form = SubjectForm(
        reference="WARRANT-0042",
        category="wanted",
        reason="Wanted on warrant for failing to appear at court",
        authority="Warrant 0042, Carlisle Magistrates",
        expires_on=date(2027, 6, 1),
    )
    create_subject(db, user=user, form=form, now=NOW)
    enrol_photos(
        db,
        settings=settings,
        user=user,
        recognizer=recognizer,
        subject_ref="WARRANT-0042",
        photos=[("grace.jpg", photo)],
        now=NOW,
    )
    create_watchlist(db, user=user, name=name, kind="deployment", now=NOW)
    add_subjects(db, user=user, watchlist_name=name, subject_refs=["WARRANT-0042"], now=NOW)
    return name


def planned_deployment(
    db: Session,
    user: User,
    watchlist: str,
    video: Path,
    *,
    sensitive: bool = False,
    name: str = "Penrith market day",
    threshold: float = 0.5,
    camera: str = CAMERA,
) -> Deployment:
    """A deployment watching ``camera``, whose live source becomes ``video``."""
    sources = file_sources(video.parent / "vigil-data")
    file_camera(db, video, code=camera, sources=sources)
    plan = DeploymentPlan(
        name=name,
        location="Penrith, Market Square",
        streams=(StreamSpec(camera=camera),),
        window_start=NOW - timedelta(minutes=5),
        window_end=NOW + timedelta(hours=6),
        watchlist=watchlist,
        threshold=threshold,
        authorising_officer="Supt A. Example",
        public_notice=NOTICE,
        operationally_sensitive=sensitive,
    )
    return plan_deployment(db, user=user, plan=plan, sources=sources, now=NOW)


def grace_video(directory: Path, frames: int = 30) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return face_video(directory / "market.mp4", portrait=grace_hopper(), present=range(5, 25), frames=frames)
