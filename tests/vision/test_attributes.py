"""Clothing and vehicle colours from segmented pixels, carried-object association and body size.

Generated scenes carry exact truth; the PETS09 and Intel sample footage (skipped when ../shared/data is absent)
checks the same code on real CCTV.
"""

from __future__ import annotations

import collections
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import shared_data_dir
from tests.support.person_scenes import Scene, make_person_scene, read_frames
from vigil.domain.detections import COCO_CLASSES, Detections
from vigil.domain.vocabulary import ColourName
from vigil.vision.attributes import (
    BACKPACK,
    HANDBAG,
    SUITCASE,
    UMBRELLA,
    GroundPlane,
    associate_carried,
    describe_person,
    describe_vehicle,
    measure,
)
from vigil.vision.colour import name_colours
from vigil.vision.segment import (
    ColourModelSegmenter,
    GrabCutSegmenter,
    Segmenter,
    crop_box,
    person_parts,
)

C = ColourName
PETS = shared_data_dir() / "pets09-s2l1"
INTEL = shared_data_dir() / "intel-sample-videos"


# --- builders ---------------------------------------------------------------------------------------------


def make_car_scene(body: tuple[int, int, int], seed: int = 0) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """A car side-on (``body`` paint, dark glass, black tyres) on a grey road; and its box."""
    image = np.clip(np.random.default_rng(seed).normal(110, 6, (200, 300, 3)), 0, 255).astype(np.uint8)
    cv2.rectangle(image, (60, 95), (240, 150), body, -1)  # doors and wings
    cv2.rectangle(image, (100, 60), (200, 95), body, -1)  # pillars and roof
    cv2.rectangle(image, (108, 66), (148, 92), (40, 38, 35), -1)  # windows
    cv2.rectangle(image, (153, 66), (193, 92), (40, 38, 35), -1)
    for centre in ((95, 150), (205, 150)):
        cv2.circle(image, centre, 17, (15, 15, 15), -1)  # tyres
    return image, np.array([55, 55, 245, 170], np.float32)


def box_average_names(scene: Scene) -> tuple[tuple[ColourName, ...], tuple[ColourName, ...]]:
    """What averaging the box's upper and lower bands (instead of segmenting) would report."""
    crop = crop_box(scene.box, scene.image.shape)
    region = crop.of(scene.image).astype(np.float64)
    h = crop.height
    upper = region[int(0.15 * h) : int(0.5 * h)].reshape(-1, 3).mean(axis=0)
    lower = region[int(0.5 * h) : int(0.9 * h)].reshape(-1, 3).mean(axis=0)
    return tuple(name_colours(np.rint(v).astype(np.uint8)[None]) for v in (upper, lower))  # type: ignore[return-value]


SEGMENTERS = [ColourModelSegmenter(), GrabCutSegmenter()]


# --- people -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("segmenter", SEGMENTERS, ids=["colour-model", "grabcut"])
def test_segmented_person_is_red_over_blue_where_the_box_average_is_not(segmenter: Segmenter) -> None:
    scene = make_person_scene()
    attributes = describe_person(scene.image, scene.box, segmenter=segmenter)
    assert attributes.upper == (C.RED,)
    assert attributes.lower == (C.BLUE,)
    upper_avg, lower_avg = box_average_names(scene)
    assert upper_avg != (C.RED,) and lower_avg != (C.BLUE,)  # the box is half background: segmentation matters
    assert attributes.upper_hist.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("segmenter", SEGMENTERS, ids=["colour-model", "grabcut"])
def test_silhouette_follows_the_figure_not_the_box_or_its_shadow(segmenter: Segmenter) -> None:
    scene = make_person_scene()
    silhouette = segmenter.segment(scene.image, scene.box)
    truth = silhouette.crop.of(scene.person)
    shadow = silhouette.crop.of(scene.shadow)
    assert silhouette.source == "colour model"
    iou = (silhouette.mask & truth).sum() / (silhouette.mask | truth).sum()
    assert iou > 0.75
    assert truth.mean() < 0.55  # the figure really is about half its box
    assert shadow.sum() > 100 and (silhouette.mask & shadow).sum() < 0.5 * shadow.sum()  # hard by the shoes


@pytest.mark.parametrize("segmenter", SEGMENTERS, ids=["colour-model", "grabcut"])
def test_a_still_cropped_to_the_person_is_segmented_without_context(segmenter: Segmenter) -> None:
    """A still that is already a tight crop (what a user cuts from a frame for ``vigil describe``): the box is the
    whole image, so the only background is the crop's own edge. GrabCut used to keep the whole box."""
    scene = make_person_scene()
    crop = crop_box(scene.box, scene.image.shape)
    still, truth = np.ascontiguousarray(crop.of(scene.image)), crop.of(scene.person)
    whole = np.array([0, 0, still.shape[1], still.shape[0]], np.float32)
    silhouette = segmenter.segment(still, whole)
    assert silhouette.source == "colour model"
    assert silhouette.mask.mean() < 0.8  # not the whole box
    assert (silhouette.mask & truth).sum() / (silhouette.mask | truth).sum() > 0.6
    attributes = describe_person(still, whole, segmenter=segmenter)
    assert (attributes.upper, attributes.lower) == ((C.RED,), (C.BLUE,))


def test_foreground_mask_is_used_and_its_shadow_label_ignored() -> None:
    scene = make_person_scene()
    fg = np.zeros(scene.person.shape, np.uint8)
    fg[scene.person] = 255
    fg[scene.shadow] = 127  # MOG2's shadow label
    speckle = np.random.default_rng(1).random(fg.shape) < 0.02
    fg[speckle & ~scene.person] = 255  # isolated false positives
    silhouette = ColourModelSegmenter().segment(scene.image, scene.box, fg)
    truth = silhouette.crop.of(scene.person)
    assert silhouette.source == "foreground"
    assert (silhouette.mask & truth).sum() / (silhouette.mask | truth).sum() > 0.85
    attributes = describe_person(scene.image, scene.box, fg)
    assert (attributes.upper, attributes.lower) == ((C.RED,), (C.BLUE,))


def test_an_empty_foreground_mask_falls_back_to_the_colour_model() -> None:
    scene = make_person_scene()  # someone standing still: the background model has absorbed them
    silhouette = ColourModelSegmenter().segment(scene.image, scene.box, np.zeros(scene.person.shape, np.uint8))
    assert silhouette.source == "colour model"


@pytest.mark.parametrize(
    ("top", "trousers", "expected"),
    [
        ((40, 160, 40), (30, 30, 30), ((C.GREEN,), (C.BLACK,))),
        ((235, 235, 235), (90, 90, 90), ((C.WHITE,), (C.GREY,))),
        ((0, 200, 255), (140, 60, 20), ((C.YELLOW,), (C.BLUE,))),
        ((130, 20, 110), (20, 60, 110), ((C.PURPLE,), (C.BROWN,))),
    ],
    ids=["green-black", "white-grey", "yellow-blue", "purple-brown"],
)
def test_other_outfits(
    top: tuple[int, int, int], trousers: tuple[int, int, int], expected: tuple[tuple[ColourName, ...], ...]
) -> None:
    scene = make_person_scene(top, trousers, x=120, seed=3)
    attributes = describe_person(scene.image, scene.box)
    assert (attributes.upper, attributes.lower) == expected


def test_a_box_cut_by_the_frame_edge_still_describes_what_is_visible() -> None:
    scene = make_person_scene(x=8)
    assert scene.box[0] < 0
    attributes = describe_person(scene.image, scene.box)
    assert (attributes.upper, attributes.lower) == ((C.RED,), (C.BLUE,))


def test_degenerate_boxes_give_empty_answers_not_errors() -> None:
    scene = make_person_scene()
    for box in ([300, 300, 320, 340], [50, 50, 50, 90], [10, 10, 11, 11]):
        attributes = describe_person(scene.image, np.array(box, np.float32))
        assert attributes.upper in ((), *[(name,) for name in C])


def test_body_parts_split_the_silhouette_by_height() -> None:
    scene = make_person_scene()
    silhouette = ColourModelSegmenter().segment(scene.image, scene.box)
    upper, lower = person_parts(silhouette)
    rows_upper, rows_lower = np.flatnonzero(upper.any(axis=1)), np.flatnonzero(lower.any(axis=1))
    assert rows_upper.max() < rows_lower.min()
    assert not (upper & ~silhouette.mask).any() and not (lower & ~silhouette.mask).any()
    head_rows = np.flatnonzero(silhouette.mask.any(axis=1))[:10]
    assert not upper[head_rows].any()


# --- vehicles ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [((30, 30, 190), C.RED), ((150, 80, 20), C.BLUE), ((240, 240, 240), C.WHITE), ((25, 25, 25), C.BLACK)],
    ids=["red", "blue", "white", "black"],
)
def test_vehicle_body_colour_ignores_glass_and_tyres(body: tuple[int, int, int], expected: ColourName) -> None:
    image, box = make_car_scene(body)
    assert describe_vehicle(image, box).body == (expected,)


# --- carried objects --------------------------------------------------------------------------------------


def make_detections(rows: list[tuple[float, float, float, float, int]]) -> Detections:
    """Detections from ``(left, top, right, bottom, class_id)`` rows."""
    if not rows:
        return Detections.empty()
    array = np.array(rows, np.float32)
    return Detections(xyxy=array[:, :4], score=np.ones(len(rows), np.float32), class_id=array[:, 4].astype(np.int32))


ALICE, BOB = (100, 100, 140, 220, 0), (300, 100, 340, 220, 0)  # two people far apart, 40 x 120 px
CARRIED_CASES = [
    ("backpack on alice's back", [ALICE, BOB], [(112, 125, 136, 160, BACKPACK)], {0: [0], 1: []}),
    ("handbag at bob's hip", [ALICE, BOB], [(325, 150, 345, 172, HANDBAG)], {0: [], 1: [0]}),
    ("suitcase wheeled beside alice", [ALICE, BOB], [(140, 170, 168, 220, SUITCASE)], {0: [0], 1: []}),
    ("umbrella above bob", [ALICE, BOB], [(290, 70, 350, 110, UMBRELLA)], {0: [], 1: [0]}),
    ("backpack lying on the ground far away", [ALICE, BOB], [(200, 300, 230, 330, BACKPACK)], {0: [], 1: []}),
    ("backpack at alice's feet (dropped, not worn)", [ALICE], [(105, 205, 135, 235, BACKPACK)], {0: []}),
    (
        "handbag between two people side by side",
        [(100, 100, 140, 220, 0), (138, 100, 178, 220, 0)],
        [(130, 150, 148, 172, HANDBAG)],
        {0: [], 1: []},
    ),
    (
        "two bags, one each",
        [ALICE, BOB],
        [(305, 120, 330, 160, BACKPACK), (110, 140, 130, 170, HANDBAG)],
        {0: [1], 1: [0]},
    ),
    ("a car is not carried", [ALICE], [(110, 130, 130, 160, 2)], {0: []}),
    ("nobody to carry it", [], [(110, 130, 130, 160, BACKPACK)], {}),
]


@pytest.mark.parametrize(
    ("persons", "objects", "expected"), [case[1:] for case in CARRIED_CASES], ids=[case[0] for case in CARRIED_CASES]
)
def test_associate_carried(
    persons: list[tuple[float, float, float, float, int]],
    objects: list[tuple[float, float, float, float, int]],
    expected: dict[int, list[int]],
) -> None:
    assert associate_carried(make_detections(persons), make_detections(objects)) == expected


def test_carried_class_ids_match_the_domain_class_list() -> None:
    names = {BACKPACK: "backpack", UMBRELLA: "umbrella", HANDBAG: "handbag", SUITCASE: "suitcase"}
    assert {k: COCO_CLASSES[k] for k in names} == names


# --- size -------------------------------------------------------------------------------------------------


def synthetic_camera(height_m: float = 6.0, tilt_deg: float = 35.0) -> npt.NDArray[np.float64]:
    """3x4 camera ``height_m`` above the ground, looking along +Y tilted down by ``tilt_deg``; f = 800 px."""
    k = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])
    t = np.radians(tilt_deg)
    # camera axes in world coordinates: x right, y down (image rows), z forward
    x_axis = np.array([1.0, 0, 0])
    z_axis = np.array([0, np.cos(t), -np.sin(t)])
    y_axis = np.cross(z_axis, x_axis)
    rotation = np.stack([x_axis, y_axis, z_axis])
    centre = np.array([0, 0, height_m])
    return np.asarray(k @ np.column_stack([rotation, -rotation @ centre]), dtype=np.float64)


def project(camera: npt.NDArray[np.float64], point: tuple[float, float, float]) -> tuple[float, float]:
    p = camera @ np.array([*point, 1.0])
    return float(p[0] / p[2]), float(p[1] / p[2])


@pytest.mark.parametrize("where", [(0.0, 10.0), (3.0, 14.0), (-4.0, 8.0)])
def test_metric_height_from_a_ground_homography(where: tuple[float, float]) -> None:
    camera = synthetic_camera()
    image_to_ground = np.linalg.inv(camera[:, [0, 1, 3]])
    ground = GroundPlane.from_homography(image_to_ground, principal_point=(320, 240))
    assert ground is not None
    foot_u, foot_v = project(camera, (*where, 0.0))
    _, head_v = project(camera, (*where, 1.8))
    size = measure([foot_u - 10, head_v, foot_u + 10, foot_v], ground)
    assert size.height_m == pytest.approx(1.8, rel=1e-3)
    assert size.height_px == pytest.approx(foot_v - head_v) and size.width_px == pytest.approx(20)
    assert ground.to_ground([[foot_u, foot_v]])[0] == pytest.approx(where, abs=1e-6)


def test_size_without_a_ground_plane_is_pixels_only() -> None:
    assert measure([10, 20, 30, 80]) == measure([10, 20, 30, 80], None)
    assert measure([10, 20, 30, 80]).height_m is None
    assert GroundPlane.from_homography(np.eye(3), (0, 0)) is None  # an affine map admits no camera


# --- real footage -----------------------------------------------------------------------------------------


needs_pets = pytest.mark.skipif(not (PETS / "vtest.avi").is_file(), reason=f"PETS09 data not found under {PETS}")


@pytest.fixture(scope="module")
def pets_boxes() -> tuple[npt.NDArray[np.float64], dict[int, npt.NDArray[np.uint8]]]:
    """Every third ground-truth row of PETS09 S2.L1 (frame, id, xyxy) and the frames they need."""
    rows = np.loadtxt(PETS / "gt_mot_full_480x360.txt", delimiter=",", ndmin=2)[::3]
    boxes = np.column_stack([rows[:, 0], rows[:, 1], rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]])
    return boxes, read_frames(PETS / "vtest.avi", set(boxes[:, 0].astype(int).tolist()))


# What a person sees in the crops (checked by eye, see the module report): id -> (upper, lower).
PETS_OUTFITS = {
    1: (C.BLACK, C.BLACK), 2: (C.BLACK, C.BLUE), 5: (C.BLACK, C.BLUE), 6: (C.RED, C.BLACK), 7: (C.BLUE, C.GREY),
    9: (C.BLACK, C.BLUE), 10: (C.RED, None), 13: (C.BLACK, C.BLUE), 14: (C.BLACK, C.BLACK), 17: (C.BLACK, C.BLUE),
}  # fmt: skip


@pytest.mark.data
@needs_pets
def test_pets_people_keep_their_colours_from_frame_to_frame(
    pets_boxes: tuple[npt.NDArray[np.float64], dict[int, npt.NDArray[np.uint8]]],
) -> None:
    boxes, frames = pets_boxes
    upper: dict[int, collections.Counter[ColourName]] = collections.defaultdict(collections.Counter)
    lower: dict[int, collections.Counter[ColourName]] = collections.defaultdict(collections.Counter)
    counts: collections.Counter[int] = collections.Counter()
    for number, identity, *box in boxes.tolist():
        attributes = describe_person(frames[int(number)], np.array(box))
        upper[int(identity)].update(attributes.upper)
        lower[int(identity)].update(attributes.lower)
        counts[int(identity)] += 1
    for identity, n in counts.items():
        if n >= 20:  # the modal upper colour is among the names reported for >= 70 % of the person's boxes
            assert upper[identity].most_common(1)[0][1] >= 0.7 * n, (identity, upper[identity], n)
    for identity, (top, bottom) in PETS_OUTFITS.items():
        assert upper[identity].most_common(1)[0][0] == top, (identity, upper[identity])
        if bottom is not None:
            assert lower[identity].most_common(1)[0][0] == bottom, (identity, lower[identity])


def pets_ground_homography() -> npt.NDArray[np.float64]:
    """Image (480x360) -> ground (metres) homography from the Tsai calibration shipped with PETS09 (768x576)."""
    root = ET.parse(PETS / "View_001_calibration.xml").getroot()
    geometry, intrinsic, extrinsic = (
        {k: float(v) for k, v in root.find(tag).attrib.items()}  # type: ignore[union-attr]
        for tag in ("Geometry", "Intrinsic", "Extrinsic")
    )
    sa, ca = np.sin(extrinsic["rx"]), np.cos(extrinsic["rx"])
    sb, cb = np.sin(extrinsic["ry"]), np.cos(extrinsic["ry"])
    sg, cg = np.sin(extrinsic["rz"]), np.cos(extrinsic["rz"])
    rotation = np.array([
        [cb * cg, cg * sa * sb - ca * sg, sa * sg + ca * cg * sb],
        [cb * sg, sa * sb * sg + ca * cg, ca * sb * sg - cg * sa],
        [-sb, cb * sa, ca * cb],
    ])  # fmt: skip
    translation = np.array([extrinsic["tx"], extrinsic["ty"], extrinsic["tz"]])  # millimetres
    s, f = 480 / 768, intrinsic["focal"]
    k = np.array([
        [s * intrinsic["sx"] * f / geometry["dpx"], 0, s * intrinsic["cx"]],
        [0, s * f / geometry["dy"], s * intrinsic["cy"]],
        [0, 0, 1],
    ])  # fmt: skip
    ground_mm_to_image = k @ np.column_stack([rotation[:, 0], rotation[:, 1], translation])
    return np.linalg.inv(ground_mm_to_image @ np.diag([1000.0, 1000.0, 1.0]))


@pytest.mark.data
@needs_pets
def test_pets_people_measure_like_adults() -> None:
    rows = np.loadtxt(PETS / "gt_mot_full_480x360.txt", delimiter=",", ndmin=2)
    ground = GroundPlane.from_homography(pets_ground_homography(), principal_point=(240, 180))
    assert ground is not None
    boxes = np.column_stack([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]])
    heights = np.array([measure(box, ground).height_m for box in boxes])
    assert 1.6 < np.median(heights) < 1.9
    assert np.mean((heights > 1.3) & (heights < 2.2)) > 0.9


@pytest.mark.data
@pytest.mark.skipif(not (INTEL / "car-detection.mp4").is_file(), reason=f"Intel sample videos not under {INTEL}")
def test_car_park_cars_are_named_by_their_paint() -> None:
    frames = read_frames(INTEL / "car-detection.mp4", {61, 201})
    cases = [(201, (315, 216, 496, 432), C.RED), (61, (286, 323, 484, 432), C.WHITE)]  # boxes drawn by hand
    for number, box, expected in cases:
        assert describe_vehicle(frames[number], np.array(box, np.float32)).body[0] == expected
