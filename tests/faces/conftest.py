"""The face recognizer is loaded once per test session (its ONNX sessions are read-only)."""

from __future__ import annotations

import pytest

from vigil.vision.faces import FaceRecognizer, default_recognizer


@pytest.fixture(scope="session")
def recognizer() -> FaceRecognizer:
    return default_recognizer(threads=2)
