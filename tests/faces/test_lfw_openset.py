"""Open-set identification on a fixed subset of LFW through the real enrol and identify services (shared data)."""

from __future__ import annotations

import pytest
from bench.faces_lfw import run_lfw

from tests.conftest import shared_data_dir


@pytest.mark.data
def test_the_first_120_lfw_people_enrol_and_are_found() -> None:
    root = shared_data_dir() / "lfw-dev"
    if not root.is_dir():
        pytest.skip(f"shared data absent: {root}")
    result = run_lfw(root, limit=120, threads=2)
    assert result.subjects == 60
    assert result.fte <= 0.05, result.refused  # the full set: see BENCHMARKS.md
    assert result.chose_face + result.auto_face > 0, "some LFW photos show several faces"
    assert result.searches.mated_photos >= 80 and result.searches.non_mated_photos >= 120
    assert result.at_1.tpir >= 0.85, result.at_1
