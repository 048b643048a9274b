"""Live facial-recognition test inputs: a face photo shipped by an installed package, and videos made from it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

Image = npt.NDArray[np.uint8]


def grace_hopper() -> Image:
    """Grace Hopper's portrait as shipped in matplotlib's sample data (one frontal face)."""
    matplotlib = pytest.importorskip("matplotlib")
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


def face_video(
    path: Path, *, portrait: Image, present: range, frames: int = 30, fps: int = 10, gop: int | None = None
) -> Path:
    """A 640x360 H.264 video over a textured wall; ``portrait`` (scaled to 200 px tall) is in the ``present``
    frames, walking slowly right. With ``gop``: a keyframe every ``gop`` frames and no B-frames, as a CCTV camera
    streams (for the tests' RTSP server)."""
    rng = np.random.default_rng(3)
    wall = np.asarray(cv2.GaussianBlur(rng.integers(60, 120, (360, 640, 3), dtype=np.uint8), (7, 7), 0), np.uint8)
    scale = 200 / portrait.shape[0]
    face = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = face.shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        if gop is not None:
            stream.codec_context.gop_size = gop
            stream.options |= {"bf": "0", "sc_threshold": "0", "keyint_min": str(gop)}
        for index in range(frames):
            image = wall.copy()
            if index in present:
                left = 100 + 4 * index
                image[80 : 80 + h, left : left + w] = face
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode(None))
    return path
