"""Detectors end to end: real footage, sub-region detection, model loading errors, custom decoders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.vision._data import needs_pets, pets_frame, pets_truth
from vigil.domain.detections import PERSON_CLASS_ID
from vigil.vision.decoders import CenterNetDecoder, NanoDetDecoder, YoloV8Decoder
from vigil.vision.detect import Detector, DetectorConfigError, build_detector, matrix_nms
from vigil.vision.nms import batched_nms, iou_matrix
from vigil.vision.runtime import ModelLoadError, bundled_models_dir

FRAME = 701  # eight people in view


def matched(found: npt.NDArray[np.float32], truth: npt.NDArray[np.float32]) -> int:
    """Ground-truth boxes with a detection at IoU >= 0.5."""
    if len(found) == 0 or len(truth) == 0:
        return 0
    return int((iou_matrix(found, truth).max(axis=0) >= 0.5).sum())


@needs_pets
@pytest.mark.parametrize(("name", "minimum"), [("nanodet", 6), ("centernet", 6)])
def test_detector_finds_the_people_of_a_pets_frame(name: str, minimum: int) -> None:
    detector = build_detector(name, threads=1, classes=[PERSON_CLASS_ID])
    assert isinstance(detector, Detector)
    found = detector.detect(pets_frame(FRAME))
    truth = pets_truth(FRAME)
    assert len(truth) == 8
    assert matched(found.xyxy, truth) >= minimum
    assert len(found) <= len(truth) + 2
    assert set(found.class_names()) == {"person"}
    assert np.all((found.score >= 0.4) & (found.score <= 1.0))


@needs_pets
def test_roi_detection_returns_full_frame_boxes_inside_the_region() -> None:
    frame = pets_frame(FRAME)
    truth = pets_truth(FRAME)
    roi = (150, 80, 450, 300)
    within = (truth[:, :2] >= roi[:2]).all(axis=1) & (truth[:, 2:] <= roi[2:]).all(axis=1)
    inside = truth[within]
    detector = build_detector("nanodet", threads=1, classes=[PERSON_CLASS_ID])
    found = detector.detect(frame, roi=roi, input_size=256)
    assert len(inside) == 6
    assert matched(found.xyxy, inside) >= 5
    assert np.all(found.xyxy[:, [0, 2]] >= roi[0]) and np.all(found.xyxy[:, [0, 2]] <= roi[2])
    assert np.all(found.xyxy[:, [1, 3]] >= roi[1]) and np.all(found.xyxy[:, [1, 3]] <= roi[3])
    assert len(detector.detect(frame, roi=(600, 500, 700, 600))) == 0  # outside the frame


def test_missing_and_corrupt_bundled_models_raise_model_load_error(tmp_path: Path) -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    missing = build_detector("nanodet", models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match=r"nanodet\.onnx.*file not found.*vigil models build"):
        missing.detect(image)
    (tmp_path / "nanodet.onnx").write_bytes(b"\x08\x07this is not a protobuf")
    with pytest.raises(ModelLoadError, match=r"nanodet\.onnx.*not a valid ONNX model.*vigil models build"):
        build_detector("nanodet", models_dir=tmp_path).detect(image)


def test_tampered_bundled_model_fails_its_manifest_checksum(tmp_path: Path) -> None:
    shutil.copy(bundled_models_dir() / "MANIFEST.json", tmp_path / "MANIFEST.json")
    data = bytearray((bundled_models_dir() / "centernet.onnx").read_bytes())
    data[-100] ^= 0x01  # still a loadable protobuf, but not the model we shipped
    (tmp_path / "centernet.onnx").write_bytes(bytes(data))
    detector = build_detector("centernet", models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match=r"centernet\.onnx.*SHA-256"):
        detector.load()


def test_build_detector_rejects_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(DetectorConfigError, match="unknown detector"):
        build_detector("yolo9000")
    with pytest.raises(DetectorConfigError, match="unknown decoder"):
        build_detector("custom", custom_model_path=tmp_path / "m.onnx", custom_decoder="ssd")
    with pytest.raises(DetectorConfigError, match="custom_model_path"):
        build_detector("custom", custom_decoder="yolov8")
    with pytest.raises(DetectorConfigError, match="score_threshold"):
        build_detector("nanodet", score_threshold=0.0)


def _constant_yolo_model(path: Path, rows: npt.NDArray[np.float32]) -> Path:
    """A static 1x3x64x64 'YOLOv8 export' whose output is always ``rows`` (1, 4 + C, N)."""
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[0, 1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "rows"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(rows.shape))],
        initializer=[numpy_helper.from_array(np.zeros((), np.float32), "zero"), numpy_helper.from_array(rows, "rows")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path.write_bytes(model.SerializeToString())
    return path


def test_custom_yolov8_model_end_to_end(tmp_path: Path) -> None:
    # cx, cy, w, h (canvas pixels) then class scores; the third box duplicates the first.
    boxes = np.array([[16, 16, 8, 16], [40, 40, 10, 10], [17, 16, 8, 16]], np.float32)
    scores = np.zeros((3, 80), np.float32)
    scores[0, 0], scores[1, 1], scores[1, 0], scores[2, 0] = 0.9, 0.8, 0.1, 0.7
    rows = np.concatenate([boxes, scores], axis=1).T[None].copy()  # (1, 84, 3)
    path = _constant_yolo_model(tmp_path / "yolo.onnx", rows)
    detector = build_detector("custom", custom_model_path=path, custom_decoder="yolov8", score_threshold=0.5)
    found = detector.detect(np.zeros((96, 128, 3), np.uint8))  # fitted into 64x64 at scale 0.5
    assert found.class_id.tolist() == [0, 1]
    np.testing.assert_allclose(found.score, [0.9, 0.8], atol=1e-6)
    np.testing.assert_allclose(found.xyxy, [[24, 16, 40, 48], [70, 70, 90, 90]], atol=1e-4)
    assert found.track_id.tolist() == [-1, -1]


def test_yolov8_decoder_accepts_both_output_orientations() -> None:
    rows = np.zeros((2, 84), np.float32)  # (N, 4 + C)
    rows[0, :6] = [10, 20, 4, 6, 0.2, 0.7]
    rows[1, :6] = [30, 30, 2, 2, 0.1, 0.2]
    for output in (rows[None], rows.T[None]):
        got = YoloV8Decoder().decode({"out": output}, 0.5)
        np.testing.assert_allclose(got.xyxy, [[8, 17, 12, 23]])
        assert got.class_id.tolist() == [1]
    assert len(YoloV8Decoder().decode({"out": rows[None]}, 0.5, classes=[0]).score) == 0


def test_centernet_decoder_keeps_only_local_maxima() -> None:
    heat = np.zeros((1, 2, 8, 8), np.float32)
    heat[0, 0, 2, 3], heat[0, 0, 2, 4] = 0.9, 0.6  # a peak and its weaker neighbour
    heat[0, 1, 6, 6] = 0.7
    ltrb = np.ones((1, 4, 8, 8), np.float32) * 5
    got = CenterNetDecoder().decode({"heatmap": heat, "ltrb": ltrb}, 0.5)
    assert got.class_id.tolist() == [0, 1]
    np.testing.assert_allclose(got.score, [0.9, 0.7])
    np.testing.assert_allclose(got.xyxy, [[7, 3, 17, 13], [19, 19, 29, 29]])  # (x*4 -+ 5, y*4 -+ 5)


def test_nanodet_decoder_integrates_the_distance_distribution() -> None:
    cls = np.zeros((1, 3, 4, 4), np.float32)
    cls[0, 2, 1, 2] = 0.8
    reg = np.full((1, 44, 4, 4), -30.0, np.float32)  # 4 sides x 11 bins of logits
    for side, (bin_a, bin_b) in enumerate([(1, 1), (2, 2), (3, 4), (0, 0)]):
        reg[0, side * 11 + bin_a, 1, 2] = 10.0
        reg[0, side * 11 + bin_b, 1, 2] = 10.0  # two equal bins -> expectation halfway
    outputs = {"cls_8": cls, "reg_8": reg}
    got = NanoDetDecoder(strides=(8,)).decode(outputs, 0.5)
    cx, cy = 2.5 * 8, 1.5 * 8
    np.testing.assert_allclose(got.xyxy, [[cx - 8, cy - 16, cx + 3.5 * 8, cy]], atol=1e-3)
    assert got.class_id.tolist() == [2]


def test_importing_the_detectors_loads_no_runtime() -> None:
    code = "import sys, vigil.vision.detect, vigil_build.convert; print('onnxruntime' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_bundled_manifest_is_valid_json_with_checksums() -> None:
    manifest = json.loads((bundled_models_dir() / "MANIFEST.json").read_text())
    assert all(len(m["sha256"]) == 64 for m in manifest["models"])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_matrix_nms_keeps_exactly_what_greedy_batched_nms_keeps(seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    n = 150
    corner = rng.uniform(0, 40, (n, 2))  # crowded, so that every threshold suppresses some
    boxes = np.concatenate([corner, corner + rng.uniform(30, 60, (n, 2))], axis=1).astype(np.float32)
    scores = rng.choice(np.linspace(0.1, 0.9, 9), n).astype(np.float32)  # many ties: order must match too
    classes = rng.integers(0, 4, n).astype(np.int32)
    expected = batched_nms(boxes, scores, classes, threshold)
    assert 0 < len(expected) < n
    assert np.array_equal(matrix_nms(boxes, scores, classes, threshold), expected)
    assert np.array_equal(matrix_nms(boxes, scores, classes, threshold, max_matrix=10), expected)


def test_matrix_nms_of_nothing_is_empty() -> None:
    empty = np.zeros((0, 4), np.float32)
    assert matrix_nms(empty, np.zeros(0, np.float32), np.zeros(0, np.int32), 0.5).shape == (0,)
