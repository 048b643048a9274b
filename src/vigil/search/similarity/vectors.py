"""The vector arithmetic behind :mod:`vigil.search.similarity.index`: unit query vectors, the reduced (principal
component) copy whose mat-vec bounds every exact score from above, and the exact top-k by full scan or by pruning
with those bounds. Pure numpy over arrays; the index owns the files, the locking and the database sync."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vigil.errors import InvalidInput

DIM = 128
VECTOR_BYTES = DIM * 4
SCAN_BLOCK = 1 << 18  # rows per block of a full scan: bounds the temporary score memory
REDUCED = 32  # principal components kept; each reduced row also holds the norm of what they leave out
CHUNK = 1 << 16  # rows per chunk of the reduced file (column-major within a chunk: a fast BLAS mat-vec)
FIT_SAMPLE = 50_000  # rows sampled to fit the components
BOUND_SLACK = 1e-3  # float32 rounding allowance when comparing a bound with an exact score

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def as_query_vector(vector: npt.ArrayLike) -> F32:
    """A query as a unit float32 vector of the right length, or a clear error."""
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape != (DIM,) or not np.all(np.isfinite(array)):
        raise InvalidInput(f"an appearance vector has {DIM} finite numbers")
    norm = float(np.linalg.norm(array))
    if norm == 0.0:
        raise InvalidInput("this track has no usable appearance (its vector is empty)")
    return np.asarray(array / norm, dtype=np.float32)


def vector_of_blob(blob: bytes | None) -> F32 | None:
    """A stored appearance blob as a vector (None when absent or of the wrong size)."""
    if blob is None or len(blob) != VECTOR_BYTES:
        return None
    return np.frombuffer(blob, dtype=np.float32).copy()


def fit_components(vectors: F32, seed: int = 0) -> F32:
    """The ``REDUCED`` leading principal directions (uncentred: of the second moment, which is what minimises the
    norm left out) of a sample of ``vectors``, as orthonormal rows."""
    take = np.sort(np.random.default_rng(seed).choice(len(vectors), min(len(vectors), FIT_SAMPLE), replace=False))
    sample = np.asarray(vectors[take], dtype=np.float64)
    _, directions = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
    return np.ascontiguousarray(directions[:, ::-1][:, :REDUCED].T, dtype=np.float32)


def reduce_rows(components: F32, vectors: F32) -> F32:
    """Each row as its ``REDUCED`` coordinates and the norm of its residual (the part the components miss).

    For unit ``q`` and ``x``: ``q . x <= reduce(q) . reduce(x)`` (Cauchy-Schwarz on the residuals), so a mat-vec
    over the reduced rows bounds every exact score from above.
    """
    rows = np.asarray(vectors, dtype=np.float32).reshape(-1, DIM)
    head = rows @ components.T
    tail = np.linalg.norm(rows - head @ components, axis=1)
    return np.ascontiguousarray(np.hstack([head, tail[:, None]]), dtype=np.float32)


def top_of(scores: F32, k: int) -> npt.NDArray[np.intp]:
    """Positions of the ``k`` highest scores, best first (ties: lower position first)."""
    if k <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.intp)
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    order = np.lexsort((part, -scores[part]))
    return np.asarray(part[order], dtype=np.intp)


def write_reduced(path: Path, start: int, rows: F32) -> None:
    """Write reduced rows at row ``start`` of a file of chunks, each ``REDUCED + 1`` columns of ``CHUNK`` rows."""
    width, stop = REDUCED + 1, start + len(rows)
    with open(path, "r+b" if path.exists() else "w+b") as handle:
        size = -(-stop // CHUNK) * CHUNK * width * 4
        if os.fstat(handle.fileno()).st_size < size:
            handle.truncate(size)
        for first in range(start - start % CHUNK, stop, CHUNK):
            low, high = max(start, first), min(stop, first + CHUNK)
            columns = np.ascontiguousarray(rows[low - start : high - start].T)
            for column in range(width):
                handle.seek(((first // CHUNK * width + column) * CHUNK + low - first) * 4)
                handle.write(columns[column].tobytes())
        handle.flush()
        os.fsync(handle.fileno())


def positions_in(ids: I64, track_ids: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Positions in ``ids`` (ascending) of those of ``track_ids`` that are there."""
    wanted = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    if wanted.size > 1 and not np.all(wanted[1:] > wanted[:-1]):  # np.unique costs ~0.5 s on 600,000 ids
        wanted = np.unique(wanted)
    if wanted.size == 0 or ids.size == 0:
        return np.zeros(0, dtype=np.intp)
    at = np.searchsorted(ids, wanted)
    inside = at < ids.size
    at, wanted = at[inside], wanted[inside]
    return np.asarray(at[ids[at] == wanted], dtype=np.intp)


def bounds_of(query: F32, components: F32, reduced: F32, count: int) -> F32:
    """Upper bounds of ``query``'s exact score with each of the first ``count`` rows (see :func:`reduce_rows`)."""
    (head,) = reduce_rows(components, query)
    bounds = np.empty(len(reduced) * CHUNK, dtype=np.float32)
    for chunk in range(len(reduced)):
        np.matmul(head, reduced[chunk], out=bounds[chunk * CHUNK : (chunk + 1) * CHUNK])
    return bounds[:count]


def scanned_top(
    query: F32, k: int, vectors: F32, ids: I64, dead: I64, at: npt.NDArray[np.intp] | None
) -> tuple[npt.NDArray[np.intp], F32]:
    """The exact top ``k`` by scoring every row (of ``at`` if given): their positions and scores."""
    if at is not None:
        scores = np.asarray(vectors[at] @ query, dtype=np.float32)
    else:
        scores = np.empty(len(ids), dtype=np.float32)
        for start in range(0, len(ids), SCAN_BLOCK):
            np.matmul(vectors[start : start + SCAN_BLOCK], query, out=scores[start : start + SCAN_BLOCK])
    rows = np.arange(len(ids)) if at is None else at
    if dead.size:
        scores[np.isin(ids[rows], dead)] = -np.inf
    best = top_of(scores, k)
    best = best[np.isfinite(scores[best])]
    return rows[best], scores[best]


def pruned_top(
    query: F32, k: int, vectors: F32, ids: I64, dead: I64, bounds: F32, at: npt.NDArray[np.intp] | None
) -> tuple[npt.NDArray[np.intp], F32] | None:
    """The exact top ``k`` scoring only the rows whose bound reaches the k-th best exact score (None: too many).

    Start with the rows of the ~``8 k`` highest bounds (a threshold from a sample of them); score them exactly;
    if the k-th best score is below the threshold, rows under it may still beat it, so lower the threshold to it
    and score the rows added. Every row left out has a bound, hence a score, below the k-th best: exact.
    """
    n = len(bounds)
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    step = max(1, n // (256 * k))
    sample = bounds[::step]
    rank = min(sample.size, max(1, 8 * k // step))
    threshold = float(np.partition(sample, sample.size - rank)[sample.size - rank])
    while True:
        candidates = np.flatnonzero(bounds >= threshold)
        if candidates.size > max(n // 20, 20 * k):
            return None  # the bounds are too loose for this query: a full scan is cheaper
        rows = candidates if at is None else at[candidates]
        scores = np.asarray(vectors[rows] @ query, dtype=np.float32)
        if dead.size:
            scores[np.isin(ids[rows], dead)] = -np.inf
        kth = float(np.partition(scores, scores.size - k)[scores.size - k]) if scores.size >= k else -np.inf
        if kth - BOUND_SLACK >= threshold or candidates.size == n:
            best = top_of(scores, k)
            best = best[np.isfinite(scores[best])]
            return rows[best], scores[best]
        threshold = kth - BOUND_SLACK
