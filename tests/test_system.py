"""The system's long-lived objects (built once, lazily, thread-safely, closed with the app) and the one detector
factory every caller shares."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.pipeline import build_analyser, resolve
from vigil.commands.similar import _detector as similar_command_detector
from vigil.search.synopsis.renders import SynopsisRenders
from vigil.system import Lazy, open_system
from vigil.vision.detect import OnnxDetector, configured_detector
from vigil.web.app import create_app


def test_racing_first_users_build_the_object_once() -> None:
    builds: list[int] = []
    gate = threading.Barrier(8)

    def build() -> list[int]:
        builds.append(1)
        return builds

    lazy: Lazy[list[int]] = Lazy(build)
    got: list[object] = []

    def first_use() -> None:
        gate.wait()
        got.append(lazy.get())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and all(value is builds for value in got)


def test_close_releases_the_object_and_the_next_use_builds_a_new_one() -> None:
    closed: list[object] = []
    lazy: Lazy[object] = Lazy(object, closed.append)
    first = lazy.get()
    lazy.close()
    assert closed == [first] and not lazy.built
    assert lazy.get() is not first
    lazy.put(replacement := object())
    assert lazy.get() is replacement and len(closed) == 2


def test_the_app_closes_the_services_it_used_on_shutdown(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    services = app.state.system.services
    with TestClient(app):
        renders = services.synopsis_renders.get()
        index = services.similarity.get()
        assert isinstance(renders, SynopsisRenders) and services.similarity.built
    assert not services.synopsis_renders.built and not services.similarity.built
    assert len(index) == 0


@pytest.mark.parametrize("detector", ["centernet", "nanodet"])
def test_every_caller_detects_with_the_same_calibrated_threshold(tmp_path: Path, detector: str) -> None:
    """Analysis, search by photo (web and `vigil similar`) and `vigil describe` build their detector in one
    place: a person the analysis calls confident is found by a photo search of the same picture too."""
    settings = make_settings(tmp_path / "data", vision={"detector": detector, "score_threshold": 0.4})
    setup = AnalysisSetup(footage_id=1, width=640, height=480, fps=10, frame_count=10, bearing_deg=None, params={})
    confident = resolve(settings, setup).high_score
    system = open_system(settings)
    try:
        photo = system.services.photo_detector.get()
    finally:
        system.close()
    built = [photo, similar_command_detector(settings), configured_detector(settings.vision)]
    assert all(isinstance(d, OnnxDetector) and d.options.score_threshold == confident for d in built)
    analyser_detector = build_analyser(settings, setup).detector
    assert isinstance(analyser_detector, OnnxDetector)
    assert analyser_detector.model.path == photo.model.path  # type: ignore[attr-defined]
    assert confident == pytest.approx(0.3 if detector == "centernet" else 0.4)
