"""Builders for the face-service tests: a portrait shipped with matplotlib, shared-data photos, generated videos
with a face pasted into chosen frames, trained users and case footage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy.orm import Session

from tests.conftest import shared_data_dir
from tests.support.analysed import make_footage
from tests.support.builders import make_camera, make_case, make_user
from vigil.db.models import Footage, User
from vigil.faces.images import Photo, decode_photo
from vigil.governance.access import make_context
from vigil.governance.audit import AuditContext

Image = npt.NDArray[np.uint8]
FR = "faces-face_recognition/examples/"
KNN_TRAIN = f"{FR}knn_examples/train"
START = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
PURPOSE = "Identify the suspect of the Market Square robbery"


def hopper() -> Image:
    """Grace Hopper's portrait (600x512, one frontal face, ~84 px between the eyes), shipped with matplotlib."""
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        pytest.skip(f"matplotlib sample image absent: {path}")
    return np.asarray(image, dtype=np.uint8)


def shared_image(relative: str) -> Image:
    path = shared_data_dir() / relative
    if not path.is_file():
        pytest.skip(f"shared data absent: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


def encode(image: Image, ext: str = ".jpg") -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return bytes(data.tobytes())


def photo(image: Image) -> Photo:
    return decode_photo(encode(image, ".png"), label="test", max_mb=20)


def side_by_side(left: Image, right: Image) -> Image:
    height = max(left.shape[0], right.shape[0])
    pad = [cv2.copyMakeBorder(i, 0, height - i.shape[0], 0, 0, cv2.BORDER_CONSTANT) for i in (left, right)]
    return np.ascontiguousarray(np.hstack(pad))


def background(width: int = 640, height: int = 360, seed: int = 3) -> Image:
    rng = np.random.default_rng(seed)
    noise = rng.integers(70, 150, size=(height, width, 1), dtype=np.uint8).repeat(3, axis=2)
    return np.asarray(cv2.GaussianBlur(noise, (7, 7), 0), dtype=np.uint8)


def face_video(
    path: Path,
    face: Image,
    *,
    visible: tuple[float, float],
    seconds: float = 8.0,
    fps: int = 10,
    height: int = 270,
    at: tuple[int, int] = (380, 60),
) -> Path:
    """An H.264 MP4 (640x360) of a still background with ``face`` scaled to ``height`` px and pasted at ``at``
    (cut at the frame's edge) while ``visible[0] <= t < visible[1]``."""
    import av

    scale = height / face.shape[0]
    base = background()
    x, y = at
    small = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = small[: base.shape[0] - y, : base.shape[1] - x]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = base.shape[1], base.shape[0], "yuv420p"
        stream.options = {"crf": "16", "preset": "veryfast"}
        for index in range(round(seconds * fps)):
            frame = base.copy()
            if visible[0] <= index / fps < visible[1]:
                frame[y : y + small.shape[0], x : x + small.shape[1]] = small
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        out.mux(stream.encode(None))
    return path


def footage_of(
    db: Session, *, data_dir: Path, user: User, video: Path, case_ref: str | None, camera: str = "PEN-01"
) -> Footage:
    """A footage record of ``video`` (10 fps), held for ``case_ref`` (or for no case)."""
    from vigil.db.models import Camera

    cam = db.query(Camera).filter_by(code=camera).one_or_none() or make_camera(db, camera)
    footage = make_footage(db, camera=cam, user=user, video=video, data_dir=data_dir, start=START, frame_count=80)
    footage.width, footage.height = 640, 360
    if case_ref:
        footage.case_id = make_case(db, case_ref, members=[user]).id
    db.flush()
    return footage


def fr_user(
    db: Session,
    name: str = "rita",
    role: str = "investigator",
    trained: str = "retrospective_fr",
    cases: tuple[str, ...] = ("CUM-2024-0042",),
) -> User:
    """A user trained for ``trained``, a member of ``cases`` (by default the case of :func:`context`)."""
    return make_user(db, name, role, trained_for=(trained,), cases=cases)


def context(case_ref: str = "CUM-2024-0042") -> AuditContext:
    return make_context(case_ref, PURPOSE)


def future(days: int = 90) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)
