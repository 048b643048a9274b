"""Rendering a planned synopsis: background, object cut-outs, labels, H.264 MP4 and the click map.

* **Background**: per stored file, the per-pixel median of about fifteen frames spread over it, so people who
  move vanish. Frames are found by seeking to keyframes; a file with too few keyframes for that (short clips)
  is decoded through once and sampled evenly instead.
* **Cut-outs**: each stored file is decoded once, from its start, up to the last frame any tube needs; at each
  needed frame the box of every tube showing it (plus a margin) is cut out with a soft mask, the difference to the
  file's background thresholded, closed and blurred, then faded out towards the margin, so the background shows
  around the person. Only these cut-outs are kept in memory (identical ones, such as copies of one file, once);
  a render whose cut-outs would exceed the memory allowance is refused before any decoding.
* **Frames**: the background, then every tube active at that synopsis time blended in (in plan order), then a
  label per object with its real local time and its track id. Encoded with PyAV as H.264, yuv420p, even
  dimensions, a keyframe every second and the index at the front (``faststart``) so browsers seek quickly.
* **Click map** (sidecar JSON): per synopsis frame, ``[track_id, x0, y0, x1, y1, source_t]`` of every object
  shown, boxes in synopsis pixels, ``source_t`` in seconds from the start of the track's footage.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigil.errors import InvalidInput
from vigil.footage.video import open_video
from vigil.search.synopsis.plan import Placement, Plan

Image = npt.NDArray[np.uint8]
SpriteKey = tuple[str, int, int, int, int, int]
"""(stored file, frame index, x0, y0, x1, y1): a cut-out of one source frame, box with margin, source pixels."""
BACKGROUND_SAMPLES = 15
MIN_KEYFRAME_SAMPLES = 5
MAX_SAMPLING_FRAMES = 20_000
"""A file with too few keyframes is decoded through to sample its background only up to this many frames."""
MASK_THRESHOLD, MASK_RAMP = 18, 30
"""A pixel differing from the background by THRESHOLD (max over BGR) starts to show, fully at THRESHOLD+RAMP."""


@dataclass(frozen=True)
class Source:
    """A footage as the render sees it: its stored file, rate, frame size and recording start."""

    footage_id: int
    path: Path
    fps: float
    size: tuple[int, int]
    start: datetime


class Appearance(NamedTuple):
    """One object in one synopsis frame (a named tuple: a busy hour has hundreds of thousands)."""

    track_id: int
    sprite: SpriteKey
    paste: tuple[int, int, int, int]  # where the cut-out goes, synopsis pixels
    box: tuple[int, int, int, int]  # the object's box, synopsis pixels (for the click map and the label)
    source_t: float  # seconds from the start of its footage
    label: str


@dataclass
class Sprite:
    pixels: Image
    alpha: npt.NDArray[np.float32]  # 0..1, same height and width
    keep: npt.NDArray[np.float32]  # 1 - alpha: how much of what is under it stays


def schedule(
    plan: Plan, sources: dict[int, Source], *, fps: float, size: tuple[int, int], zone: ZoneInfo
) -> list[list[Appearance]]:
    """For every synopsis frame, the objects it shows (in plan order: later placements drawn on top)."""
    frames = max(1, math.ceil(plan.length_s * fps - 1e-6) + 1)
    shown: list[list[Appearance]] = [[] for _ in range(frames)]
    first_days = {
        (sources[p.tube.footage_id].start + timedelta(seconds=p.tube.start_s)).astimezone(zone).date()
        for p in plan.placements
    }
    clock = "%H:%M:%S" if len(first_days) <= 1 else "%d %b %H:%M:%S"
    for placement in plan.placements:
        first = math.ceil(placement.offset_s * fps - 1e-6)
        last = min(frames - 1, math.floor(placement.end_s * fps + 1e-6))
        numbers = np.arange(first, last + 1)
        source = sources[placement.tube.footage_id]
        for n, item in zip(
            numbers.tolist(), _appearances(placement, source, numbers, fps, size, zone, clock), strict=True
        ):
            shown[n].append(item)
    return shown


def _appearances(
    placement: Placement,
    source: Source,
    numbers: npt.NDArray[np.int64],
    fps: float,
    size: tuple[int, int],
    zone: ZoneInfo,
    clock: str,
) -> list[Appearance]:
    """The tube's appearance in each of the synopsis frames ``numbers`` (vectorised over the frames)."""
    tube = placement.tube
    times = np.minimum(tube.start_s + numbers / fps - placement.offset_s, tube.start_s + tube.duration_s)
    boxes = np.stack([np.interp(times, tube.times, tube.boxes[:, i]) for i in range(4)], axis=1)
    margin = 3 + 0.15 * np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    width, height = source.size
    cut = np.empty((len(times), 4), dtype=np.int64)
    cut[:, 0] = np.clip(np.floor(boxes[:, 0] - margin), 0, width - 1)
    cut[:, 1] = np.clip(np.floor(boxes[:, 1] - margin), 0, height - 1)
    cut[:, 2] = np.maximum(np.minimum(np.ceil(boxes[:, 2] + margin), width), cut[:, 0] + 1)
    cut[:, 3] = np.maximum(np.minimum(np.ceil(boxes[:, 3] + margin), height), cut[:, 1] + 1)
    scale = np.array([size[0] / width, size[1] / height] * 2)
    cuts, pastes = cut.tolist(), np.rint(cut * scale).astype(np.int64).tolist()
    shown_boxes = np.rint(boxes * scale).astype(np.int64).tolist()
    frame_numbers = np.rint(times * source.fps).astype(np.int64).tolist()
    path, clocks = str(source.path), {}  # the label only changes once a second
    items = []
    for k, t in enumerate(times.tolist()):
        second = math.floor(t)
        if second not in clocks:
            at = (source.start + timedelta(seconds=second)).astimezone(zone)
            clocks[second] = f"{at:{clock}} #{tube.track_id}"
        key = (path, frame_numbers[k], *cuts[k])
        items.append(
            Appearance(tube.track_id, key, tuple(pastes[k]), tuple(shown_boxes[k]), round(t, 3), clocks[second])
        )
    return items


def sprite_bytes(shown: list[list[Appearance]]) -> int:
    """Memory the distinct cut-outs of a schedule take (BGR plus two float weights per pixel)."""
    keys = {a.sprite for frame in shown for a in frame}
    return sum((k[4] - k[2]) * (k[5] - k[3]) * 11 for k in keys)


def background_of(path: Path) -> Image:
    """The per-pixel median of frames spread over the file (see the module docstring)."""
    with open_video(path) as video:
        stream = video.stream
        samples = _keyframe_samples(video.container, stream)
    if len(samples) < MIN_KEYFRAME_SAMPLES:
        samples = _sequential_samples(path)
    if not samples:
        raise InvalidInput(f"no frame could be decoded from {path.name}")
    return np.asarray(np.median(np.stack(samples), axis=0), dtype=np.uint8)


def _keyframe_samples(container: Any, stream: Any) -> list[Image]:
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
    if duration <= 0 and container.duration:
        duration = container.duration / av.time_base
    if duration <= 0 or stream.time_base is None:
        return []
    seen: dict[int, Image] = {}
    for k in range(BACKGROUND_SAMPLES):
        target = duration * (k + 0.5) / BACKGROUND_SAMPLES
        container.seek(int(target / stream.time_base), stream=stream, backward=True)
        frame = next(container.decode(stream), None)
        if frame is not None and frame.pts not in seen:
            seen[frame.pts] = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    return list(seen.values())


def _sequential_samples(path: Path) -> list[Image]:
    with open_video(path) as video:
        total = video.stream.frames or MAX_SAMPLING_FRAMES
        step = max(1, min(total, MAX_SAMPLING_FRAMES) // BACKGROUND_SAMPLES)
        samples: list[Image] = []
        for index, frame in enumerate(video.container.decode(video.stream)):
            if index >= MAX_SAMPLING_FRAMES or len(samples) >= BACKGROUND_SAMPLES:
                break
            if index % step == step // 2:
                samples.append(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8))
    return samples


def collect_sprites(shown: list[list[Appearance]], backgrounds: dict[str, Image]) -> dict[SpriteKey, Sprite]:
    """Decode each stored file once, in order, cutting out every sprite the schedule needs."""
    wanted: dict[str, dict[int, set[SpriteKey]]] = defaultdict(lambda: defaultdict(set))
    for frame in shown:
        for item in frame:
            wanted[item.sprite[0]][item.sprite[1]].add(item.sprite)
    sprites: dict[SpriteKey, Sprite] = {}
    for path, by_frame in wanted.items():
        last = max(by_frame)
        for index, image in _decoded(Path(path), last):
            for key in by_frame.get(index, ()):
                sprites[key] = cut_out(image, backgrounds[path], key[2:])
    missing = {k for frames in wanted.values() for keys in frames.values() for k in keys} - sprites.keys()
    for key in missing:  # frames past the real end of a file (a rounding of its last timestamp): nearest kept
        sprites[key] = _nearest(sprites, key, backgrounds[key[0]])
    return sprites


def _decoded(path: Path, last: int) -> Iterator[tuple[int, Image]]:
    """(index, BGR image) of frames 0..last in decoding order, as the analysis numbered them."""
    with open_video(path) as video:
        for index, frame in enumerate(video.container.decode(video.stream)):
            yield index, np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            if index >= last:
                return


def _nearest(sprites: dict[SpriteKey, Sprite], key: SpriteKey, background: Image) -> Sprite:
    same_file = [k for k in sprites if k[0] == key[0] and k[2:] == key[2:]]
    if same_file:
        return sprites[min(same_file, key=lambda k: abs(k[1] - key[1]))]
    x0, y0, x1, y1 = key[2:]
    shape = (y1 - y0, x1 - x0)
    return Sprite(background[y0:y1, x0:x1].copy(), np.zeros(shape, dtype=np.float32), np.ones(shape, dtype=np.float32))


def cut_out(image: Image, background: Image, rect: tuple[int, int, int, int]) -> Sprite:
    """The pixels of ``rect`` with a soft mask of what differs from the background, faded towards the edges."""
    x0, y0, x1, y1 = rect
    pixels = image[y0:y1, x0:x1].copy()
    diff = np.abs(pixels.astype(np.int16) - background[y0:y1, x0:x1].astype(np.int16)).max(axis=2)
    alpha = np.clip((diff.astype(np.float32) - MASK_THRESHOLD) / MASK_RAMP, 0.0, 1.0)
    alpha = cv2.morphologyEx(alpha, cv2.MORPH_CLOSE, np.ones((5, 3), np.uint8))
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)
    height, width = alpha.shape
    fade = np.minimum(_ramp(width)[None, :], _ramp(height)[:, None])
    alpha = np.asarray(alpha * fade, dtype=np.float32)
    return Sprite(pixels, alpha, np.asarray(1.0 - alpha, dtype=np.float32))


def _ramp(n: int) -> npt.NDArray[np.float32]:
    edge = np.minimum(np.arange(n), np.arange(n)[::-1]).astype(np.float32)
    return np.asarray(np.clip((edge + 1) / 3.0, 0.0, 1.0), dtype=np.float32)


class LabelPainter:
    """Label patches (white text on a dark box) drawn once per text: a label changes once a second."""

    def __init__(self, height: int, *, keep: int = 20_000) -> None:
        self.scale = max(0.3, min(0.6, height / 800))
        self._cache: dict[str, Image] = {}
        self._keep = keep

    def patch(self, text: str) -> Image:
        patch = self._cache.get(text)
        if patch is None:
            if len(self._cache) >= self._keep:
                self._cache.clear()
            font = cv2.FONT_HERSHEY_SIMPLEX
            (text_w, text_h), base = cv2.getTextSize(text, font, self.scale, 1)
            patch = np.full((text_h + base + 3, text_w + 3, 3), 20, dtype=np.uint8)
            cv2.putText(patch, text, (1, text_h + 1), font, self.scale, (255, 255, 255), 1, cv2.LINE_AA)
            self._cache[text] = patch
        return patch

    def paint(self, frame: Image, item: Appearance) -> None:
        """The label above the object's box (below it at the top edge), kept inside the frame."""
        patch = self.patch(item.label)
        height, width = frame.shape[:2]
        h, w = min(patch.shape[0], height), min(patch.shape[1], width)
        x0, y0, _, y1 = item.box
        left = min(max(0, x0), width - w)
        top = y0 - h if y0 - h >= 0 else max(0, min(height - h, y1 + 1))
        frame[top : top + h, left : left + w] = patch[:h, :w]


def compose(
    background: Image, items: list[Appearance], sprites: dict[SpriteKey, Sprite], labels: LabelPainter
) -> Image:
    """One synopsis frame: the objects blended over the background, then their labels."""
    frame = background.copy()
    height, width = frame.shape[:2]
    for item in items:
        sprite = sprites[item.sprite]
        x0, y0, x1, y1 = item.paste
        pixels, alpha, keep = sprite.pixels, sprite.alpha, sprite.keep
        if (x1 - x0, y1 - y0) != (pixels.shape[1], pixels.shape[0]) and x1 > x0 and y1 > y0:
            pixels = cast(Image, cv2.resize(pixels, (x1 - x0, y1 - y0)))
            alpha = np.asarray(cv2.resize(alpha, (x1 - x0, y1 - y0)), dtype=np.float32)
            keep = np.asarray(1.0 - alpha, dtype=np.float32)
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x0 + pixels.shape[1]), min(height, y0 + pixels.shape[0])
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        part = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
        region = frame[cy0:cy1, cx0:cx1]
        frame[cy0:cy1, cx0:cx1] = cv2.blendLinear(pixels[part], region, alpha[part], keep[part])
    for item in items:
        labels.paint(frame, item)
    return frame


def encode(frames: Iterator[Image], path: Path, *, fps: float, size: tuple[int, int]) -> int:
    """Write BGR frames as an H.264 MP4 browsers play (yuv420p, faststart); returns the frame count."""
    rate = Fraction(fps).limit_denominator(1001)
    count = 0
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "23", "preset": "superfast", "g": str(max(1, round(fps)))}
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
            count += 1
        out.mux(stream.encode(None))
    return count


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    return (max(2, size[0] - size[0] % 2), max(2, size[1] - size[1] % 2))


def click_map(shown: list[list[Appearance]]) -> list[list[list[float | int]]]:
    """Per frame, ``[track_id, x0, y0, x1, y1, source_t]`` of each object (topmost last)."""
    return [[[a.track_id, *a.box, a.source_t] for a in frame] for frame in shown]
