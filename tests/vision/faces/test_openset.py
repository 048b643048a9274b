from __future__ import annotations

import numpy as np
import pytest

from vigil.vision.faces.openset import (
    d_prime,
    fpir_at,
    leave_identity_out_searches,
    operating_point,
    pair_scores,
    threshold_for_fpir,
    tpir_at,
    wilson_interval,
)


def test_searches_count_mated_and_non_mated_from_one_matrix() -> None:
    ids = ["a", "a", "b", "b", "c"]
    similarity = np.array(
        [
            [1.0, 0.9, 0.1, 0.2, 0.3],
            [0.9, 1.0, 0.2, 0.1, 0.6],
            [0.1, 0.2, 1.0, 0.8, 0.1],
            [0.2, 0.1, 0.8, 1.0, 0.4],
            [0.3, 0.6, 0.1, 0.4, 1.0],
        ]
    )
    searches = leave_identity_out_searches(similarity, ids)
    # two draws (a and b have 2 photos); per draw: 2 mated probes, 5 non-mated (c only has non-mated)
    assert searches.draws == 2 and searches.gallery_size == 2
    assert len(searches.mated_score) == 4 and searches.mated_correct.all()
    assert sorted(searches.mated_score) == pytest.approx([0.8, 0.8, 0.9, 0.9])
    assert len(searches.non_mated_score) == 10
    # c against gallery {a0, b0} then {a1, b1}: best 0.3, then 0.6
    assert 0.6 in searches.non_mated_score and 0.3 in searches.non_mated_score


def test_threshold_holds_fpir_at_or_under_the_target() -> None:
    non_mated = np.linspace(0, 1, 1000)
    threshold = threshold_for_fpir(non_mated, 0.01)
    assert (non_mated >= threshold).mean() <= 0.01
    assert (non_mated >= threshold - 1e-3).mean() > 0.01 - 1e-9


@pytest.mark.parametrize(("rate", "n"), [(0.0, 10), (0.5, 40), (1.0, 75)])
def test_wilson_interval_contains_the_rate(rate: float, n: int) -> None:
    low, high = wilson_interval(rate, n)
    assert 0.0 <= low <= rate <= high <= 1.0


def test_operating_point_and_pair_scores() -> None:
    ids = ["a", "a", "b", "b"]
    similarity = np.array([[1, 0.9, 0.1, 0.2], [0.9, 1, 0.2, 0.1], [0.1, 0.2, 1, 0.7], [0.2, 0.1, 0.7, 1]], float)
    searches = leave_identity_out_searches(similarity, ids)
    point = operating_point(searches, 0.0)
    assert point.fpir == 0.0 and point.tpir == 1.0
    assert tpir_at(searches, 0.95) == 0.0 and fpir_at(searches, 0.0) == 1.0
    genuine, impostor = pair_scores(similarity, ids)
    assert sorted(genuine) == pytest.approx([0.7, 0.9]) and len(impostor) == 4
    assert d_prime(genuine, impostor) > 3


def test_needs_an_identity_with_two_photos() -> None:
    with pytest.raises(ValueError, match="two or more photos"):
        leave_identity_out_searches(np.eye(2), ["a", "b"])
