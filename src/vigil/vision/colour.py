"""Colour names for pixels: the 11 basic colour terms an investigator types ("red top, dark trousers").

Every pixel is named on its own, in CIELab (D65, from sRGB by OpenCV) read as lightness ``L`` (0-100), chroma
``C = hypot(a, b)`` and hue angle ``h = atan2(b, a)`` in degrees:

* **Achromatic** when ``C`` is below ``clip(8 + 0.2 (L - 60), 8, 14)``: 8 up to ``L = 60``, rising to 14 for
  the palest pixels. CCTV desaturates: faded jeans on PETS09 have ``C`` of about 10 at ``L`` 40 and must stay
  blue, black coats stay under 6, and an off-white shirt (beige, ``C`` 13 at ``L`` 96) must stay white.
  Achromatic pixels are black below ``L = 30``, white from ``L = 82`` and grey between. Anything below
  ``L = 10`` is black whatever its hue: noise decides the hue down there.
* **Chromatic** by hue sector (Lab hue of the sRGB primaries: red 40, yellow 103, green 136, blue 306), with
  saturation ``s = C / (L + 16)``::

      340-5   pink; red when L < 40                 (hot pink, deep pink; raspberry in the dark)
        5-48  red; pink when a light tint           (crimson, red, orange-red, maroon; pink: L >= 40, s < 0.6
                                                     and L > 75 or s < 0.35, i.e. pale pink, light pink)
       48-80  orange; brown when L < 55 or s < 0.4  (dark orange, orange; chocolate, saddle brown, tan)
       80-112 yellow; brown when L < 55 or s < 0.4  (gold, yellow, mustard; olive)
      112-190 green
      190-311 blue                                  (navy, royal, steel, sky, denim)
      311-340 purple                                (indigo, violet, plum, magenta)

Shadows. Dimming a surface scales its linear RGB by a factor ``k``; in Lab's cube-root range that scales
``L + 16``, ``a`` and ``b`` alike by ``k^(1/3)``, so hue and ``s`` are unchanged and only lightness falls. The
red, green, blue, purple and pink sectors therefore never look at lightness except to tell black from the rest
and a pale tint from a full colour: a red top half in shadow stays red. Brown is the one basic term that
*is* a darker shade of another (orange or yellow), so an orange or yellow surface in deep shadow reads brown;
only knowledge of the light can undo that. :func:`grey_world_gains` corrects a global colour cast (sodium
lighting, dusk) from a reference region such as the whole frame.

Decisions on the borderline colours (kept out of the tests where people disagree): maroon and dark red are red
(their hue is red's; brown is reserved for orange-yellow hues); olive is brown; beige and lavender are white
(too little chroma); navy is blue; magenta and violet are purple; teal and cyan sit at the green/blue border
(hue 196, named blue); a red car lit pale by the sky (hue 7, ``L`` 70) is red, not pink.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vigil.domain.vocabulary import PALETTE, ColourName

SECOND_NAME_SHARE = 0.25
"""A second colour name is reported only if at least this fraction of the pixels carry it."""
STILL_GAIN_LIMIT = 3.0
"""Grey-world gain limit for a still described on its own (``vigil describe``): a crop from a camera with a
strong cast (PETA's PRID camera is green, a = -15) needs more than a frame's gentle default of 1.5."""


_INDEX = {name: i for i, name in enumerate(PALETTE)}
_HUE_EDGES = (5.0, 48.0, 80.0, 112.0, 190.0, 311.0, 340.0)
"""Hue sector boundaries in degrees; the sectors between them are named by :data:`_HUE_SECTOR_NAMES`."""
_HUE_SECTOR_NAMES = (
    ColourName.PINK, ColourName.RED, ColourName.ORANGE, ColourName.YELLOW,
    ColourName.GREEN, ColourName.BLUE, ColourName.PURPLE, ColourName.PINK,
)  # fmt: skip

FloatArray = npt.NDArray[np.float32]
PixelArray = npt.NDArray[np.uint8]


def to_lch(pixels_bgr: PixelArray) -> FloatArray:
    """``(N, 3)`` BGR uint8 pixels as ``(N, 3)`` float32 ``L`` (0-100), chroma and hue angle (degrees, 0-360)."""
    lab = lab_of(pixels_bgr)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0
    return np.stack([lab[:, 0], chroma, hue], axis=1).astype(np.float32, copy=False)


def lab_of(pixels_bgr: PixelArray) -> FloatArray:
    """``(N, 3)`` BGR uint8 pixels as ``(N, 3)`` float32 CIELab (L 0-100, a and b roughly -128..127)."""
    pixels = _as_pixels(pixels_bgr)
    if not len(pixels):
        return np.zeros((0, 3), dtype=np.float32)
    scaled = pixels.reshape(-1, 1, 3).astype(np.float32) * np.float32(1.0 / 255.0)
    lab = cv2.cvtColor(scaled, cv2.COLOR_BGR2Lab)
    return np.asarray(lab, dtype=np.float32).reshape(-1, 3)


def colour_indices(pixels_bgr: PixelArray, *, gains: FloatArray | None = None) -> npt.NDArray[np.int8]:
    """Every pixel's colour name as an index into :data:`PALETTE` (``(N,)`` int8).

    ``gains`` (from :func:`grey_world_gains`) white-balance the pixels first.
    """
    pixels = _as_pixels(pixels_bgr)
    if gains is not None:
        pixels = apply_gains(pixels, gains)
    return colour_indices_of_lab(lab_of(pixels))


def colour_indices_of_lab(lab: FloatArray) -> npt.NDArray[np.int8]:
    """:func:`colour_indices` for pixels already in CIELab (``(N, 3)`` float32 as from :func:`lab_of`)."""
    lightness, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    hue = (np.degrees(np.arctan2(b, a)) % 360.0).astype(np.float32)
    return _classify(lightness, np.hypot(a, b), hue)


def colour_histogram(pixels_bgr: PixelArray, *, gains: FloatArray | None = None) -> FloatArray:
    """The fraction of pixels carrying each of the 11 names, ``(11,)`` float32 in :data:`PALETTE` order.

    All zeros when there are no pixels.
    """
    indices = colour_indices(pixels_bgr, gains=gains)
    return histogram_of_indices(indices)


def histogram_of_indices(indices: npt.NDArray[np.int8]) -> FloatArray:
    """Fractions of each palette index in ``indices`` (all zeros when empty)."""
    counts = np.bincount(indices.astype(np.intp), minlength=len(PALETTE)).astype(np.float32)
    total = counts.sum()
    return counts / total if total > 0 else counts


def names_from_histogram(
    histogram: FloatArray, *, max_names: int = 2, min_share: float = SECOND_NAME_SHARE
) -> tuple[ColourName, ...]:
    """The dominant name, then further names (up to ``max_names``) covering at least ``min_share`` each.

    Names come in order of decreasing share; an empty histogram gives ``()``.
    """
    hist = np.asarray(histogram, dtype=np.float32)
    if hist.shape != (len(PALETTE),):
        raise ValueError(f"a colour histogram has {len(PALETTE)} bins, got shape {hist.shape}")
    if max_names < 1 or not hist.sum() > 0:
        return ()
    order = np.argsort(-hist, kind="stable")
    names = [PALETTE[int(order[0])]]
    names.extend(PALETTE[int(i)] for i in order[1:max_names] if hist[i] >= min_share)
    return tuple(names)


def shares_of(histogram: FloatArray, names: tuple[ColourName, ...]) -> tuple[float, ...]:
    """Each name's share of ``histogram`` (its confidence: the fraction of the pixels carrying it)."""
    return tuple(round(float(histogram[_INDEX[name]]), 4) for name in names)


def name_colours(
    pixels_bgr: PixelArray, *, max_names: int = 2, gains: FloatArray | None = None
) -> tuple[ColourName, ...]:
    """The one or two colour names that describe ``pixels_bgr`` (``(N, 3)`` uint8 BGR).

    Each pixel is named (see the module docstring); the most frequent name comes first, and a second name
    follows only when it covers at least :data:`SECOND_NAME_SHARE` (25 %) of the pixels, so a red top with a
    black logo is just red, a half-red half-black top is red and black. No pixels give ``()``.
    """
    return names_from_histogram(colour_histogram(pixels_bgr, gains=gains), max_names=max_names)


def grey_world_gains(reference_bgr: PixelArray, *, limit: float = 1.5) -> FloatArray:
    """Per-channel (B, G, R) gains in linear light that make the reference's mean colour neutral (grey world).

    ``reference_bgr`` is any ``(..., 3)`` uint8 image or pixel list, typically the whole frame or a camera's
    empty background. Gains are clipped to ``[1/limit, limit]`` so that a scene dominated by one colour (a lawn)
    cannot swing the balance far. Pass the result as ``gains=`` to the naming functions.
    """
    linear = _srgb_to_linear(_as_pixels(reference_bgr))
    means = linear.mean(axis=0)
    target = float(means.mean())
    gains = np.where(means > 1e-6, target / np.maximum(means, 1e-6), 1.0)
    return np.clip(gains, 1.0 / limit, limit).astype(np.float32)


def apply_gains(pixels_bgr: PixelArray, gains: FloatArray) -> PixelArray:
    """Pixels with per-channel linear-light ``gains`` applied (``(N, 3)`` uint8)."""
    linear = _srgb_to_linear(_as_pixels(pixels_bgr)) * np.asarray(gains, dtype=np.float32).reshape(1, 3)
    encoded = np.where(
        linear <= 0.0031308, linear * 12.92, 1.055 * np.power(np.clip(linear, 0.0031308, 1.0), 1 / 2.4) - 0.055
    )
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


def _as_pixels(pixels_bgr: PixelArray) -> PixelArray:
    pixels = np.asarray(pixels_bgr)
    if pixels.dtype != np.uint8 or pixels.shape[-1:] != (3,):
        raise ValueError(f"expected uint8 BGR pixels of shape (..., 3), got {pixels.dtype} {pixels.shape}")
    return pixels.reshape(-1, 3)


def _srgb_to_linear(pixels: PixelArray) -> FloatArray:
    x = pixels.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def _classify(lightness: FloatArray, chroma: FloatArray, hue: FloatArray) -> npt.NDArray[np.int8]:
    """Name index per pixel from L, C, h (see the module docstring for the rules)."""
    pink, red, brown = _INDEX[ColourName.PINK], _INDEX[ColourName.RED], _INDEX[ColourName.BROWN]
    sectors = np.array([_INDEX[name] for name in _HUE_SECTOR_NAMES], dtype=np.int8)
    named = sectors[np.searchsorted(_HUE_EDGES, hue, side="right")]
    sat = chroma / (lightness + 16.0)
    named[(named == pink) & (lightness < 40.0)] = red
    tint = (lightness >= 40.0) & (sat < 0.6) & ((lightness > 75.0) | (sat < 0.35))
    named[(named == red) & tint] = pink
    named[(hue >= 48.0) & (hue < 112.0) & ((lightness < 55.0) | (sat < 0.4))] = brown
    achromatic = (chroma < np.clip(8.0 + 0.2 * (lightness - 60.0), 8.0, 14.0)) | (lightness < 10.0)
    black, grey, white = _INDEX[ColourName.BLACK], _INDEX[ColourName.GREY], _INDEX[ColourName.WHITE]
    by_lightness = np.where(lightness < 30.0, black, np.where(lightness >= 82.0, white, grey))
    return np.where(achromatic, by_lightness, named).astype(np.int8)
