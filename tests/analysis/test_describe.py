from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import shared_data_dir
from vigil.analysis.describe import read_image
from vigil.cli import app
from vigil.errors import InvalidInput

PETS = shared_data_dir() / "pets09-s2l1"
needs_data = pytest.mark.skipif(not PETS.exists(), reason="../shared/data is absent")


def _pets_crop(tmp_path: Path, frame_no: int, identity: int) -> Path:
    """A tight crop (10 px margin) of one ground-truth person from PETS09 frame ``frame_no`` (1-based)."""
    with av.open(str(PETS / "vtest.avi")) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index == frame_no - 1:
                image = frame.to_ndarray(format="bgr24")
                break
    for line in (PETS / "gt_mot_full_480x360.txt").read_text().splitlines():
        f, i, x, y, w, h = (float(v) for v in line.split(",")[:6])
        if int(f) == frame_no and int(i) == identity:
            x0, y0 = max(0, int(x) - 10), max(0, int(y) - 10)
            crop = image[y0 : int(y + h) + 10, x0 : int(x + w) + 10]
            path = tmp_path / f"pets_{frame_no}_{identity}.png"
            cv2.imwrite(str(path), crop)
            return path
    raise AssertionError(f"identity {identity} not in frame {frame_no}")


@needs_data
def test_describe_names_the_red_jacket_of_a_tight_cctv_crop(tmp_path: Path) -> None:
    crop = _pets_crop(tmp_path, 701, 3)
    result = CliRunner().invoke(app, ["describe", str(crop), "--json"])
    assert result.exit_code == 0, result.output
    [described] = json.loads(result.stdout)
    persons = [o for o in described["objects"] if o["class"] == "person"]
    assert len(persons) == 1
    assert "red" in persons[0]["upper_colours"]
    x0, y0, x1, y1 = persons[0]["box"]
    height, width = cv2.imread(str(crop)).shape[:2]
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and (y1 - y0) > 0.6 * (height - 20)


def test_describe_refuses_files_that_are_not_images(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path in (text, empty, tmp_path / "missing.png"):
        with pytest.raises(InvalidInput):
            read_image(path)
    result = CliRunner().invoke(app, ["describe", str(text), "--json"])
    assert result.exit_code == 2
    assert "not an image" in json.loads(result.stdout)[0]["error"]


def test_read_image_returns_bgr(tmp_path: Path) -> None:
    path = tmp_path / "red.png"
    cv2.imwrite(str(path), np.full((8, 8, 3), (0, 0, 255), dtype=np.uint8))
    assert read_image(path)[0, 0].tolist() == [0, 0, 255]
