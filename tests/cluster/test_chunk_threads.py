"""A chunk task's detector uses only the CPUs the task declared to Ray (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_settings
from vigil.cluster.engine import within_declared_cpus


def test_a_chunk_task_uses_as_many_detector_threads_as_cpus_it_declared(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, vision={"threads": 4}, ray={"cpus_per_chunk": 1.0})
    assert within_declared_cpus(settings).vision.threads == 1
    wide = make_settings(tmp_path, vision={"threads": 4}, ray={"cpus_per_chunk": 2.0})
    assert within_declared_cpus(wide).vision.threads == 2
    narrow = make_settings(tmp_path, vision={"threads": 1}, ray={"cpus_per_chunk": 2.0})
    assert within_declared_cpus(narrow) is narrow
