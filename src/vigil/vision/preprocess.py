"""Image -> network tensor: aspect-preserving resize onto a stride-aligned canvas, colour order, scaling.

:func:`letterbox` scales an image so that its long side is ``long_side`` pixels, then pads the right and
bottom edges up to multiples of ``stride``; a 480x360 frame at ``long_side=512`` becomes exactly
512x384 with no padding at all. Models with a fixed input shape pass ``canvas`` instead and get the
classic letterbox (scale to fit, pad the rest). :class:`Placement` maps boxes back to source pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Layout = Literal["nhwc", "nchw"]
ChannelOrder = Literal["rgb", "bgr"]


@dataclass(frozen=True)
class Placement:
    """Where the source image sits on the network canvas: ``canvas = source * scale`` (top-left)."""

    scale_x: float
    scale_y: float
    canvas_w: int
    canvas_h: int

    def to_source(self, xyxy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Boxes in canvas pixels -> boxes in source pixels."""
        factor = np.array([self.scale_x, self.scale_y, self.scale_x, self.scale_y], dtype=np.float32)
        return (xyxy / factor).astype(np.float32)


def canvas_size(width: int, height: int, long_side: int, stride: int) -> tuple[int, int, float]:
    """(canvas width, canvas height, scale) for an image scaled so its long side is ``long_side``."""
    scale = long_side / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    return math.ceil(new_w / stride) * stride, math.ceil(new_h / stride) * stride, scale


def letterbox(
    image: npt.NDArray[np.uint8],
    long_side: int,
    stride: int,
    canvas: tuple[int, int] | None = None,
    pad_value: int = 0,
) -> tuple[npt.NDArray[np.uint8], Placement]:
    """Resize ``image`` keeping its aspect ratio and pad it with ``pad_value`` on the right and bottom.

    With ``canvas=(width, height)`` the image is fitted inside that fixed size instead.
    """
    height, width = image.shape[:2]
    if canvas is None:
        canvas_w, canvas_h, scale = canvas_size(width, height, long_side, stride)
    else:
        canvas_w, canvas_h = canvas
        scale = min(canvas_w / width, canvas_h / height)
    new_w = min(canvas_w, max(1, round(width * scale)))
    new_h = min(canvas_h, max(1, round(height * scale)))
    resized: npt.NDArray[np.uint8] = image
    if (new_w, new_h) != (width, height):
        # Area averaging for strong reductions (e.g. 1080p -> 416) avoids aliasing; bilinear otherwise.
        interpolation = cv2.INTER_AREA if new_w < width / 2 else cv2.INTER_LINEAR
        resized = np.asarray(cv2.resize(image, (new_w, new_h), interpolation=interpolation), dtype=np.uint8)
    if (new_w, new_h) == (canvas_w, canvas_h):
        out = np.ascontiguousarray(resized)
    else:
        out = np.full((canvas_h, canvas_w, 3), pad_value, dtype=np.uint8)
        out[:new_h, :new_w] = resized
    return out, Placement(new_w / width, new_h / height, canvas_w, canvas_h)


@dataclass(frozen=True)
class InputSpec:
    """How a model wants its input: layout, colour order and per-channel ``(x - mean) / std``.

    ``mean``/``std`` apply to 0..255 pixel values in the model's channel order. ``stride`` is the
    granularity of the canvas; ``fixed_size`` (width, height) is set for models whose input shape is
    static. ``default_size`` is the long side used when the caller does not choose one.
    """

    layout: Layout
    channel_order: ChannelOrder
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    stride: int = 32
    default_size: int = 416
    fixed_size: tuple[int, int] | None = None
    pad_value: int = 0

    def to_tensor(self, canvas: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """A BGR uint8 canvas -> a float32 batch of one in this spec's layout, order and scaling."""
        pixels = canvas[:, :, ::-1] if self.channel_order == "rgb" else canvas
        x = pixels.astype(np.float32)
        if self.mean != (0.0, 0.0, 0.0):
            x -= np.asarray(self.mean, dtype=np.float32)
        if self.std != (1.0, 1.0, 1.0):
            x *= np.asarray([1.0 / s for s in self.std], dtype=np.float32)
        if self.layout == "nchw":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None])

    def prepare(
        self, image: npt.NDArray[np.uint8], long_side: int | None = None
    ) -> tuple[npt.NDArray[np.float32], Placement]:
        """Letterbox ``image`` for this model and convert it to its input tensor."""
        size = long_side or self.default_size
        canvas, placement = letterbox(image, size, self.stride, self.fixed_size, self.pad_value)
        return self.to_tensor(canvas), placement
