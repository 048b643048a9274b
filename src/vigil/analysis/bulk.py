"""A job runner that analyses a footage file in chunks (see :mod:`vigil.analysis.chunks`) on a :class:`ChunkMap`.

Same job life as :class:`~vigil.analysis.jobs.JobRunner` (start and resume audit, failure, completion), only the
walk differs: the file is cut at keyframes, the chunks run wherever the map runs them (in this process, or as Ray
tasks), each finished chunk's records are spooled under the data folder, and when all are in the driver joins
them and writes every track in the one transaction that marks the job done. A job interrupted (shutdown,
cancel) resumes with the chunks still missing; a chunk task that is retried writes nothing, so no track is
written twice. A job that was checkpointed by the sequential runner resumes sequentially.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vigil.analysis.chunks import (
    Chunk,
    ChunkMap,
    ChunkResult,
    ChunkSpool,
    chunk_count,
    join_chunks,
    keyframes,
    plan_chunks,
)
from vigil.analysis.jobs import AnalysisSetup, JobRunner
from vigil.db.models import AnalysisJob
from vigil.domain.detections import Detections
from vigil.settings import Settings


def spool_folder(data_dir: Path, footage_id: int, job_id: int) -> Path:
    return data_dir / "derived" / str(footage_id) / "chunks" / str(job_id)


@dataclass
class ChunkedRunner(JobRunner):
    """A :class:`JobRunner` whose walk runs chunks on ``chunks`` (``settings`` go to every chunk task)."""

    settings: Settings | None = None
    chunks: ChunkMap | None = None
    parts: int | None = None
    """How many chunks to cut a file into (default: :func:`~vigil.analysis.chunks.chunk_count` of its length and
    of what the chunk map can run at once)."""

    def _walk(self, job_id: int, setup: AnalysisSetup, path: Path, start: int, state: bytes | None) -> AnalysisJob:
        if state is not None or start > 0 or self.settings is None or self.chunks is None:
            return super()._walk(job_id, setup, path, start, state)
        plan = self.plan(path, setup)
        spool = ChunkSpool(spool_folder(self.data_dir, setup.footage_id, job_id))
        results = spool.load(plan)
        missing = [chunk for chunk in plan if chunk.index not in results]
        total = plan[-1].end if plan else 0
        done = sum(chunk.frames for chunk in plan if chunk.index in results)

        def tick(frames_now: int) -> None:
            if self.on_progress is not None:
                self.on_progress(min(total, done + frames_now), setup.frame_count or total)

        by_index = {chunk.index: chunk for chunk in plan}
        for result in self.chunks.run(self.settings, setup, path, missing, tick):
            spool.save(result, by_index[result.index])
            results[result.index] = result
            done += by_index[result.index].frames
            tick(0)
        return self._finish(job_id, setup, plan, list(results.values()), spool)

    def plan(self, path: Path, setup: AnalysisSetup) -> list[Chunk]:
        assert self.settings is not None and self.chunks is not None
        fps = setup.fps if setup.fps > 0 else 10.0
        cluster = self.settings.ray
        found = keyframes(path)
        parts = self.parts or chunk_count(
            found.frame_count, fps=fps, workers=self.chunks.parts(), chunk_s=cluster.chunk_s
        )
        return plan_chunks(
            found,
            parts=parts,
            overlap_frames=max(1, round(cluster.chunk_overlap_s * fps)),
            min_frames=max(1, round(cluster.min_chunk_s * fps)),
        )

    def _finish(
        self, job_id: int, setup: AnalysisSetup, plan: Sequence[Chunk], results: list[ChunkResult], spool: ChunkSpool
    ) -> AnalysisJob:
        from vigil.analysis.pipeline import build_analyser

        assert self.settings is not None
        records = join_chunks(results, plan)
        # An analyser only to filter noise and summarise, numbering the tracks as one sequential run does.
        tracks = build_analyser(self.settings, setup, detector=_NoDetector()).summarise(records)
        job = self._complete(job_id, tracks, plan[-1].end if plan else 0)
        spool.clear()
        return job


class _NoDetector:
    """Stands in for the detector of an analyser that only summarises (never asked to detect)."""

    def detect(self, frame: object, *, roi: object = None, input_size: int | None = None) -> Detections:
        raise AssertionError("the summarising analyser detects nothing")
