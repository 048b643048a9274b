"""Which pixels inside a detection box belong to the object: people and vehicles cut out of their background.

A box around a walking person is mostly background (ground, grass, the next person's coat) and often holds the
person's cast shadow; averaging it names the pavement, not the coat. A :class:`Segmenter` returns a
:class:`Silhouette`, the object's pixel mask over the box, from the first source that covers at least
``min_fill`` (12 %) of the box:

* a **foreground mask** from the motion stage's background subtraction (``uint8`` or ``bool``, frame-sized):
  values of 200 and above are foreground, so MOG2's shadow label (127) is left out. The mask is cropped to the
  box, opened and closed with a 3x3 kernel and reduced to the blobs that reach the object's core;
* otherwise (no mask, or someone standing still who has faded into the background model) a **colour model**
  of the box against a margin of context around it, seeded by a body-shaped prior (head, torso and legs for a
  person; the box minus its corners for a vehicle) and a small core of certain foreground (the chest, or the
  vehicle's centre). :class:`ColourModelSegmenter` (the default) uses two colour histograms and a smoothed
  per-pixel posterior, a fraction of a millisecond at CCTV scale; :class:`GrabCutSegmenter` runs OpenCV's
  GrabCut from the same seeds, a few milliseconds and, on PETS09's 20-pixel-wide people, prone to losing legs
  to the background;
* otherwise (a flat, camouflaged crop) the shape prior itself, which is still better than the box.

:func:`person_parts` then splits a person's silhouette into upper body (15-50 % of its height, below the head)
and lower body (50-90 %, above the shoes); :func:`vehicle_body` keeps a vehicle's paintwork.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from vigil.vision.colour import to_lch

BoolMask = npt.NDArray[np.bool_]
Image = npt.NDArray[np.uint8]
Shape = Literal["person", "vehicle"]
Element = TypeVar("Element", bound=np.generic)

UPPER_BODY = (0.15, 0.50)
"""Rows of a person's height (from the top) that are the upper body: below the head, down to the hips."""
LOWER_BODY = (0.50, 0.90)
"""Rows of a person's height that are the lower body: hips down to the ankles (shoes left out)."""


class CropBox(NamedTuple):
    """Integer pixel box ``[x0, x1) x [y0, y1)`` inside an image."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def of(self, image: npt.NDArray[Element]) -> npt.NDArray[Element]:
        """The part of ``image`` (or of any frame-sized mask) inside the box."""
        return image[self.y0 : self.y1, self.x0 : self.x1]


def crop_box(box: npt.ArrayLike, image_shape: tuple[int, ...]) -> CropBox:
    """The integer box covering the float ``xyxy`` ``box`` (outward rounding), clipped to the image.

    Every function here crops the same way, so a mask from one lines up with the crop of another.
    """
    left, top, right, bottom = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    height, width = int(image_shape[0]), int(image_shape[1])
    x0, y0 = min(max(int(np.floor(left)), 0), width), min(max(int(np.floor(top)), 0), height)
    x1, y1 = min(max(int(np.ceil(right)), x0), width), min(max(int(np.ceil(bottom)), y0), height)
    return CropBox(x0, y0, x1, y1)


@dataclass(frozen=True, eq=False)
class Silhouette:
    """The pixels of one object: ``mask`` (``bool``, ``crop.height x crop.width``) over the frame's ``crop``."""

    crop: CropBox
    mask: BoolMask
    source: Literal["foreground", "colour model", "prior"]
    """Where the mask came from: the motion stage's foreground, the segmenter's colour model, or the bare prior."""

    def pixels(self, image: Image, mask: BoolMask | None = None) -> Image:
        """The ``(N, 3)`` BGR pixels of ``image`` under ``mask`` (default: the whole silhouette)."""
        region = self.crop.of(image)
        return np.asarray(region[self.mask if mask is None else mask], dtype=np.uint8)

    def row_band(self, band: tuple[float, float]) -> BoolMask:
        """The silhouette restricted to a band of rows (see :func:`row_band`)."""
        return row_band(self.mask, band)


class Segmenter(Protocol):
    """Cuts one object out of its box."""

    def segment(self, image: Image, box: npt.ArrayLike, fg_mask: npt.NDArray[np.generic] | None = None) -> Silhouette:
        """The object's pixels inside ``box`` (``xyxy``) of the BGR ``image``, helped by a frame-sized fg mask."""
        ...


@dataclass(frozen=True)
class ColourModelSegmenter:
    """Foreground mask, else a two-histogram colour model with the body-shaped prior (fast; the default).

    The background model is the colour histogram of the context margin around the box; the object's model
    starts uniform (whatever the background lacks is likely the object). Each pixel's posterior
    ``prior * p(colour | object) / (prior * p(colour | object) + (1 - prior) * p(colour | background))``, with
    the shape prior as ``prior`` (core 0.9, body 0.6, elsewhere 0.15), is smoothed over 3x3 pixels (a cheap
    stand-in for GrabCut's neighbour term); then for :attr:`rounds` rounds the object's histogram is
    re-estimated from the posteriors and the posteriors recomputed. The mask is ``posterior > 0.5``, reduced
    to the blobs that reach the core. Colours are quantised to :attr:`levels` per BGR channel.
    """

    shape: Shape = "person"
    rounds: int = 2
    levels: int = 8
    margin: float = 0.25
    """Context added around the box on every side, as a fraction of the box's width and height."""
    min_fill: float = 0.12
    """A mask covering less than this fraction of the box is not trusted (next source is tried)."""

    def segment(self, image: Image, box: npt.ArrayLike, fg_mask: npt.NDArray[np.generic] | None = None) -> Silhouette:
        return _segment(image, box, fg_mask, self.shape, self.min_fill, self._cut)

    def _cut(self, image: Image, crop: CropBox, probable: BoolMask, core: BoolMask) -> BoolMask | None:
        outer, inner = _context(image, crop, self.margin)
        step = 256 // self.levels
        quantised = (outer.of(image) // step).astype(np.intp)
        codes = (quantised[..., 0] * self.levels + quantised[..., 1]) * self.levels + quantised[..., 2]
        bins = self.levels**3
        ring = np.ones(codes.shape, dtype=bool)
        ring[inner] = False
        box_codes = codes[inner]
        if ring.sum() < 16:  # no context (the box fills the frame): the box's own edge is the background
            ring = ~(probable | core)
            background = np.bincount(box_codes[ring], minlength=bins).astype(np.float64)
        else:
            background = np.bincount(codes[ring], minlength=bins).astype(np.float64)
        p_background = (background + 0.5) / (background.sum() + 0.5 * bins)
        prior = np.where(core, 0.9, np.where(probable, 0.6, 0.15)).astype(np.float32)
        p_object = np.full(bins, 1.0 / bins)  # first round: any colour the background lacks is the object's
        posterior = _posterior(prior, p_object[box_codes], p_background[box_codes])
        for _ in range(self.rounds):
            objects = np.bincount(box_codes.ravel(), weights=posterior.ravel(), minlength=bins)
            p_object = (objects + 0.5) / (objects.sum() + 0.5 * bins)
            posterior = _posterior(prior, p_object[box_codes], p_background[box_codes])
        return _keep_blobs_touching(posterior > 0.5, core)


@dataclass(frozen=True)
class GrabCutSegmenter:
    """Foreground mask, else OpenCV's GrabCut seeded with the body-shaped prior (slower, a few ms per box)."""

    shape: Shape = "person"
    iterations: int = 2
    """GrabCut rounds; two are enough at CCTV scale."""
    max_side: int = 48
    """Long side, in pixels, of the context crop GrabCut works on (bigger crops are downscaled)."""
    margin: float = 0.25
    """Context added around the box on every side, as a fraction of the box's width and height."""
    min_fill: float = 0.12
    """A mask covering less than this fraction of the box is not trusted (next source is tried)."""

    def segment(self, image: Image, box: npt.ArrayLike, fg_mask: npt.NDArray[np.generic] | None = None) -> Silhouette:
        return _segment(image, box, fg_mask, self.shape, self.min_fill, self._cut)

    def _cut(self, image: Image, crop: CropBox, probable: BoolMask, core: BoolMask) -> BoolMask | None:
        outer, inner = _context(image, crop, self.margin)
        labels: npt.NDArray[np.uint8] = np.full((outer.height, outer.width), cv2.GC_BGD, dtype=np.uint8)
        # no context (the box fills the frame, as in a still cropped to one person): the box's own edge outside
        # the body is the only background to learn from, so it must be certain or GrabCut keeps the whole box
        outside = cv2.GC_BGD if (outer.width, outer.height) == (crop.width, crop.height) else cv2.GC_PR_BGD
        labels[inner] = np.where(core, cv2.GC_FGD, np.where(probable, cv2.GC_PR_FGD, outside))
        context = np.ascontiguousarray(outer.of(image))
        scale = min(1.0, self.max_side / max(outer.width, outer.height))
        if scale < 1.0:
            size = (max(round(outer.width * scale), 2), max(round(outer.height * scale), 2))
            context = np.asarray(cv2.resize(context, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
            labels = np.asarray(cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
        background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(context, labels, (0, 0, 0, 0), background, foreground, self.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:
            return None  # one of the colour models had too few samples
        if scale < 1.0:
            full_size = (outer.width, outer.height)
            labels = np.asarray(cv2.resize(labels, full_size, interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
        mask = (labels[inner] == cv2.GC_FGD) | (labels[inner] == cv2.GC_PR_FGD)
        return _keep_blobs_touching(mask, core)


Cut = Callable[[Image, CropBox, BoolMask, BoolMask], BoolMask | None]


def _segment(
    image: Image, box: npt.ArrayLike, fg_mask: npt.NDArray[np.generic] | None, shape: Shape, min_fill: float, cut: Cut
) -> Silhouette:
    """Foreground mask, else ``cut``, else the shape prior: the first that fills ``min_fill`` of the box."""
    crop = crop_box(box, image.shape)
    if crop.width < 3 or crop.height < 3:
        return Silhouette(crop, np.ones((crop.height, crop.width), dtype=bool), "prior")
    probable, core = shape_prior(shape, crop.height, crop.width)
    if fg_mask is not None:
        mask = _clean_foreground(crop.of(fg_mask), core)
        if mask.mean() >= min_fill:
            return Silhouette(crop, mask, "foreground")
    cut_mask = cut(image, crop, probable, core)
    if cut_mask is not None and cut_mask.mean() >= min_fill:
        return Silhouette(crop, cut_mask, "colour model")
    return Silhouette(crop, probable | core, "prior")


def _posterior(
    prior: npt.NDArray[np.float32], p_object: npt.NDArray[np.float64], p_background: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """Per-pixel probability of the object, smoothed over 3x3 neighbours."""
    evidence = prior * p_object
    posterior = (evidence / (evidence + (1.0 - prior) * p_background)).astype(np.float32)
    return np.asarray(cv2.blur(posterior, (3, 3)), dtype=np.float32)


def _context(image: Image, crop: CropBox, margin: float) -> tuple[CropBox, tuple[slice, slice]]:
    """The box grown by ``margin`` on every side (clipped), and where the box sits inside it."""
    pad_x, pad_y = round(margin * crop.width), round(margin * crop.height)
    outer = CropBox(
        max(crop.x0 - pad_x, 0), max(crop.y0 - pad_y, 0),
        min(crop.x1 + pad_x, image.shape[1]), min(crop.y1 + pad_y, image.shape[0]),
    )  # fmt: skip
    inner = (slice(crop.y0 - outer.y0, crop.y1 - outer.y0), slice(crop.x0 - outer.x0, crop.x1 - outer.x0))
    return outer, inner


def row_band(mask: BoolMask, band: tuple[float, float]) -> BoolMask:
    """``mask`` restricted to a band of rows given as fractions of the object's height (see :func:`band_rows`)."""
    start, stop = band_rows(mask, band)
    band_mask = np.zeros_like(mask)
    band_mask[start:stop] = mask[start:stop]
    return band_mask


def band_rows(mask: BoolMask, band: tuple[float, float], extent: tuple[int, int] | None = None) -> tuple[int, int]:
    """The rows ``[start, stop)`` of a band given as fractions of the object's height from its top.

    ``extent`` is the object's ``(top, bottom)`` rows, by default :func:`row_extent` of the mask.
    """
    top, bottom = row_extent(mask) if extent is None else extent
    height = bottom - top
    return top + round(band[0] * height), top + round(band[1] * height)


def row_extent(mask: BoolMask) -> tuple[int, int]:
    """The object's rows ``[top, bottom)``: the mask's own vertical extent when that covers at least 60 % of the
    box (so a loose box does not move the waist), else the whole box."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size and rows[-1] + 1 - rows[0] >= 0.6 * mask.shape[0]:
        return int(rows[0]), int(rows[-1]) + 1
    return 0, int(mask.shape[0])


def shape_prior(shape: Shape, height: int, width: int) -> tuple[BoolMask, BoolMask]:
    """Where the object probably is in its ``height x width`` box, and a small core where it certainly is.

    A person: a head ellipse over the top 15 %, a torso and legs 70 % of the box wide; the core is the middle
    fifth of the width over 22-45 % of the height (the chest). A vehicle: the box with its corners cut off (an
    ellipse-rectangle blend); the core is the middle 30 % either way.
    """
    u = ((np.arange(width, dtype=np.float32) + 0.5) / width - 0.5)[None, :]  # -0.5 .. 0.5 across
    v = ((np.arange(height, dtype=np.float32) + 0.5) / height)[:, None]  # 0 .. 1 down
    if shape == "person":
        head = (u / 0.2) ** 2 + ((v - 0.08) / 0.08) ** 2 <= 1.0
        body = (np.abs(u) <= 0.35) & (v >= 0.14)
        core = (np.abs(u) <= 0.1) & (v >= 0.22) & (v <= 0.45)
        return head | body, core
    probable = (np.abs(u) / 0.5) ** 4 + (np.abs(v - 0.5) / 0.5) ** 4 <= 1.0
    core = (np.abs(u) <= 0.15) & (np.abs(v - 0.5) <= 0.15)
    return probable, core


def person_parts(silhouette: Silhouette) -> tuple[BoolMask, BoolMask]:
    """The upper-body and lower-body masks of a person's silhouette (:data:`UPPER_BODY`, :data:`LOWER_BODY`)."""
    return silhouette.row_band(UPPER_BODY), silhouette.row_band(LOWER_BODY)


def vehicle_body(silhouette: Silhouette, image: Image) -> BoolMask:
    """The part of a vehicle's silhouette that is paintwork, as best a colour rule can tell.

    Glass, tyres, grilles and the shadow underneath are dark and colourless (CIELab ``L < 30`` and chroma
    below 12), whatever the viewpoint; they are dropped when what remains is at least 35 % of the silhouette.
    Otherwise the car itself is dark and colourless (black, dark grey) and the whole silhouette is kept.
    """
    region = np.ascontiguousarray(silhouette.crop.of(image))
    lch = to_lch(region.reshape(-1, 3)).reshape(*region.shape[:2], 3)
    dark_grey = (lch[..., 0] < 30.0) & (lch[..., 1] < 12.0)
    body = silhouette.mask & ~dark_grey
    return body if body.sum() >= 0.35 * silhouette.mask.sum() else silhouette.mask


def _clean_foreground(fg_crop: npt.NDArray[np.generic], core: BoolMask) -> BoolMask:
    fg = np.asarray(fg_crop)
    binary = (fg >= 200) if fg.dtype != np.bool_ else fg
    kernel = np.ones((3, 3), np.uint8)
    cleaned = cv2.morphologyEx(binary.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, kernel)
    return _keep_blobs_touching(cleaned.astype(bool), core)


def _keep_blobs_touching(mask: BoolMask, core: BoolMask) -> BoolMask:
    """The connected blobs of ``mask`` that reach into ``core``; the largest blob if none does."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    touching = np.unique(labels[core & mask])
    touching = touching[touching > 0]
    if touching.size == 0:
        sizes = np.bincount(labels.ravel(), minlength=count)
        sizes[0] = 0
        touching = np.array([int(np.argmax(sizes))])
    return np.isin(labels, touching)
