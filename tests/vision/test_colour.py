"""Colour naming on generated patches of known colours, in shadow, in mixtures and under noise."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from vigil.domain.vocabulary import PALETTE, ColourName
from vigil.vision.colour import (
    apply_gains,
    colour_histogram,
    grey_world_gains,
    name_colours,
    names_from_histogram,
)

C = ColourName


def patch(rgb: tuple[int, int, int], n: int = 400) -> npt.NDArray[np.uint8]:
    """``n`` BGR pixels of one sRGB colour."""
    return np.tile(np.array(rgb[::-1], dtype=np.uint8), (n, 1))


def lab_shadow(pixels: npt.NDArray[np.uint8], factor: float) -> npt.NDArray[np.uint8]:
    """The pixels with CIELab lightness multiplied by ``factor`` (a and b kept; out-of-gamut results clipped)."""
    lab = np.asarray(cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab), np.float32)
    lab[..., 0] *= factor
    bgr = np.asarray(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR), np.float32).reshape(-1, 3)
    shadowed: npt.NDArray[np.uint8] = np.clip(np.rint(bgr * 255.0), 0, 255).astype(np.uint8)
    return shadowed


KNOWN = [  # (sRGB, expected name): colours people agree on
    ((0, 0, 0), C.BLACK),
    ((40, 40, 40), C.BLACK),
    ((30, 30, 38), C.BLACK),  # "black" jacket with a blue cast
    ((128, 128, 128), C.GREY),
    ((90, 90, 90), C.GREY),
    ((180, 180, 180), C.GREY),
    ((255, 255, 255), C.WHITE),
    ((240, 240, 235), C.WHITE),
    ((255, 0, 0), C.RED),
    ((220, 20, 60), C.RED),  # crimson
    ((178, 34, 34), C.RED),  # firebrick
    ((128, 0, 0), C.RED),  # maroon: red's hue, so red (brown is kept for orange-yellow hues)
    ((255, 140, 0), C.ORANGE),
    ((255, 165, 0), C.ORANGE),
    ((255, 255, 0), C.YELLOW),
    ((255, 215, 0), C.YELLOW),  # gold
    ((139, 69, 19), C.BROWN),  # saddle brown
    ((101, 67, 33), C.BROWN),  # dark brown
    ((210, 180, 140), C.BROWN),  # tan
    ((0, 128, 0), C.GREEN),
    ((0, 255, 0), C.GREEN),
    ((34, 139, 34), C.GREEN),  # forest green
    ((0, 100, 0), C.GREEN),
    ((0, 0, 255), C.BLUE),
    ((0, 0, 128), C.BLUE),  # navy
    ((65, 105, 225), C.BLUE),  # royal blue
    ((70, 130, 180), C.BLUE),  # steel blue
    ((135, 206, 235), C.BLUE),  # sky blue
    ((70, 90, 120), C.BLUE),  # washed-out jeans
    ((128, 0, 128), C.PURPLE),
    ((75, 0, 130), C.PURPLE),  # indigo
    ((148, 0, 211), C.PURPLE),  # dark violet
    ((255, 192, 203), C.PINK),
    ((255, 105, 180), C.PINK),  # hot pink
    ((255, 20, 147), C.PINK),  # deep pink
]


@pytest.mark.parametrize(("rgb", "expected"), KNOWN, ids=[f"{rgb}-{name}" for rgb, name in KNOWN])
def test_known_colours_get_their_name(rgb: tuple[int, int, int], expected: ColourName) -> None:
    assert name_colours(patch(rgb)) == (expected,)


SATURATED = [
    ((255, 0, 0), C.RED),
    ((200, 30, 30), C.RED),
    ((0, 128, 0), C.GREEN),
    ((0, 200, 0), C.GREEN),
    ((0, 0, 255), C.BLUE),
    ((30, 60, 200), C.BLUE),
    ((128, 0, 128), C.PURPLE),
    ((148, 0, 211), C.PURPLE),
]


@pytest.mark.parametrize(("rgb", "expected"), SATURATED, ids=[f"{rgb}-{name}" for rgb, name in SATURATED])
def test_saturated_colours_keep_their_name_in_shadow(rgb: tuple[int, int, int], expected: ColourName) -> None:
    lit = patch(rgb)
    assert name_colours(lab_shadow(lit, 0.5)) == (expected,)
    # a physical shadow: a quarter of the light in linear RGB, which also halves L roughly
    assert name_colours(apply_gains(lit, np.full(3, 0.25, np.float32))) == (expected,)


def test_a_red_top_half_in_shadow_is_red_and_nothing_else() -> None:
    top = np.concatenate([patch((190, 25, 30), 500), lab_shadow(patch((190, 25, 30), 500), 0.5)])
    assert name_colours(top) == (C.RED,)


@pytest.mark.parametrize(
    ("rgb", "shadowed"),
    [((255, 140, 0), C.BROWN), ((255, 215, 0), C.BROWN)],
    ids=["orange", "gold"],
)
def test_orange_and_yellow_in_deep_shadow_read_brown_as_documented(
    rgb: tuple[int, int, int], shadowed: ColourName
) -> None:
    assert name_colours(apply_gains(patch(rgb), np.full(3, 0.25, np.float32))) == (shadowed,)


def test_two_colour_patch_reports_both_in_order_of_share() -> None:
    pixels = np.concatenate([patch((255, 255, 255), 350), patch((0, 0, 200), 650)])
    assert name_colours(pixels) == (C.BLUE, C.WHITE)
    assert name_colours(pixels[::-1]) == (C.BLUE, C.WHITE)
    assert name_colours(pixels, max_names=1) == (C.BLUE,)


def test_second_name_needs_a_quarter_of_the_pixels() -> None:
    logo = np.concatenate([patch((200, 20, 20), 800), patch((0, 0, 0), 200)])  # 20 % black
    assert name_colours(logo) == (C.RED,)
    stripes = np.concatenate([patch((200, 20, 20), 700), patch((0, 0, 0), 300)])  # 30 % black
    assert name_colours(stripes) == (C.RED, C.BLACK)


@pytest.mark.parametrize(("rgb", "expected"), KNOWN[::3], ids=[f"{rgb}-{name}" for rgb, name in KNOWN[::3]])
def test_names_survive_sensor_noise(rgb: tuple[int, int, int], expected: ColourName) -> None:
    rng = np.random.default_rng(7)
    noisy = np.clip(patch(rgb, 2000).astype(np.int16) + rng.normal(0, 6, (2000, 3)).round(), 0, 255).astype(np.uint8)
    assert name_colours(noisy)[0] == expected
    assert colour_histogram(noisy)[PALETTE.index(expected)] > 0.6


def test_histogram_is_fractions_in_palette_order() -> None:
    pixels = np.concatenate([patch((0, 0, 0), 100), patch((255, 255, 0), 300)])
    hist = colour_histogram(pixels)
    assert hist.dtype == np.float32 and hist.shape == (11,)
    assert hist[PALETTE.index(C.BLACK)] == pytest.approx(0.25)
    assert hist[PALETTE.index(C.YELLOW)] == pytest.approx(0.75)
    assert hist.sum() == pytest.approx(1.0)
    assert [str(name) for name in PALETTE] == sorted(str(name) for name in PALETTE)


def test_no_pixels_give_no_names_and_a_zero_histogram() -> None:
    empty = np.zeros((0, 3), np.uint8)
    assert name_colours(empty) == ()
    assert not colour_histogram(empty).any()
    assert names_from_histogram(np.zeros(11, np.float32)) == ()


@pytest.mark.parametrize(
    ("pixels", "error"),
    [(np.zeros((4, 3), np.float32), "uint8"), (np.zeros((4, 4), np.uint8), "shape")],
    ids=["float pixels", "four channels"],
)
def test_rejects_pixels_that_are_not_uint8_bgr(pixels: npt.NDArray[np.generic], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        name_colours(pixels)  # type: ignore[arg-type]


def test_names_from_histogram_rejects_a_wrong_length() -> None:
    with pytest.raises(ValueError, match="11 bins"):
        names_from_histogram(np.ones(10, np.float32))


def test_grey_world_removes_a_colour_cast() -> None:
    # sodium-ish orange street light over a grey pavement and a blue coat
    cast = np.array([0.75, 0.95, 1.2], np.float32)  # B, G, R gains in linear light
    scene = np.concatenate([patch((128, 128, 128), 3600), patch((40, 60, 160), 400)])
    lit = apply_gains(scene, cast)
    gains = grey_world_gains(lit)
    assert name_colours(lit[:3600]) != (C.GREY,)
    assert name_colours(lit[:3600], gains=gains) == (C.GREY,)
    assert name_colours(lit[3600:], gains=gains) == (C.BLUE,)
