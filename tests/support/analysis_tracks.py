"""Comparing two runs of the pipeline track by track."""

from __future__ import annotations

import dataclasses

import numpy as np

from vigil.domain.tracks import FinishedTrack


def assert_same_tracks(a: list[FinishedTrack], b: list[FinishedTrack]) -> None:
    assert [t.track_no for t in a] == [t.track_no for t in b]
    for x, y in zip(a, b, strict=True):
        for name in ("frame_index", "t", "xyxy", "score"):
            assert np.array_equal(getattr(x.observations, name), getattr(y.observations, name)), name
        for field in dataclasses.fields(x.summary):
            left, right = getattr(x.summary, field.name), getattr(y.summary, field.name)
            if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
                assert left is not None and right is not None and np.array_equal(left, right), field.name
            else:
                assert left == right, field.name
