"""The Ray cluster of these tests: head + one joined node on 127.0.0.1, one CPU each (see tests/support/ray_cluster)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.ray_cluster import RAY, RayCluster, local_ray_cluster, use_loopback


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    if not RAY.exists():
        pytest.skip("Ray is not installed (pip install 'vigil[cluster]')")
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is needed for the node that cannot read the store")
    use_loopback()
    with local_ray_cluster() as cluster:
        yield cluster
        import ray

        ray.shutdown()
