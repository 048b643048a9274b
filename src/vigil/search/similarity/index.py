"""The appearance vector index behind "more like this" and search by photo.

Vectors are :attr:`Track.appearance <vigil.db.models.Track.appearance>` (128 float32, L2-normalised, so cosine
similarity is a dot product; see :mod:`vigil.vision.appearance`).

Choice of index: exact brute force over a memory-mapped float32 matrix with numpy, one BLAS thread
(bench/similarity_latency.py, 2026-11-22: 1,000,000 appearance-like vectors, top-50, 50 queries; a shared 2-core
machine at load average ~15 during the comparison, so absolute times are inflated and noisy; the HNSW graphs
over 100,000 vectors only, since building them over a million takes far longer than anything else here):

==========================  =======  =====  ======  ======  ======  =============  ======
index                       build s  MiB    p50 ms  p95 ms  recall  10 % filter    recall
                                                                    p95 ms
==========================  =======  =====  ======  ======  ======  =============  ======
numpy f32 (this module)     3.4      488    294     540     1.000   615            1.000
numpy f16                   12.7     244    5,748   9,093   0.996   1,321          1.000
faiss flat (exact)          3.4      496    444     1,050   1.000   521            1.000
faiss IVF1024, nprobe 32    75.9     496    19      108     1.000   61             0.935
faiss HNSW32, ef 128 (1e5)  215.5    76     0.4     11      0.996   9              0.676
usearch HNSW16 (1e5)        301.9    81     1.0     5.2     0.997   15             0.985
==========================  =======  =====  ======  ======  ======  =============  ======

Re-run alone at load average ~3.5 (``--vigil-only --queries 100``): this module's p50 83 ms, p95 149 ms, with the
10 % filter p50 108 ms, p95 132 ms. Two BLAS threads do not help (the scan is memory-bound, ~6 GB/s).

Exact search wins on everything but latency. Recall is 1 by construction (an investigator is never told "no match"
because an approximate index skipped one); any filter is a row gather (no recall loss, no per-node callback); new
tracks are an append; there is no training and no new index dependency. numpy's float16 mat-vec has no BLAS kernel
and is far slower, faiss's flat scan is no faster (the scan is memory-bound), and IVF loses recall under filters.

Two-stage search, still exact (from ``TWO_STAGE_FROM`` = 200,000 rows): the full scan alone missed the 50 ms p95
target at a million tracks, so a large index also keeps a reduced copy of every row: its coordinates on the 32
leading principal directions of the stored vectors (uncentred PCA of a 50,000-row sample) and the norm of what they
leave out. For a query ``q`` and row ``x``, ``q . x = Pq . Px + rq . rx <= Pq . Px + |rq| |rx|``: one mat-vec over
the reduced rows (33 float32, stored column-major in chunks of 65,536 rows, a quarter of the bytes and a faster
BLAS kernel) gives an upper bound of every exact score. The rows of the ~8 k highest bounds are scored exactly
from the full vectors; every row whose bound still reaches the k-th best score is then scored too; all others
cannot beat it. The answer is the exact one (recall 1, scores from the full vectors), not an approximation; when
a query's bounds are too loose to prune (over 5 % of the rows would need scoring) it falls back to the full scan.
Filters keeping under half the rows use the exact gather of the allowed rows, as before: under a random 10 %
filter the k-th best allowed score sinks to where the bounds prune almost nothing (>99 % of the allowed rows would
need scoring), and re-ranking the best few thousand bounds/projections instead (near-exact) reached only 0.96
recall@50 with 4,000 candidates.

bench/similarity_latency.py --vigil-only, 2026-11-22, the same 1,000,000 vectors, top-50, 100 queries, both paths
timed query by query in alternation (load average ~2); ms, wall / this thread's CPU; recall@50 vs the exact scan:

=================  ===============  ===============  ===============  ======  =======  ========
path               p50              p95              10 % filter p95  60 %    recall   memory
                                                                      p95              MiB
=================  ===============  ===============  ===============  ======  =======  ========
exact scan         62.6 / 60.5      98.7 / 94.2      42.7 / 40.3      223.4   1.000    488
two-stage          12.4 / 12.2      13.9 / 13.0      43.1 / 40.2      50.9    1.000    620
=================  ===============  ===============  ===============  ======  =======  ========

(p95 ratio two-stage / exact: 0.14 wall and CPU unfiltered, 0.23 under a 60 % filter; the 10 % filter runs the
exact gather in both. An earlier run at load ~3 gave unfiltered p95 20.5 vs 141.5 ms. Fitting the components and
writing the reduced copy of 1,000,000 rows: 1.4-2.7 s, once, under the writer lock. The 10 % filter figure also
gained from no longer sorting the allowed ids when they come sorted: ``np.unique`` cost ~0.5 s on 600,000.)

The components are fitted when the index first reaches ``two_stage_from`` rows (a constructor parameter), new rows
are reduced with them as they are appended, and they are refitted (under new file names) once the index holds
``REFIT_GROWTH`` times the rows they were fitted on, and after every rebuild. Stale components only loosen the
bounds (slower, never wrong). The premise is that appearance vectors concentrate in a few principal directions
(true of the synthetic ones: ~100 of 1,000,000 rows are scored exactly per query); on vectors with no such
structure (random directions) nothing is pruned and every query falls back to the full scan, so the worst case is
the exact scan plus the bound pass (~15-20 % more).

Storage: derived data under ``<data_dir>/index/appearance/`` (rebuildable at any time: delete the folder and the
next search rebuilds it): ``vectors.f32`` (rows of 128 float32, memory-mapped), ``ids.i64`` (their track ids,
ascending), ``meta.json`` (how many rows are complete, the name of the reduced files) and, for a large index,
``components-<name>.f32`` (32 x 128 float32) and ``reduced-<name>.f32`` (the reduced rows). Rows (full and
reduced) are only ever appended, then ``meta.json`` is replaced atomically, so a crash mid-append leaves rows that
are ignored and overwritten; a rebuild renames new files into place (a process still reading the old ones is not
disturbed) and changes their generation in ``meta.json``; a refit writes reduced files under a new name, publishes
it in ``meta.json``, then deletes the old ones. A file lock serialises writers across processes (web server, CLI).

Never drifting from the database:

* new tracks: every search first appends the rows whose id is above the highest indexed id (one range query on
  the primary key), so a track is findable as soon as its analysis is committed;
* deleted tracks (retention, re-analysis): every candidate is re-checked against the database and its score is
  recomputed from the stored vector there; a missing id is dropped (and remembered, so it costs nothing next
  time) and the search fetches more until it has ``k`` live results or runs out;
* a reused id (SQLite reuses the highest rowid after it is deleted) or another database: the highest indexed row
  is compared with the database on every sync, and the index is rebuilt when they differ.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.orm import Session
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from vigil.db.models import Track
from vigil.errors import InvalidInput
from vigil.search.similarity.vectors import (
    CHUNK,
    DIM,
    F32,
    I64,
    REDUCED,
    VECTOR_BYTES,
    as_query_vector,
    bounds_of,
    fit_components,
    positions_in,
    pruned_top,
    reduce_rows,
    scanned_top,
    vector_of_blob,
    write_reduced,
)

SYNC_BATCH = 20_000
FORMAT_VERSION = 1
TWO_STAGE_FROM = 200_000  # rows from which the index keeps a reduced copy and prunes with it
REFIT_GROWTH = 4  # refit once the index holds this many times the rows the components were fitted on
MAX_K = 1000
MAX_RECHECK = 20_000  # candidates re-checked against ``where`` before the conditions are applied to the scan
RECHECK_BATCH = 5_000


@dataclass(frozen=True)
class Neighbour:
    """A stored track and its appearance similarity (cosine, -1..1) to the query."""

    track_id: int
    score: float


class SimilarityIndex:
    """Exact cosine top-k over the appearance vectors of all stored tracks; see the module docstring.

    One instance per process (the web app keeps one); it is thread-safe.
    """

    def __init__(self, directory: Path, *, two_stage_from: int = TWO_STAGE_FROM) -> None:
        """``two_stage_from``: rows from which a reduced copy is kept and used to prune the scan."""
        self.directory = directory
        self.two_stage_from = two_stage_from
        self._reduced_as = ""  # the reduced files' name, changed by every refit
        self._fitted = 0  # how many rows the components were fitted on
        self._components: F32 | None = None
        self._reduced: F32 | None = None  # (chunks, REDUCED + 1, CHUNK), covering the complete rows
        self._mapped = (0, "")  # the row count and name of the reduced files mapped
        self._lock = threading.RLock()
        self._count = 0
        self._generation = ""
        self._ids: I64 = np.zeros(0, dtype=np.int64)
        self._vectors: F32 = np.zeros((0, DIM), dtype=np.float32)
        self._gone: set[int] = set()  # indexed ids found deleted from the database
        self._blas = ThreadpoolController()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> SimilarityIndex:
        return cls(data_dir / "index" / "appearance")

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        """Unmap the files (the next search maps them again)."""
        with self._lock:
            self._ids, self._vectors = np.zeros(0, dtype=np.int64), np.zeros((0, DIM), dtype=np.float32)
            self._components = self._reduced = None
            self._count, self._generation, self._mapped, self._reduced_as, self._fitted = 0, "", (0, ""), "", 0

    # --- files -------------------------------------------------------------------------------------------

    @property
    def _meta_path(self) -> Path:
        return self.directory / "meta.json"

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """Hold the cross-process write lock (and this process's lock)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.directory / "lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _stored(self) -> tuple[int, str, str, int]:
        """How many rows are complete, the generation of the files (changed by every rebuild), and the name of the
        reduced files with the rows their components were fitted on ("", 0 when there are none)."""
        try:
            meta = json.loads(self._meta_path.read_text())
        except (OSError, ValueError):
            return 0, "", "", 0
        if not isinstance(meta, dict) or meta.get("version") != FORMAT_VERSION or meta.get("dim") != DIM:
            return 0, "", "", 0
        count, generation = meta.get("count"), meta.get("generation")
        if not isinstance(count, int) or count < 0 or not isinstance(generation, str):
            return 0, "", "", 0
        reduced, fitted = meta.get("reduced", ""), meta.get("fitted", 0)
        if not isinstance(reduced, str) or not reduced.isalnum() or not isinstance(fitted, int):
            reduced, fitted = "", 0
        return count, generation, reduced, fitted

    def _load(self) -> None:
        """Map the files as far as ``meta.json`` says they are complete (cheap when nothing changed)."""
        count, generation, reduced, fitted = self._stored()
        vectors_path, ids_path = self.directory / "vectors.f32", self.directory / "ids.i64"
        complete = (
            vectors_path.is_file()
            and ids_path.is_file()
            and vectors_path.stat().st_size >= count * VECTOR_BYTES
            and ids_path.stat().st_size >= count * 8
        )
        if not complete or count == 0:
            count = 0
            self._ids, self._vectors = np.zeros(0, dtype=np.int64), np.zeros((0, DIM), dtype=np.float32)
        elif count != self._count or generation != self._generation:
            self._ids = np.asarray(np.fromfile(ids_path, dtype=np.int64, count=count))
            self._vectors = np.memmap(vectors_path, dtype=np.float32, mode="r", shape=(count, DIM))
        if generation != self._generation:
            self._gone = set()
        if (count, reduced) != self._mapped:
            self._load_reduced(count, reduced)
            self._mapped = (count, reduced)
        self._count, self._generation, self._reduced_as, self._fitted = count, generation, reduced, fitted

    def _reduced_paths(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"components-{name}.f32", self.directory / f"reduced-{name}.f32"

    def _load_reduced(self, count: int, name: str) -> None:
        """Map the reduced rows (and read their components) when the files are there and complete."""
        self._components = self._reduced = None
        if not name or count == 0:
            return
        components_path, reduced_path = self._reduced_paths(name)
        chunks = -(-count // CHUNK)
        try:
            components = np.fromfile(components_path, dtype=np.float32)
            if components.size != REDUCED * DIM or reduced_path.stat().st_size < chunks * CHUNK * (REDUCED + 1) * 4:
                return
            reduced = np.memmap(reduced_path, dtype=np.float32, mode="r", shape=(chunks, REDUCED + 1, CHUNK))
        except OSError:
            return
        self._components, self._reduced = components.reshape(REDUCED, DIM), reduced

    def _write_meta(self, count: int, generation: str) -> None:
        temporary = self._meta_path.with_suffix(".tmp")
        meta = {"version": FORMAT_VERSION, "dim": DIM, "count": count, "generation": generation}
        if self._reduced_as:
            meta |= {"reduced": self._reduced_as, "fitted": self._fitted}
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, self._meta_path)

    def _append(self, ids: I64, vectors: F32) -> None:
        """Append rows (ids above every indexed id) after the complete ones, then publish the new count."""
        count = self._count
        for name, data, width in (("vectors.f32", vectors, VECTOR_BYTES), ("ids.i64", ids, 8)):
            with open(self.directory / name, "r+b" if (self.directory / name).exists() else "w+b") as handle:
                handle.truncate(count * width)  # drop any incomplete rows of an interrupted append (unmapped)
                handle.seek(count * width)
                handle.write(np.ascontiguousarray(data).tobytes())
                handle.flush()
                os.fsync(handle.fileno())
        total = count + len(ids)
        stale = ""
        if self._reduced_as and self._components is not None and total < REFIT_GROWTH * self._fitted:
            write_reduced(self._reduced_paths(self._reduced_as)[1], count, reduce_rows(self._components, vectors))
        else:  # never publish reduced rows that miss some vectors: refit, or drop them
            stale, self._reduced_as, self._fitted = self._reduced_as, "", 0
            if total >= self.two_stage_from:
                self._refit(total)
        self._write_meta(total, self._generation or secrets.token_hex(8))
        self._load()
        self._drop_reduced(stale)

    def _refit(self, count: int) -> None:
        """Fit components on the first ``count`` rows and write their reduced copy under a new name (published by
        the next ``meta.json``)."""
        vectors = np.memmap(self.directory / "vectors.f32", dtype=np.float32, mode="r", shape=(count, DIM))
        components = fit_components(vectors, seed=count)
        name = secrets.token_hex(8)
        components_path, reduced_path = self._reduced_paths(name)
        for start in range(0, count, CHUNK):
            write_reduced(reduced_path, start, reduce_rows(components, vectors[start : start + CHUNK]))
        components.tofile(components_path)
        self._reduced_as, self._fitted, self._components = name, count, components

    def _ensure_reduced(self) -> None:
        """Fit the reduced copy of a large index that has none (e.g. files written before it existed)."""
        if not self._reduced_as and self._count >= self.two_stage_from:
            self._refit(self._count)
            self._write_meta(self._count, self._generation)
            self._load()

    def _drop_reduced(self, name: str) -> None:
        """Delete replaced reduced files (a process still mapping them keeps its copy until it reloads)."""
        if name:
            for path in self._reduced_paths(name):
                path.unlink(missing_ok=True)

    def _clear(self) -> None:
        """Start new, empty files (renamed into place: readers that mapped the old ones keep them intact)."""
        for name in ("vectors.f32", "ids.i64"):
            fresh = self.directory / f"{name}.new"
            fresh.write_bytes(b"")
            os.replace(fresh, self.directory / name)
        stale, self._reduced_as, self._fitted = self._reduced_as, "", 0
        self._write_meta(0, secrets.token_hex(8))
        self._load()
        self._generation = self._stored()[1]
        self._drop_reduced(stale)

    # --- keeping in step with the database ---------------------------------------------------------------

    def sync(self, db: Session) -> int:
        """Append the tracks stored since the last sync (rebuilding first if the index no longer matches the
        database); returns how many rows were added."""
        with self._writer():
            self._load()
            if self._count and not self._matches(db):
                self._clear()
            self._ensure_reduced()
            added = 0
            while True:
                after = int(self._ids[-1]) if self._count else 0
                stmt = (
                    select(Track.id, Track.appearance)
                    .where(Track.id > after, Track.appearance.is_not(None))
                    .order_by(Track.id)
                    .limit(SYNC_BATCH)
                )
                rows = db.execute(stmt).all()
                if not rows:
                    return added
                ids = np.array([int(row[0]) for row in rows], dtype=np.int64)
                vectors = np.zeros((len(rows), DIM), dtype=np.float32)
                for i, row in enumerate(rows):
                    vector = vector_of_blob(row[1])
                    if vector is not None:
                        vectors[i] = vector
                self._append(ids, vectors)
                added += len(rows)

    def rebuild(self, db: Session) -> int:
        """Drop the index files' contents and index every stored track again; returns the row count."""
        with self._writer():
            self._clear()
        return self.sync(db)

    def _matches(self, db: Session) -> bool:
        """Whether the highest indexed row is still what the database holds under that id (or was deleted)."""
        last = int(self._ids[-1])
        blob = db.execute(select(Track.appearance).where(Track.id == last)).scalar_one_or_none()
        if blob is None:
            exists = db.execute(select(Track.id).where(Track.id == last)).scalar_one_or_none() is not None
            if not exists:
                self._gone.add(last)
            return not exists  # a row that lost its vector is a changed row
        stored = vector_of_blob(blob)
        indexed = np.asarray(self._vectors[-1])
        if stored is None:  # indexed as zeros
            return not indexed.any()
        return bool(np.array_equal(stored, indexed))

    # --- searching ---------------------------------------------------------------------------------------

    def positions(self, track_ids: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Positions in the index of those of ``track_ids`` that are indexed."""
        return positions_in(self._ids, track_ids)

    def upper_bounds(self, vector: npt.ArrayLike) -> F32 | None:
        """For every indexed row, a bound its exact score with ``vector`` never exceeds (None: no reduced copy).

        One mat-vec over the reduced rows, a quarter of the bytes of the full scan.
        """
        query = as_query_vector(vector)
        with self._lock:
            count, components, reduced = self._count, self._components, self._reduced
        if components is None or reduced is None:
            return None
        with self._blas.limit(limits=1, user_api="blas"):
            return bounds_of(query, components, reduced, count)

    def top_k(
        self, vector: npt.ArrayLike, k: int = 50, allowed_ids: npt.ArrayLike | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` indexed tracks most similar to ``vector`` (best first), among ``allowed_ids`` if given.

        Exact: every candidate vector is scored. Searches what is indexed now; :meth:`search` syncs first and
        re-checks the results against the database.
        """
        query = as_query_vector(vector)
        with self._lock:
            ids, vectors, gone = self._ids, self._vectors, self._gone
            components, reduced = self._components, self._reduced
        dead = np.fromiter(gone, dtype=np.int64, count=len(gone))
        at = None if allowed_ids is None else positions_in(ids, allowed_ids)
        # One BLAS thread: a mat-vec is memory-bound, and OpenBLAS's threads spin badly when the cores are busy
        # (bench/similarity_latency.py: p95 4x worse with two threads on a loaded two-core machine).
        with self._blas.limit(limits=1, user_api="blas"):
            found = None
            if self._prunes(len(ids), at) and components is not None and reduced is not None:
                bounds = bounds_of(query, components, reduced, len(ids))
                found = pruned_top(query, k, vectors, ids, dead, bounds if at is None else bounds[at], at)
            if found is None:
                found = scanned_top(query, k, vectors, ids, dead, at)
        rows, scores = found
        return [(int(ids[i]), float(s)) for i, s in zip(rows, scores, strict=True)]

    def _prunes(self, count: int, at: npt.NDArray[np.intp] | None) -> bool:
        """Whether to prune with the reduced rows: a large index, and no filter or one keeping at least half the
        rows. Under a narrower filter the k-th best allowed score sinks to where the bounds prune almost nothing
        (bench: a random 10 % filter leaves >99 % of the allowed rows to score), so the allowed rows are scored."""
        return count >= self.two_stage_from and (at is None or 2 * len(at) >= count)

    def search(
        self,
        db: Session,
        vector: npt.ArrayLike,
        *,
        k: int = 50,
        allowed_ids: npt.ArrayLike | None = None,
        exclude: Sequence[int] = (),
        where: Sequence[ColumnElement[bool]] = (),
    ) -> list[Neighbour]:
        """:meth:`top_k` after a sync, every result re-checked (and re-scored) against the database.

        ``where`` are SQL conditions on :class:`Track` checked on the candidates (cheap when most pass, e.g. a
        class); ``allowed_ids`` restricts the scan itself (for selective filters).
        """
        if not 1 <= k <= MAX_K:
            raise InvalidInput(f"ask for between 1 and {MAX_K} similar tracks")
        query = as_query_vector(vector)
        self.sync(db)
        excluded = set(exclude)
        want = k + len(excluded)
        while True:
            if where and want > MAX_RECHECK:  # the conditions reject most candidates: apply them to the scan
                allowed_ids = self._allowed(db, allowed_ids, where)
                where = ()
                want = k + len(excluded)
            found = self.top_k(query, want, allowed_ids)
            live = self._live(db, [track_id for track_id, _ in found], query, where)
            kept = [Neighbour(i, live[i]) for i, _ in found if i in live and i not in excluded]
            if len(kept) >= k or len(found) < want:
                kept.sort(key=lambda n: (-n.score, n.track_id))
                return kept[:k]
            want *= 2

    @staticmethod
    def _allowed(
        db: Session, allowed_ids: npt.ArrayLike | None, where: Sequence[ColumnElement[bool]]
    ) -> npt.NDArray[np.int64]:
        ids = np.fromiter(db.execute(select(Track.id).where(*where)).scalars(), dtype=np.int64)
        return ids if allowed_ids is None else np.intersect1d(ids, np.asarray(allowed_ids, dtype=np.int64))

    def _live(
        self, db: Session, track_ids: list[int], query: F32, where: Sequence[ColumnElement[bool]]
    ) -> dict[int, float]:
        """The score (from its vector in the database) of each of these ids that is still a stored track and
        meets ``where``."""
        live: dict[int, float] = {}
        present: set[int] = set()
        passes = and_(true(), *where)
        for start in range(0, len(track_ids), RECHECK_BATCH):
            chunk = track_ids[start : start + RECHECK_BATCH]
            stmt = select(Track.id, Track.appearance, passes).where(Track.id.in_(chunk))
            for track_id, blob, ok in db.execute(stmt):
                present.add(int(track_id))
                vector = vector_of_blob(blob)
                if ok:
                    live[int(track_id)] = float(vector @ query) if vector is not None else 0.0
        with self._lock:
            self._gone.update(set(track_ids) - present)
        return live
