"""Bulk analysis on Ray: chunk tasks (:class:`RayChunks`) and the job executor of the web app (:class:`RayExecutor`).

The job's driver (a thread of the web app, or the `vigil analyse` process) runs :class:`ChunkedRunner`: it
plans the chunks, submits one Ray task per chunk (declaring ``settings.ray.cpus_per_chunk`` CPUs, retried up to
``settings.ray.task_retries`` times when its worker dies), and writes every track itself when all are in. The
tasks only read the footage file (from the shared store) and return records; a worker process keeps its detector
from one chunk task to the next (:mod:`vigil.cluster.worker`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from vigil.analysis.bulk import ChunkedRunner
from vigil.analysis.chunks import Chunk, ChunkResult, Tick, analyse_chunk
from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.worker import ProgressWriter, ThreadExecutor
from vigil.db.database import Backend
from vigil.errors import VigilError
from vigil.settings import Settings

BOARD = "vigil-bulk-board"
"""Name of the detached actor that keeps the queue of bulk chunks, for `vigil cluster status`."""


class ClusterError(VigilError):
    """The Ray cluster cannot be used (not installed, unreachable, or a prerequisite is missing)."""


def connect(settings: Settings) -> Any:
    """The ``ray`` module, connected to the configured cluster (once per process)."""
    try:
        import ray
    except ImportError:
        raise ClusterError("VIGIL_ENGINE=ray needs Ray: pip install 'vigil[cluster]'") from None
    if not ray.is_initialized():
        try:
            ray.init(
                address=settings.ray.address,
                namespace=settings.ray.namespace,
                _node_ip_address=settings.ray.node_ip_address,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError) as exc:
            raise ClusterError(f"cannot join the Ray cluster at {settings.ray.address!r}: {exc}") from None
    return ray


class ChunkBoard:
    """Ray actor: which chunks of which jobs are queued, running (on which node) or done."""

    def __init__(self) -> None:
        self.chunks: dict[str, dict[str, object]] = {}

    def queued(self, job_id: int, indices: list[int]) -> None:
        for index in indices:
            self.chunks[f"{job_id}/{index}"] = {"job": job_id, "chunk": index, "state": "queued", "node": None}

    def running(self, job_id: int, index: int, node: str) -> None:
        self.chunks[f"{job_id}/{index}"] = {"job": job_id, "chunk": index, "state": "running", "node": node}

    def finished(self, job_id: int, indices: list[int]) -> None:
        for index in indices:
            self.chunks.pop(f"{job_id}/{index}", None)

    def snapshot(self) -> list[dict[str, object]]:
        return sorted(self.chunks.values(), key=lambda c: (str(c["job"]), str(c["chunk"])))


def board(ray: Any) -> Any:
    """The cluster's chunk board (created on first use; it outlives the driver that made it)."""
    actor = ray.remote(num_cpus=0, max_restarts=-1)(ChunkBoard)
    return actor.options(name=BOARD, lifetime="detached", get_if_exists=True).remote()


def chunk_task(settings: Settings, setup: AnalysisSetup, path: Path, chunk: Chunk, job_id: int) -> ChunkResult:
    """The body of a chunk's Ray task: say where it runs, then analyse with the detector its worker process
    keeps from chunk to chunk (it writes nothing)."""
    import ray

    from vigil.cluster.worker import worker_models

    with_board = board(ray)
    with_board.running.remote(job_id, chunk.index, ray.get_runtime_context().get_node_id())
    settings = within_declared_cpus(settings)
    detector, loaded = worker_models().detector(settings, setup)
    result = analyse_chunk(settings, setup, path, chunk, detector=detector)
    return replace(result, worker_pid=os.getpid(), loaded_detector=loaded)


def within_declared_cpus(settings: Settings) -> Settings:
    """Settings whose detector uses no more threads than the CPUs the chunk's task declared: a Ray CPU is only a
    scheduling token, so a task with ONNX Runtime's default threads would take the cores of the tasks beside it."""
    threads = max(1, int(settings.ray.cpus_per_chunk))
    if settings.vision.threads <= threads:
        return settings
    return settings.model_copy(update={"vision": settings.vision.model_copy(update={"threads": threads})})


class RayChunks:
    """A :class:`~vigil.analysis.chunks.ChunkMap` that runs each chunk as a Ray task."""

    def __init__(self, settings: Settings, *, job_id: int = 0) -> None:
        self._settings, self._job_id = settings, job_id
        self._ray = connect(settings)

    def parts(self) -> int:
        cpus = float(self._ray.cluster_resources().get("CPU", 1.0))
        return max(1, int(cpus // self._settings.ray.cpus_per_chunk))

    def run(
        self, settings: Settings, setup: AnalysisSetup, path: Path, chunks: Sequence[Chunk], tick: Tick
    ) -> Iterator[ChunkResult]:
        ray, cluster = self._ray, self._settings.ray
        task = ray.remote(chunk_task).options(num_cpus=cluster.cpus_per_chunk, max_retries=cluster.task_retries)
        chunk_board = board(ray)
        chunk_board.queued.remote(self._job_id, [chunk.index for chunk in chunks])
        pending = [task.remote(settings, setup, path, chunk, self._job_id) for chunk in chunks]
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
                for ref in ready:
                    result: ChunkResult = ray.get(ref)
                    chunk_board.finished.remote(self._job_id, [result.index])
                    yield result
                tick(0)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            chunk_board.finished.remote(self._job_id, [chunk.index for chunk in chunks])


def ray_runner(
    backend: Backend, *, job_id: int, on_progress: Callable[[int, int], None] | None = None
) -> ChunkedRunner:
    """The chunked runner of one job, its chunks run as Ray tasks."""
    from vigil.analysis.decode import frames
    from vigil.analysis.pipeline import build_analyser

    settings = backend.settings
    return ChunkedRunner(
        sessions=backend.sessions,
        data_dir=settings.data_dir,
        make_analyser=partial(build_analyser, settings),
        frames=frames,
        checkpoint_seconds=settings.analysis.checkpoint_seconds,
        on_progress=on_progress,
        zone=settings.zone,
        settings=settings,
        chunks=RayChunks(settings, job_id=job_id),
    )


def run_ray_job(backend: Backend, job_id: int, *, stop: threading.Event | None = None) -> int:
    """Run one job as chunk tasks with live progress; the number of tracks it wrote."""
    writer = ProgressWriter(backend.sessions, job_id, stop=stop)
    try:
        return ray_runner(backend, job_id=job_id, on_progress=writer).run(job_id).tracks_written
    finally:
        writer.close()


class RayExecutor(ThreadExecutor):
    """The web app's :class:`~vigil.analysis.worker.JobExecutor` under ``VIGIL_ENGINE=ray``: each job's driver is
    a thread here (one job at a time, its chunks spread over the cluster); shutting down interrupts the running
    job (its finished chunks are kept and it resumes with the rest at the next start)."""

    def __init__(self, settings: Settings) -> None:
        from vigil.cluster.checks import require_cluster

        require_cluster(settings)
        super().__init__(
            settings, run=run_ray_job, thread_name="vigil-ray-driver", resumes="with its unfinished chunks"
        )
