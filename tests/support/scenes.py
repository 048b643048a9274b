"""Generated scenes for tracking and pipeline tests: coloured figures walking over a textured ground.


:func:`crossing_scene` draws two figures (red top / blue trousers, and yellow top / green trousers) that walk
towards each other and cross, the second in front of the first; the first passes behind a grey pillar for
about half a second on the way. Every
frame comes with its ground-truth boxes (``None`` while a figure is hidden). :class:`BlobDetector` is a real
(if simple) detector on those pixels: saturated blobs of figure size are "persons", so motion gating and crops
are exercised end to end without a neural network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigil.domain.detections import Detections, Frame

WIDTH, HEIGHT, FPS = 320, 240, 10.0
FIGURE_W, FIGURE_H = 14, 40
PILLAR = (100, 60, 122, 200)
"""x0, y0, x1, y1 of the occluder."""
COLOURS = (((40, 40, 220), (200, 80, 30)), ((40, 220, 230), (60, 170, 40)))
"""(top, trousers) BGR of figure 0 and figure 1."""


@dataclass(frozen=True)
class SceneFrame:
    frame: Frame
    boxes: tuple[tuple[float, float, float, float] | None, ...]
    """Ground-truth box of each figure, None while hidden or absent."""


def _background(seed: int = 7) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    ground = rng.integers(90, 130, size=(HEIGHT, WIDTH, 1), dtype=np.uint8).repeat(3, axis=2)
    return np.asarray(cv2.GaussianBlur(ground, (5, 5), 0), dtype=np.uint8)


def _draw(
    image: npt.NDArray[np.uint8], box: tuple[float, float, float, float], colours: tuple[tuple[int, ...], ...]
) -> None:
    x0, y0, x1, y1 = (round(v) for v in box)
    middle = (y0 + y1) // 2
    cv2.rectangle(image, (x0, y0 + 6), (x1 - 1, middle), colours[0], -1)
    cv2.rectangle(image, (x0 + 2, middle), (x1 - 3, y1 - 1), colours[1], -1)
    cv2.circle(image, ((x0 + x1) // 2, y0 + 4), 4, (120, 150, 200), -1)


def crossing_scene(frames: int = 60, *, idle_before: int = 0, idle_after: int = 0) -> list[SceneFrame]:
    """Two figures crossing (see the module docstring), with optional empty frames before and after."""
    background = _background()
    result = []
    total = idle_before + frames + idle_after
    for index in range(total):
        image = background.copy()
        boxes: list[tuple[float, float, float, float] | None] = [None, None]
        k = index - idle_before
        if 0 <= k < frames:
            x_a = 40 + 240 * k / (frames - 1)
            x_b = 270 - 230 * k / (frames - 1)
            box_a = (x_a, 120.0 + 0.2 * k, x_a + FIGURE_W, 120.0 + 0.2 * k + FIGURE_H)
            box_b = (x_b, 126.0, x_b + FIGURE_W, 126.0 + FIGURE_H)
            _draw(image, box_a, COLOURS[0])
            _draw(image, box_b, COLOURS[1])
            boxes = [box_a, box_b]
        cv2.rectangle(image, PILLAR[:2], (PILLAR[2] - 1, PILLAR[3] - 1), (128, 128, 128), -1)
        visible = tuple(b if b is not None and not _hidden(b, PILLAR) else None for b in boxes)
        if boxes[0] is not None and boxes[1] is not None and _hidden(boxes[0], boxes[1]):
            visible = (None, visible[1])  # figure 1 walks in front of figure 0
        result.append(SceneFrame(Frame(image, index / FPS, index), visible))
    return result


def _hidden(box: tuple[float, float, float, float], front: tuple[float, ...]) -> bool:
    """Mostly behind ``front`` (side by side, in x)."""
    overlap = max(0.0, min(box[2], front[2]) - max(box[0], front[0]))
    return overlap > 0.5 * (box[2] - box[0])


def write_video(scene: list[SceneFrame], path: Path) -> Path:
    """The scene as an H.264 MP4 (PyAV), for tests of the decoding frame source and the job runner."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for item in scene:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(item.frame.image, format="bgr24")))
        out.mux(stream.encode(None))
    return path


class BlobDetector:
    """Finds saturated figure-sized blobs and reports them as persons; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(
        self,
        frame: npt.NDArray[np.uint8],
        *,
        roi: tuple[int, int, int, int] | None = None,
        input_size: int | None = None,
    ) -> Detections:
        self.calls += 1
        x0, y0, x1, y1 = roi if roi is not None else (0, 0, frame.shape[1], frame.shape[0])
        hsv = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
        mask = ((hsv[..., 1] > 120) & (hsv[..., 2] > 60)).astype(np.uint8)
        mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 3), np.uint8)), dtype=np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = []
        for left, top, w, h, area in stats[1:count].tolist():
            if h >= 15 and w >= 5 and area >= 60:
                boxes.append([x0 + left, y0 + top - 8, x0 + left + w, y0 + top + h])
        if not boxes:
            return Detections.empty()
        xyxy = np.array(boxes, dtype=np.float32)
        return Detections(xyxy, np.full(len(boxes), 0.9, np.float32), np.zeros(len(boxes), np.int32))


def write_keyframed_video(path: Path, keyframe_every: int) -> int:
    """The crossing scene as H.264 with a keyframe every ``keyframe_every`` frames; its frame count."""
    import av

    scene = crossing_scene(60, idle_before=10, idle_after=30)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        gop = str(keyframe_every)
        stream.options = {"crf": "12", "preset": "veryfast", "g": gop, "keyint_min": gop, "sc_threshold": "0"}
        for item in scene:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(item.frame.image, format="bgr24")))
        out.mux(stream.encode(None))
    return len(scene)
