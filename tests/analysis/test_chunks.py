"""Chunked bulk analysis without Ray: keyframe cuts, frame-exact seeks, joining tracks across a cut, PETS09
accuracy against the sequential run, and a job that resumes with its unfinished chunks."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np
import pytest
from bench._common import pets_scores
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import shared_data_dir
from tests.support.analysed import make_footage
from tests.support.builders import make_camera, make_user
from tests.support.scenes import BlobDetector, write_keyframed_video
from vigil.analysis.bulk import ChunkedRunner, spool_folder
from vigil.analysis.chunks import (
    Chunk,
    ChunkResult,
    InProcessChunks,
    analyse_chunk,
    chunk_frames,
    join_chunks,
    keyframes,
    plan_chunks,
)
from vigil.analysis.jobs import AnalysisSetup, JobStatus
from vigil.analysis.pipeline import build_analyser, frames
from vigil.analysis.summary import TrackRecord
from vigil.analysis.worker import JobInterrupted
from vigil.db.models import AnalysisJob, Track
from vigil.domain.tracks import FinishedTrack
from vigil.settings import Settings

PETS = shared_data_dir() / "pets09-s2l1" / "vtest.avi"
PETS_SETUP = AnalysisSetup(
    footage_id=1, width=480, height=360, fps=10.0, frame_count=795, bearing_deg=None, params={"detector": "centernet"}
)
needs_pets = [
    pytest.mark.data,
    pytest.mark.skipif(not PETS.exists(), reason="shared PETS09 data not available"),
]


def walker(frames_seen: range, x0: float, *, step: float = 2.0) -> TrackRecord:
    """A record of one person walking right, detected on ``frames_seen``."""
    record = TrackRecord()
    for f in frames_seen:
        record.add(f, f / 10.0, [x0 + step * f, 100.0, x0 + step * f + 20.0, 160.0], 0.9, 0)
    return record


def test_a_person_visible_across_a_cut_is_one_track_and_one_new_in_the_overlap_is_not_doubled() -> None:
    first, second = Chunk(0, 0, 100, 130, None), Chunk(1, 100, 200, 200, 101)
    crossing = walker(range(20, 130, 5), 0.0)  # seen by chunk 0 up to its stop
    crossing_again = walker(range(103, 180, 5), 0.0)  # chunk 1's cold start picks the same person up
    newcomer_early = walker(range(110, 130, 5), 300.0)  # appears in the overlap: chunk 0 saw its start...
    newcomer = walker(range(112, 190, 5), 300.0)  # ... and chunk 1 saw all of it
    gone = walker(range(0, 60, 5), 500.0)  # left before the cut
    joined = join_chunks(
        [ChunkResult(0, [gone, crossing, newcomer_early], 130), ChunkResult(1, [crossing_again, newcomer], 100)],
        [first, second],
    )
    spans = sorted((r.frames[0], r.frames[-1]) for r in joined)
    # The newcomer is one track too: chunk 0's warm start of it, then chunk 1's rest.
    assert spans == [(0, 55), (20, 178), (110, 187)]
    for record in joined:
        assert record.frames == sorted(set(record.frames)), "the overlap's detections are not counted twice"


def test_a_missing_chunk_result_is_an_error_not_a_gap() -> None:
    with pytest.raises(ValueError, match=r"chunks \[1\] have no result"):
        join_chunks([ChunkResult(0, [], 10)], [Chunk(0, 0, 10, 12, None), Chunk(1, 10, 20, 20, 11)])


@pytest.mark.parametrize(
    ("parts", "min_frames", "starts"),
    [(4, 1, [0, 250, 500, 750]), (2, 1, [0, 500]), (1, 1, [0]), (4, 300, [0, 500])],
)
@pytest.mark.data
@pytest.mark.skipif(not PETS.exists(), reason="shared PETS09 data not available")
def test_chunks_start_at_keyframes_and_cover_the_file(parts: int, min_frames: int, starts: list[int]) -> None:
    found = keyframes(PETS)
    assert found.indices == (0, 250, 500, 750) and found.frame_count == 795
    chunks = plan_chunks(found, parts=parts, overlap_frames=30, min_frames=min_frames)
    assert [c.start for c in chunks] == starts
    assert [c.end for c in chunks] == [*starts[1:], 795]
    assert all(c.stop == min(795, c.end + 30) for c in chunks[:-1]) and chunks[-1].stop == 795


@pytest.mark.data
@pytest.mark.skipif(not PETS.exists(), reason="shared PETS09 data not available")
def test_a_chunk_decoded_from_a_seek_has_the_frames_of_a_decode_from_the_top() -> None:
    chunk = plan_chunks(keyframes(PETS), parts=4, overlap_frames=30)[2]
    seen = list(chunk_frames(PETS, chunk))
    assert [f.index for f in seen] == list(range(500, 780))
    top = list(itertools.islice(frames(PETS, 498), 4))
    for expected, got in zip(top[2:], seen[:2], strict=True):
        assert (got.index, got.timestamp) == (expected.index, expected.timestamp)
        assert np.array_equal(got.image, expected.image)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> list[FinishedTrack]:
    analyser = build_analyser(Settings(data_dir=tmp_path_factory.mktemp("seq")), PETS_SETUP)
    return [t for frame in frames(PETS, 0) for t in analyser.process(frame)] + analyser.finish()


@pytest.mark.data
@pytest.mark.skipif(not PETS.exists(), reason="shared PETS09 data not available")
def test_pets09_in_four_chunks_scores_as_the_sequential_run(sequential: list[FinishedTrack], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    overlap = round(settings.ray.chunk_overlap_s * PETS_SETUP.fps)
    chunks = plan_chunks(keyframes(PETS), parts=4, overlap_frames=overlap)
    assert len(chunks) == 4
    results = [analyse_chunk(settings, PETS_SETUP, PETS, chunk) for chunk in chunks]
    tracks = build_analyser(settings, PETS_SETUP).summarise(join_chunks(results, chunks))
    whole, cut = pets_scores(sequential, 795)["full"], pets_scores(tracks, 795)["full"]
    assert abs(cut["mota"] - whole["mota"]) <= 0.01, (cut, whole)
    assert abs(cut["idf1"] - whole["idf1"]) <= 0.01, (cut, whole)
    assert abs(len(tracks) - len(sequential)) <= 1
    # Every person the sequential run follows across a cut without a break is one track here too.
    for boundary in (250, 500, 750):
        across = [
            t
            for t in sequential
            if t.observations.frame_index[0] < boundary - 30 < boundary + 30 < t.observations.frame_index[-1]
        ]
        joined = [
            t
            for t in tracks
            if t.observations.frame_index[0] < boundary - 30 < boundary + 30 < t.observations.frame_index[-1]
        ]
        assert len(joined) >= len(across), boundary


def scene_job(db: Session, settings: Settings) -> AnalysisJob:
    user = make_user(db, "analyst", trained_for=("analytics",))
    (settings.data_dir / "scenes").mkdir(parents=True, exist_ok=True)
    video = settings.data_dir / "scenes" / "crossing.mp4"
    count = write_keyframed_video(video, 25)
    footage = make_footage(
        db, camera=make_camera(db), user=user, video=video, data_dir=settings.data_dir, frame_count=count
    )
    job = AnalysisJob(footage_id=footage.id, status=JobStatus.QUEUED, params="{}", created_by_id=user.id)
    db.add(job)
    db.commit()
    return job


def chunked_runner(
    db: Session, settings: Settings, chunks: InProcessChunks, on_progress: object = None
) -> ChunkedRunner:
    connection = db.connection()

    def sessions() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    return ChunkedRunner(
        sessions=sessions,
        data_dir=settings.data_dir,
        make_analyser=functools.partial(build_analyser, settings, detector=BlobDetector()),
        frames=frames,
        on_progress=on_progress,  # type: ignore[arg-type]
        settings=settings,
        chunks=chunks,
        parts=2,
    )


def test_an_interrupted_chunked_job_resumes_with_its_missing_chunks_and_writes_each_track_once(
    db: Session, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", ray={"min_chunk_s": 1.0})
    job = scene_job(db, settings)
    calls: list[int] = []

    def stop_after_first_chunk(done: int, total: int) -> None:
        calls.append(done)
        if done > 50:  # the first chunk (frames 0-49) is in and the second has begun: stop as a shutdown would
            raise JobInterrupted("shutdown")

    with pytest.raises(JobInterrupted):
        chunked_runner(db, settings, InProcessChunks(detector=BlobDetector()), stop_after_first_chunk).run(job.id)
    spooled = sorted(p.name for p in spool_folder(settings.data_dir, job.footage_id, job.id).iterdir())
    assert spooled == ["0.npz"]
    db.expire_all()
    assert db.scalar(select(Track).where(Track.job_id == job.id)) is None, "nothing written before every chunk is in"

    analysed: list[int] = []

    class Counting(InProcessChunks):
        def run(self, settings, setup, path, chunks, tick):  # type: ignore[no-untyped-def]
            analysed.extend(c.index for c in chunks)
            return super().run(settings, setup, path, chunks, tick)

    done = chunked_runner(db, settings, Counting(detector=BlobDetector())).run(job.id)
    assert done.status == JobStatus.DONE and analysed == [1]
    tracks = list(db.scalars(select(Track).where(Track.job_id == job.id)))
    assert len(tracks) == done.tracks_written == 2
    assert sorted(t.track_no for t in tracks) == [1, 2]
    assert not spool_folder(settings.data_dir, job.footage_id, job.id).exists()


@pytest.mark.parametrize(
    ("chunk_s", "workers", "starts"),
    [
        (2.0, 2, [0, 15, 35, 50, 65, 85]),  # 10 s in ~2 s chunks: 5, rounded up to 3 for each of 2 workers
        (2.0, 3, [0, 15, 35, 50, 65, 85]),  # 2 for each of 3
        (60.0, 2, [0, 50]),  # shorter than a chunk: one for each worker
    ],
)
def test_a_job_cuts_its_file_into_chunks_of_about_chunk_s_a_whole_number_per_worker(
    db: Session, tmp_path: Path, chunk_s: float, workers: int, starts: list[int]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", ray={"min_chunk_s": 1.0, "chunk_s": chunk_s})
    video = tmp_path / "crossing.mp4"
    count = write_keyframed_video(video, 5)  # 100 frames at 10 fps, a keyframe every 5
    runner = chunked_runner(db, settings, InProcessChunks(count=workers, detector=BlobDetector()))
    runner.parts = None
    setup = AnalysisSetup(footage_id=1, width=1, height=1, fps=10.0, frame_count=count, bearing_deg=None, params={})
    plan = runner.plan(video, setup)
    assert [chunk.start for chunk in plan] == starts
    assert [chunk.end for chunk in plan] == [*starts[1:], count]
