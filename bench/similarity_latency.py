"""Latency of top-50 appearance similarity over 1,000,000 synthetic tracks: vigil's index and the alternatives.

    .venv/bin/python bench/similarity_latency.py [--tracks 1000000] [--queries 100] [--ann-tracks 100000]

Vectors are synthetic but shaped like :func:`vigil.vision.appearance.appearance_vector`: for each of 3,000
"outfits" a prototype of the descriptor's blocks (colour-name histograms of head/upper/lower, chroma, lightness and
texture histograms, stripe layout, shape), and per track a Dirichlet draw around its outfit's histograms plus
layout/shape noise, Hellinger-mapped, block-weighted and L2-normalised as the real code does. Queries are other
draws of random outfits (a different sighting of the same clothes).

Candidates (each: build time, index memory, top-50 p50/p95 in ms, the same with an allowed-id filter of a random
10 %, recall@50 against the exact answer):

* ``vigil exact scan``: :class:`~vigil.search.similarity.index.SimilarityIndex` with pruning switched off: float32
  rows in a memory-mapped file under a temporary data folder, exact brute force with numpy (BLAS mat-vec),
  filter = gather the allowed rows;
* ``vigil two-stage``: the same index as vigil runs it at this size: upper bounds from its reduced copy
  (32 principal components + residual norm), then exact scores for the rows whose bound reaches the k-th best.
  Its build time is the fit and reduced copy alone (on top of the exact scan's). The two are timed query by query
  in alternation, so load on a shared machine hits both alike; wall and CPU (thread) times, and their ratios;
* ``numpy-f16``: the same with a float16 matrix (half the memory, converted block by block at query time);
* ``faiss-flat``: faiss ``IndexFlatIP`` (exact, SIMD), filter with ``IDSelectorBatch`` (if faiss-cpu is installed);
* ``faiss-ivf``: ``IndexIVFFlat`` (1,024 lists, 32 probed; approximate);
* ``faiss-hnsw`` / ``usearch-hnsw``: HNSW graphs (M=32 / connectivity 16), built over ``--ann-tracks`` vectors
  only, since building them over 1,000,000 takes far longer than the others on this machine.

faiss and usearch are optional here (``pip install faiss-cpu usearch``): vigil does not depend on them.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.search.similarity.index import SimilarityIndex
from vigil.search.similarity.vectors import CHUNK, DIM, REDUCED, top_of
from vigil.vision.appearance import BLOCK_WEIGHTS

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
K = 50
HISTOGRAMS = [("names", 11)] * 3 + [("chroma", 16)] * 2 + [("lightness", 8)] * 2 + [("texture", 8)] * 2
LAYOUT, SHAPE = 24, 7


def appearance_like(n: int, *, outfits: int = 3000, seed: int = 0, of: I64 | None = None) -> F32:
    """``n`` unit vectors shaped like appearance vectors (see the module docstring); ``of``: their outfits."""
    rng = np.random.default_rng(seed)
    proto_rng = np.random.default_rng(12345)  # the same outfits for the stored tracks and the queries
    protos = [proto_rng.dirichlet(np.full(size, 0.3), size=outfits) for _, size in HISTOGRAMS]
    layout = proto_rng.uniform(-1, 1, size=(outfits, LAYOUT))
    shape = proto_rng.uniform(0.2, 0.9, size=(outfits, SHAPE))
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 50_000):
        stop = min(n, start + 50_000)
        which = of[start:stop] if of is not None else rng.integers(0, outfits, stop - start)
        blocks = []
        for (name, _), proto in zip(HISTOGRAMS, protos, strict=True):
            draw = rng.gamma(40.0 * proto[which] + 0.02)  # a Dirichlet around the outfit's histogram
            blocks.append(BLOCK_WEIGHTS[name] * np.sqrt(draw / draw.sum(axis=1, keepdims=True)))
        blocks.append(BLOCK_WEIGHTS["layout"] * (layout[which] + rng.normal(0, 0.15, (stop - start, LAYOUT))) / 8**0.5)
        blocks.append(BLOCK_WEIGHTS["shape"] * (shape[which] + rng.normal(0, 0.08, (stop - start, SHAPE))) / 7**0.5)
        rows = np.hstack(blocks)
        out[start:stop] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - began


def latency(search: Callable[[F32], list[int]], queries: F32) -> tuple[list[list[int]], float, float]:
    found, times = [], []
    for query in queries:
        ids, took = timed(lambda q=query: search(q))
        found.append(ids)
        times.append(took * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return found, float(p50), float(p95)


def recall(found: list[list[int]], exact: list[list[int]]) -> float:
    return float(np.mean([len(set(f) & set(e)) / max(1, len(e)) for f, e in zip(found, exact, strict=True)]))


def report(name: str, n: int, build_s: float, memory: int, plain: tuple[float, float, float], filtered: Any) -> None:
    p50, p95, rec = plain
    f50, f95, frec = filtered if filtered else (float("nan"),) * 3
    print(
        f"| {name} | {n:,} | {build_s:.1f} | {memory / 2**20:.0f} | {p50:.1f} | {p95:.1f} | {rec:.3f} "
        f"| {f50:.1f} | {f95:.1f} | {frec:.3f} |",
        flush=True,
    )


def vigil_index(vectors: F32, ids: I64, folder: Path) -> tuple[SimilarityIndex, SimilarityIndex, float, float]:
    """The exact-scan index and the two-stage one over the same files, and their build times."""
    directory = folder / "index" / "appearance"
    index = SimilarityIndex(directory, two_stage_from=sys.maxsize)
    began = time.perf_counter()
    with index._writer():  # the bench writes the rows directly: no database of 1,000,000 tracks needed here
        for start in range(0, len(ids), 100_000):
            index._append(ids[start : start + 100_000], vectors[start : start + 100_000])
    build_s = time.perf_counter() - began
    two_stage = SimilarityIndex(directory)
    began = time.perf_counter()
    with two_stage._writer():
        two_stage._load()
        two_stage._ensure_reduced()
    reduce_s = time.perf_counter() - began
    exact = SimilarityIndex(directory, two_stage_from=sys.maxsize)
    exact._load()
    return exact, two_stage, build_s, reduce_s


def paired(
    exact: SimilarityIndex, pruned: SimilarityIndex, queries: F32, allowed: I64 | None
) -> tuple[list[list[int]], list[list[int]], npt.NDArray[np.float64]]:
    """Both indexes' answers, query by query in alternation; times (query, index, wall|cpu) in ms."""
    found: tuple[list[list[int]], list[list[int]]] = ([], [])
    times = np.zeros((len(queries), 2, 2))
    for row, query in enumerate(queries):
        for which, index in enumerate((exact, pruned)):
            wall, cpu = time.perf_counter(), time.thread_time()
            found[which].append([i for i, _ in index.top_k(query, K, allowed)])
            times[row, which] = (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000
    return *found, times


def run_vigil(vectors: F32, ids: I64, queries: F32, allowed: I64, folder: Path) -> tuple[list[list[int]], ...]:
    exact_index, pruned_index, build_s, reduce_s = vigil_index(vectors, ids, folder)
    exact, found, times = paired(exact_index, pruned_index, queries, None)
    exact_f, found_f, times_f = paired(exact_index, pruned_index, queries, allowed)
    wide = np.sort(np.random.default_rng(6).choice(ids, len(ids) * 6 // 10, replace=False))
    exact_w, found_w, times_w = paired(exact_index, pruned_index, queries, wide)
    reduced_bytes = -(-len(ids) // CHUNK) * CHUNK * (REDUCED + 1) * 4
    for which, name, build, memory in (
        (0, "vigil exact scan", build_s, vectors.nbytes),
        (1, "vigil two-stage", reduce_s, vectors.nbytes + reduced_bytes),
    ):
        plain = (*np.percentile(times[:, which, 0], [50, 95]), recall(found if which else exact, exact))
        filtered = (*np.percentile(times_f[:, which, 0], [50, 95]), recall(found_f if which else exact_f, exact_f))
        report(name, len(ids), build, memory, plain, filtered)
    print("vigil, exact scan vs two-stage (ms; ratio = two-stage / exact; CPU = this thread's CPU time):")
    for label, table in (("unfiltered", times), ("10 % filter", times_f), ("60 % filter", times_w)):
        for kind, column in (("wall", 0), ("CPU", 1)):
            e50, e95 = np.percentile(table[:, 0, column], [50, 95])
            t50, t95 = np.percentile(table[:, 1, column], [50, 95])
            print(
                f"  {label:11} {kind:4} exact p50 {e50:6.1f} p95 {e95:6.1f} | two-stage p50 {t50:6.1f} "
                f"p95 {t95:6.1f} | ratio p50 {t50 / e50:.2f} p95 {t95 / e95:.2f}",
                flush=True,
            )
    print(f"  60 % filter recall@50 of the two-stage search: {recall(found_w, exact_w):.3f}")
    return exact, exact_f


def run_f16(vectors: F32, ids: I64, queries: F32, allowed: I64, exact: list[list[int]], exact_f: Any) -> None:
    half, build_s = timed(lambda: vectors.astype(np.float16))
    rows = np.searchsorted(ids, allowed)

    def search(query: F32, at: npt.NDArray[np.intp] | None = None) -> list[int]:
        matrix = half if at is None else half[at]
        scores = np.empty(len(matrix), dtype=np.float32)
        for start in range(0, len(matrix), 65_536):
            scores[start : start + 65_536] = matrix[start : start + 65_536].astype(np.float32) @ query
        best = top_of(scores, K)
        return (ids[best] if at is None else ids[at][best]).tolist()  # type: ignore[no-any-return]

    found, p50, p95 = latency(search, queries)
    found_f, f50, f95 = latency(lambda q: search(q, rows), queries)
    filtered = (f50, f95, recall(found_f, exact_f))
    report(
        "numpy f16 (exact up to rounding)", len(ids), build_s, half.nbytes, (p50, p95, recall(found, exact)), filtered
    )


def run_faiss(vectors: F32, ids: I64, queries: F32, allowed: I64, exact: Any, exact_f: Any) -> None:
    try:
        import faiss  # type: ignore[import-untyped]
    except ImportError:
        print("| faiss | (faiss-cpu not installed) |", flush=True)
        return
    faiss.omp_set_num_threads(1)
    selector = faiss.IDSelectorBatch(allowed)

    def measure(name: str, index: Any, build_s: float, params: Any) -> None:
        def search(q: F32, p: Any = None) -> list[int]:
            return index.search(q[None, :], K, params=p)[1][0].tolist()  # type: ignore[no-any-return]

        found, p50, p95 = latency(search, queries)
        found_f, f50, f95 = latency(lambda q: search(q, params), queries)
        memory = faiss.serialize_index(index).nbytes
        report(
            name, index.ntotal, build_s, memory, (p50, p95, recall(found, exact)), (f50, f95, recall(found_f, exact_f))
        )

    def flat() -> Any:
        index = faiss.IndexIDMap(faiss.IndexFlatIP(DIM))
        index.add_with_ids(vectors, ids)
        return index

    index, build_s = timed(flat)
    measure("faiss flat (exact)", index, build_s, faiss.SearchParameters(sel=selector))
    del index

    def ivf() -> Any:
        faiss.omp_set_num_threads(2)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 1024, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors[np.random.default_rng(3).choice(len(vectors), min(len(vectors), 60_000), replace=False)])
        index.add_with_ids(vectors, ids)
        faiss.omp_set_num_threads(1)
        index.nprobe = 32
        return index

    index, build_s = timed(ivf)
    measure("faiss IVF1024 nprobe 32", index, build_s, faiss.SearchParametersIVF(sel=selector, nprobe=32))


def run_hnsw(vectors: F32, ids: I64, queries: F32, allowed: I64, n: int) -> None:
    small, small_ids = vectors[:n], ids[:n]
    small_allowed = allowed[allowed <= small_ids[-1]]
    exact = [small_ids[top_of(small @ q, K)].tolist() for q in queries]
    rows = np.searchsorted(small_ids, small_allowed)
    exact_f = [small_allowed[top_of(small[rows] @ q, K)].tolist() for q in queries]
    try:
        import faiss

        faiss.omp_set_num_threads(2)

        def build() -> Any:
            graph = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = 80
            index = faiss.IndexIDMap(graph)
            index.add_with_ids(small, small_ids)
            return index

        index, build_s = timed(build)
        faiss.omp_set_num_threads(1)
        params = faiss.SearchParametersHNSW(efSearch=128)
        fparams = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBatch(small_allowed), efSearch=128)
        found, p50, p95 = latency(lambda q: index.search(q[None, :], K, params=params)[1][0].tolist(), queries)
        found_f, f50, f95 = latency(lambda q: index.search(q[None, :], K, params=fparams)[1][0].tolist(), queries)
        memory = faiss.serialize_index(index).nbytes
        report(
            "faiss HNSW32 ef 128",
            n,
            build_s,
            memory,
            (p50, p95, recall(found, exact)),
            (f50, f95, recall(found_f, exact_f)),
        )
    except ImportError:
        print("| faiss HNSW | (faiss-cpu not installed) |", flush=True)
    try:
        from usearch.index import Index  # type: ignore[import-not-found]
    except ImportError:
        print("| usearch | (usearch not installed) |", flush=True)
        return
    index = Index(ndim=DIM, metric="ip", dtype="f32", connectivity=16, expansion_add=128, expansion_search=128)
    _, build_s = timed(lambda: index.add(small_ids, small, threads=2))
    allowed_set = set(small_allowed.tolist())
    found, p50, p95 = latency(lambda q: index.search(q, K).keys.tolist(), queries)
    # usearch filters with a Python predicate per visited node; over-fetching and filtering is its usual fallback
    found_f, f50, f95 = latency(
        lambda q: [i for i in index.search(q, K * 20).keys.tolist() if i in allowed_set][:K], queries
    )
    report(
        "usearch HNSW16 ef 128",
        n,
        build_s,
        index.memory_usage,
        (p50, p95, recall(found, exact)),
        (f50, f95, recall(found_f, exact_f)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--ann-tracks", type=int, default=100_000, help="tracks for the HNSW graphs (0: skip)")
    parser.add_argument("--vigil-only", action="store_true", help="measure only vigil's own index")
    args = parser.parse_args()
    vectors, gen_s = timed(lambda: appearance_like(args.tracks))
    ids = np.arange(1, args.tracks + 1, dtype=np.int64) * 3  # track ids with gaps, as after deletions
    queries = appearance_like(args.queries, seed=99)
    allowed = np.sort(np.random.default_rng(5).choice(ids, len(ids) // 10, replace=False))
    print(f"{args.tracks:,} vectors generated in {gen_s:.1f} s; {args.queries} queries; top-{K}; filter = 10 % of ids")
    print(
        "| index | vectors | build s | memory MiB | p50 ms | p95 ms | recall@50 "
        "| 10 % p50 ms | 10 % p95 ms | 10 % recall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        exact, exact_f = run_vigil(vectors, ids, queries, allowed, Path(folder))
    if args.vigil_only:
        return
    run_f16(vectors, ids, queries, allowed, exact, exact_f)
    run_faiss(vectors, ids, queries, allowed, exact, exact_f)
    if args.ann_tracks:
        run_hnsw(vectors, ids, queries, allowed, min(args.ann_tracks, args.tracks))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
