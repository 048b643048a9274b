"""VIGIL_ENGINE=ray against a real two-node Ray cluster on 127.0.0.1 and a real PostgreSQL server.

A PETS09 bulk job cut into four chunks gives the tracks of the sequential run; a chunk task killed with SIGKILL
mid-way is rerun by Ray and no track is written twice; SQLite is refused; a footage store one node cannot read
is named by the probe check; `vigil cluster status` lists the nodes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from bench._common import evaluate, load_gt
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from typer.testing import CliRunner

from tests.conftest import make_settings, shared_data_dir
from tests.support.analysed import make_footage
from tests.support.builders import make_camera, make_user
from tests.support.ray_cluster import RayCluster, task_pids
from vigil.analysis.chunks import Chunk, ChunkMap, ChunkResult, Tick
from vigil.analysis.jobs import AnalysisSetup, JobStatus
from vigil.analysis.pipeline import build_analyser, frames
from vigil.analysis.store import export_mot
from vigil.cli import app
from vigil.cluster.checks import require_cluster, store_findings
from vigil.cluster.engine import ClusterError, connect, ray_runner
from vigil.cluster.status import ClusterStatus, cluster_status, render
from vigil.db.database import Database, open_database
from vigil.db.migrate import upgrade
from vigil.db.models import AnalysisJob, Track
from vigil.domain.tracks import FinishedTrack
from vigil.settings import Settings
from vigil.system import make_executor
from vigil.web.app import create_app

PETS = shared_data_dir() / "pets09-s2l1" / "vtest.avi"
PARAMS: dict[str, object] = {"detector": "centernet"}
pytestmark = [pytest.mark.ray, pytest.mark.postgres]


def ray_settings(data_dir: Path, cluster: RayCluster | None, **overrides: object) -> Settings:
    ray = {"address": cluster.address if cluster else "127.0.0.1:1", "node_ip_address": "127.0.0.1"}
    return make_settings(data_dir, engine="ray", ray=ray, **overrides)


def test_engine_ray_refuses_sqlite_with_a_clear_message(tmp_path: Path) -> None:
    settings = ray_settings(tmp_path, None)
    for attempt in (lambda: require_cluster(settings), lambda: make_executor(settings), lambda: create_app(settings)):
        with pytest.raises(ClusterError, match=r"VIGIL_ENGINE=ray needs PostgreSQL \(set VIGIL_DATABASE_URL="):
            attempt()
    assert list(tmp_path.iterdir()) == [], "refused before anything was made (no database file, no probe)"


def test_config_check_states_what_the_cluster_is_missing(
    ray_cluster: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(ray_cluster.blind / "store"))
    monkeypatch.setenv("VIGIL_ENGINE", "ray")
    monkeypatch.setenv("VIGIL_RAY__ADDRESS", ray_cluster.address)
    monkeypatch.setenv("VIGIL_RAY__NODE_IP_ADDRESS", "127.0.0.1")
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 2, result.output
    assert "MISSING: database: VIGIL_ENGINE=ray needs PostgreSQL" in result.output
    assert "ok: ray cluster" in result.output and "2 alive node(s)" in result.output
    assert result.output.count("MISSING: footage store") == 1, result.output
    assert "cannot read the footage store" in result.output


def test_the_probe_names_the_node_that_cannot_read_the_store(
    ray_cluster: RayCluster, tmp_path: Path, postgres_url: str
) -> None:
    shared = ray_settings(tmp_path / "shared", ray_cluster, database_url=postgres_url)
    ray = connect(shared)
    assert [f.ok for f in store_findings(shared, ray)] == [True, True]
    require_cluster(shared)  # every prerequisite met: no error

    private = ray_settings(ray_cluster.blind / "store", ray_cluster, database_url=postgres_url)
    findings = store_findings(private, ray)
    assert sorted(f.ok for f in findings) == [False, True]
    failed = next(f for f in findings if not f.ok)
    assert f"cannot read the footage store {private.data_dir}" in failed.detail
    assert "FileNotFoundError" in failed.detail and "mount the same shared folder" in failed.detail
    with pytest.raises(ClusterError, match="cannot read the footage store"):
        require_cluster(private)
    assert not list((private.data_dir / ".cluster-probe").iterdir()), "the probe file is removed"


# -- bulk analysis --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> list[FinishedTrack]:
    setup = AnalysisSetup(
        footage_id=1, width=480, height=360, fps=10.0, frame_count=795, bearing_deg=None, params=PARAMS
    )
    analyser = build_analyser(Settings(data_dir=tmp_path_factory.mktemp("seq")), setup)
    return [t for frame in frames(PETS, 0) for t in analyser.process(frame)] + analyser.finish()


@pytest.fixture
def database(ray_cluster: RayCluster, postgres_url: str, tmp_path: Path) -> Iterator[Database]:
    """A database of its own on the tests' PostgreSQL server (the job commits; other tests roll back)."""
    import psycopg

    name = f"vigil_ray_{uuid.uuid4().hex[:12]}"
    server = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    backend = open_database(ray_settings(tmp_path / "data", ray_cluster, database_url=url))
    upgrade(backend.engine)
    try:
        yield backend
    finally:
        backend.engine.dispose()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")


def pets_job(backend: Database) -> int:
    with backend.sessions() as db:
        user = make_user(db, "analyst", trained_for=("analytics",))
        footage = make_footage(
            db, camera=make_camera(db), user=user, video=PETS, data_dir=backend.settings.data_dir, frame_count=795
        )
        footage.width, footage.height, footage.fps, footage.container = 480, 360, 10.0, "avi"
        job = AnalysisJob(
            footage_id=footage.id, status=JobStatus.QUEUED, params=json.dumps(PARAMS), created_by_id=user.id
        )
        db.add(job)
        db.commit()
        return job.id


def stored_tracks(db: Session, job_id: int) -> list[Track]:
    query = select(Track).where(Track.job_id == job_id).options(selectinload(Track.observations))
    return list(db.scalars(query.order_by(Track.track_no)))


def full_scores(mot_text: str) -> dict[str, float]:
    data = np.loadtxt(mot_text.splitlines(), delimiter=",", ndmin=2)
    hyp = np.column_stack(
        [data[:, 0], data[:, 1], data[:, 2], data[:, 3], data[:, 2] + data[:, 4], data[:, 3] + data[:, 5]]
    )
    return evaluate(load_gt(PETS.parent / "gt_mot_full_480x360.txt"), hyp, 795)


def finished_mot(tracks: list[FinishedTrack]) -> str:
    from bench._common import mot_rows

    rows = mot_rows([t for t in tracks if t.summary.class_name == "person"])
    return "".join(f"{int(r[0])},{int(r[1])},{r[2]},{r[3]},{r[4] - r[2]},{r[5] - r[3]},1,-1,-1,-1\n" for r in rows)


@pytest.mark.parametrize("kill", [False, True], ids=["plain", "chunk-killed"])
@pytest.mark.data
@pytest.mark.skipif(not PETS.exists(), reason="shared PETS09 data not available")
def test_a_four_chunk_bulk_job_gives_the_tracks_of_the_sequential_run(
    database: Database, sequential: list[FinishedTrack], kill: bool
) -> None:
    job_id = pets_job(database)
    runner = ray_runner(database, job_id=job_id)
    runner.parts = 4
    results: list[ChunkResult] = []
    runner.chunks = Recorded(runner.chunks, results)
    killed: list[int] = []
    seen: list[ClusterStatus] = []
    if kill:
        threading.Thread(target=kill_one_chunk_task, args=(database.settings, killed, seen), daemon=True).start()
    done = runner.run(job_id)
    assert done.status == JobStatus.DONE
    if kill:
        assert killed, "a chunk task was running and was killed"
        # While it ran, `vigil cluster status` saw the job's chunks (at most four), running ones on a node.
        assert seen and seen[0].running >= 1 and seen[0].running + seen[0].queued <= 4
        assert sum(node.chunks_running for node in seen[0].nodes) == seen[0].running
        assert f"job {job_id} chunk" in render(seen[0])
        assert cluster_status(database.settings).chunks == [], "the board is emptied when the job ends"
    # A worker process loads the detector at most once (for its first chunk of the session's job); its later
    # chunks reuse it.
    workers = {result.worker_pid for result in results}
    assert len(results) == 4 and 0 not in workers
    loads = Counter(result.worker_pid for result in results if result.loaded_detector)
    assert all(count == 1 for count in loads.values()), loads
    if not kill:
        assert len(workers) < len(results), "a worker that analysed a chunk analysed another"
    with database.sessions() as db:
        tracks = stored_tracks(db, job_id)
        assert len(tracks) == done.tracks_written, "each track written once"
        assert [t.track_no for t in tracks] == list(range(1, len(tracks) + 1))
        rows = db.execute(
            select(Track.first_frame, Track.last_frame, func.count()).where(Track.job_id == job_id)
            .group_by(Track.first_frame, Track.last_frame).having(func.count() > 1)
        ).all()  # fmt: skip
        assert rows == [], "no track stored twice"
        people = [t for t in tracks if t.class_name == "person"]
        chunked = full_scores(export_mot(people))
    whole = full_scores(finished_mot(sequential))
    assert abs(len(tracks) - len(sequential)) <= 1
    assert abs(chunked["mota"] - whole["mota"]) <= 0.01, (chunked, whole)
    assert abs(chunked["idf1"] - whole["idf1"]) <= 0.01, (chunked, whole)


@dataclass
class Recorded:
    """A chunk map that keeps the results of the one it wraps."""

    chunks: ChunkMap | None
    results: list[ChunkResult]

    def parts(self) -> int:
        assert self.chunks is not None
        return self.chunks.parts()

    def run(
        self, settings: Settings, setup: AnalysisSetup, path: Path, chunks: Sequence[Chunk], tick: Tick
    ) -> Iterator[ChunkResult]:
        assert self.chunks is not None
        for result in self.chunks.run(settings, setup, path, chunks, tick):
            self.results.append(result)
            yield result


def kill_one_chunk_task(settings: Settings, killed: list[int], seen: list[ClusterStatus]) -> None:
    """SIGKILL the worker of the first chunk task seen running (as a crashed machine or OOM kill would)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pids = task_pids("chunk_task")
        if pids:
            time.sleep(1.0)  # mid-way through its chunk
            seen.append(cluster_status(settings))
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
            return
        time.sleep(0.2)


def test_cluster_status_lists_the_nodes_and_their_cpus(
    ray_cluster: RayCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_ENGINE", "ray")
    monkeypatch.setenv("VIGIL_RAY__ADDRESS", ray_cluster.address)
    monkeypatch.setenv("VIGIL_RAY__NODE_IP_ADDRESS", "127.0.0.1")
    result = CliRunner().invoke(app, ["cluster", "status"])
    assert result.exit_code == 0, result.output
    assert "nodes: 2 alive of 2, 2 CPUs" in result.output
    assert result.output.count("127.0.0.1") == 2 and "bulk chunks: 0 running, 0 queued" in result.output


def test_the_web_apps_ray_executor_runs_a_submitted_job_to_the_end_with_progress(database: Database) -> None:
    """The path of a job started from a page: submit to the executor, poll the job row (as the page does)."""
    from tests.support.scenes import write_keyframed_video

    settings = database.settings.model_copy(
        update={"ray": database.settings.ray.model_copy(update={"min_chunk_s": 1.0})}
    )
    with database.sessions() as db:
        user = make_user(db, "analyst", trained_for=("analytics",))
        video = settings.data_dir / "crossing.mp4"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        count = write_keyframed_video(video, 25)
        footage = make_footage(
            db, camera=make_camera(db), user=user, video=video, data_dir=settings.data_dir, frame_count=count
        )
        job = AnalysisJob(footage_id=footage.id, status=JobStatus.QUEUED, params="{}", created_by_id=user.id)
        db.add(job)
        db.commit()
        job_id = job.id
    executor = make_executor(settings)
    try:
        executor.submit(job_id)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with database.sessions() as db:
                row = db.get(AnalysisJob, job_id)
                assert row is not None
                if row.status in (JobStatus.DONE, JobStatus.FAILED):
                    break
            time.sleep(0.5)
    finally:
        executor.shutdown()
    assert row.status == JobStatus.DONE, row.error
    assert row.progress_frames == row.total_frames == count
    with database.sessions() as db:
        assert len(stored_tracks(db, job_id)) == row.tracks_written
