"""A Ray worker process keeps its detector from chunk to chunk (no cluster needed: the cache itself)."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.conftest import make_settings
from vigil.analysis.chunks import chunk_count
from vigil.analysis.jobs import AnalysisSetup
from vigil.cluster.engine import within_declared_cpus
from vigil.cluster.worker import WorkerModels, worker_models


def setup(**params: object) -> AnalysisSetup:
    return AnalysisSetup(
        footage_id=1, width=480, height=360, fps=10.0, frame_count=795, bearing_deg=None, params=params
    )


def test_a_worker_builds_the_detector_once_per_configuration(tmp_path: Path) -> None:
    models = WorkerModels(keep=2)
    settings = within_declared_cpus(make_settings(tmp_path, vision={"threads": 4}, ray={"cpus_per_chunk": 1.0}))
    first, built = models.detector(settings, setup())
    again, built_again = models.detector(settings, setup(detector=None))  # the same configuration, spelt out
    assert (built, built_again) == (True, False) and again is first and models.builds == 1
    other_job, built_other = models.detector(settings, setup(score_threshold=0.7))  # another low score
    assert built_other and other_job is not first
    wider = within_declared_cpus(make_settings(tmp_path, vision={"threads": 4}, ray={"cpus_per_chunk": 2.0}))
    threads, built_threads = models.detector(wider, setup())
    assert built_threads and threads is not first and models.builds == 3
    # Only the two most recently used are kept: the first configuration is built again.
    rebuilt, built_rebuilt = models.detector(settings, setup())
    assert built_rebuilt and rebuilt is not first and models.builds == 4


def test_tasks_starting_together_in_one_worker_build_one_detector(tmp_path: Path) -> None:
    models, settings = WorkerModels(), make_settings(tmp_path)
    start, got = threading.Barrier(6), []

    def task() -> None:
        start.wait()
        got.append(models.detector(settings, setup())[0])

    threads = [threading.Thread(target=task) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert models.builds == 1 and len({id(detector) for detector in got}) == 1 and len(got) == 6


def test_the_process_has_one_worker_models() -> None:
    assert worker_models() is worker_models()


def test_a_file_is_cut_into_chunks_of_about_chunk_s_a_whole_number_per_worker() -> None:
    assert chunk_count(3180, fps=10.0, workers=2, chunk_s=60.0) == 6  # 318 s: 5.3 chunks -> 3 per worker
    assert chunk_count(3180, fps=10.0, workers=1, chunk_s=60.0) == 6
    assert chunk_count(795, fps=10.0, workers=4, chunk_s=60.0) == 4  # short: one per worker
    assert chunk_count(36000, fps=10.0, workers=3, chunk_s=60.0) == 60  # an hour: 60 chunks, 20 per worker
    assert chunk_count(25, fps=10.0, workers=2, chunk_s=60.0) == 2
    assert chunk_count(0, fps=10.0, workers=0, chunk_s=60.0) == 1
