"""The Detections value type, preprocessing geometry and NMS."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vigil.domain import COCO_CLASSES, Detections
from vigil.vision.nms import batched_nms, iou_matrix, nms
from vigil.vision.preprocess import InputSpec, canvas_size, letterbox


def sample() -> Detections:
    return Detections(
        xyxy=np.array([[0, 0, 10, 20], [5, 5, 15, 15], [100, 50, 110, 90]]),
        score=np.array([0.9, 0.5, 0.7]),
        class_id=np.array([0, 2, 0]),
    )


def test_columns_are_coerced_and_track_ids_default_to_minus_one() -> None:
    d = sample()
    assert len(d) == 3
    assert d.xyxy.dtype == np.float32 and d.score.dtype == np.float32
    assert d.class_id.dtype == np.int32 and d.track_id.dtype == np.int64
    assert d.track_id.tolist() == [-1, -1, -1]
    assert d.class_names() == ["person", "car", "person"]
    assert len(COCO_CLASSES) == 80 and COCO_CLASSES[79] == "toothbrush"
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.score = np.zeros(3, np.float32)  # type: ignore[misc]


def test_indexing_by_mask_index_array_slice_and_int() -> None:
    d = sample()
    assert d[d.class_id == 0].score.tolist() == pytest.approx([0.9, 0.7])
    assert d[np.array([2, 0])].xyxy[0].tolist() == [100, 50, 110, 90]
    assert len(d[1:]) == 2
    single = d[1]
    assert len(single) == 1 and single.class_id.tolist() == [2]
    assert len(d[np.zeros(3, bool)]) == 0


def test_concat_empty_and_helpers() -> None:
    d = sample()
    both = Detections.concat([d, Detections.empty(), d.with_track_ids([7, 8, 9])])
    assert len(both) == 6
    assert both.track_id.tolist() == [-1, -1, -1, 7, 8, 9]
    assert len(Detections.concat([])) == 0
    assert d.area().tolist() == [200, 100, 400]
    assert d.with_classes([2]).class_id.tolist() == [2]
    moved = d.transformed(2.0, 0.5, 10, 1)
    assert moved.xyxy[0].tolist() == [10, 1, 30, 11]
    assert d.clipped(105, 60).xyxy[2].tolist() == [100, 50, 105, 60]


def test_inconsistent_columns_are_rejected() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        Detections(np.zeros((2, 4), np.float32), np.zeros(3, np.float32), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="shape"):
        Detections(np.zeros((2, 3), np.float32), np.zeros(2, np.float32), np.zeros(2, np.int32))


def test_canvas_keeps_aspect_ratio_on_a_stride_grid() -> None:
    assert canvas_size(480, 360, 512, 32) == (512, 384, 512 / 480)
    assert canvas_size(1920, 1080, 416, 32)[:2] == (416, 256)  # 234 -> padded to 256
    image = np.full((360, 480, 3), 200, np.uint8)
    canvas, placement = letterbox(image, 416, 32)
    assert canvas.shape == (320, 416, 3)  # 416x312 image + 8 rows of padding
    assert canvas[:312].min() == 200 and canvas[312:].max() == 0
    boxes = np.array([[0, 0, 416, 312]], np.float32)
    np.testing.assert_allclose(placement.to_source(boxes), [[0, 0, 480, 360]], atol=1e-3)
    fixed, placement = letterbox(image, 0, 32, canvas=(64, 64), pad_value=114)
    assert fixed.shape == (64, 64, 3) and fixed[60, 0, 0] == 114 and placement.scale_x == pytest.approx(64 / 480)


def test_input_spec_layout_order_and_normalisation() -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    image[..., 0] = 10  # blue
    image[..., 2] = 250  # red
    nchw = InputSpec(layout="nchw", channel_order="rgb", std=(255.0, 255.0, 255.0)).to_tensor(image)
    assert nchw.shape == (1, 3, 32, 32)
    assert nchw[0, 0, 0, 0] == pytest.approx(250 / 255) and nchw[0, 2, 0, 0] == pytest.approx(10 / 255)
    nhwc = InputSpec(layout="nhwc", channel_order="bgr", mean=(10.0, 0.0, 0.0)).to_tensor(image)
    assert nhwc.shape == (1, 32, 32, 3) and nhwc[0, 0, 0].tolist() == [0.0, 0.0, 250.0]


def test_nms_suppresses_overlaps_within_a_class_only() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.8, 0.9, 0.5, 0.7], np.float32)
    assert iou_matrix(boxes[:1], boxes[1:2])[0, 0] == pytest.approx(90 / 110)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    classes = np.array([0, 0, 0, 1], np.int32)
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == [1, 3, 2]
    assert batched_nms(boxes[:0], scores[:0], classes[:0], 0.5).tolist() == []
