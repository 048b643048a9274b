"""Chunked bulk analysis: cut a footage file at keyframes, analyse the chunks apart, stitch the tracks back.

Engine-independent: :func:`analyse_chunk` is a plain function (a Ray task body under ``VIGIL_ENGINE=ray``, or
called in-process by :class:`InProcessChunks`), and :func:`join_chunks` runs in the job's driver.

Chunk ``k`` owns frames ``[start, end)``; ``start`` is a keyframe, so a chunk decodes from a seek without the
frames before it. It is analysed on to ``stop`` (``end`` plus an overlap of a few seconds), i.e. over the first
frames the next chunk also analyses. Over that overlap the next chunk's tracker starts cold (its motion model
and tracks build up) while this chunk's is warm, so a person in view at the boundary appears in both: the two
tracks are matched by box IoU on the frames both saw, and joined (this chunk's observations up to ``stop``, the
next chunk's from there). Tracks of this chunk that begin in the overlap and match nothing are the next chunk's
to report (it saw them from their start). A chunk task returns records, never writes: the driver writes all
tracks once, when every chunk is in, so a retried task cannot write anything twice.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from vigil.analysis.decode import END, frames, put_unless_stopped
from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.summary import TrackRecord
from vigil.domain.detections import Frame
from vigil.footage.video import open_video
from vigil.settings import Settings

SPOOL_FORMAT = "vigil-chunk/1"


@dataclass(frozen=True)
class Chunk:
    """Frames ``[start, end)`` of a footage file, analysed on to ``stop`` (the overlap with the next chunk)."""

    index: int
    start: int
    end: int
    stop: int
    start_pts: int | None
    """Presentation timestamp of the keyframe at ``start`` (None for the first chunk: decoded from the top)."""
    origin_pts: int | None = None
    """Timestamp of the file's first frame (frames are timed from it, as :func:`vigil.analysis.decode.frames`)."""

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass
class ChunkResult:
    """What a chunk task hands back: the records of its confirmed tracks, in the order they ended."""

    index: int
    records: list[TrackRecord]
    frames_read: int
    detector_calls: int = 0
    worker_pid: int = 0
    """The process that analysed the chunk (0: not known, e.g. read back from the spool)."""
    loaded_detector: bool = False
    """The chunk's task loaded the detector (False: its worker process had it from an earlier chunk)."""


@dataclass(frozen=True)
class Keyframes:
    """The frame indices (presentation order) of a file's keyframes, their timestamps, and the frame count."""

    indices: tuple[int, ...]
    pts: tuple[int, ...]
    frame_count: int
    origin_pts: int | None


def keyframes(path: Path) -> Keyframes:
    """Read the packets (no decoding) for the keyframe positions; frames are numbered in presentation order."""
    stamps: list[int] = []
    keys: set[int] = set()
    with open_video(path) as video:
        for packet in video.container.demux(video.stream):
            if packet.size == 0 or packet.pts is None:
                continue
            stamps.append(int(packet.pts))
            if packet.is_keyframe:
                keys.add(int(packet.pts))
        origin = video.stream.start_time
    stamps.sort()
    found = [(i, pts) for i, pts in enumerate(stamps) if pts in keys]
    return Keyframes(
        indices=tuple(i for i, _ in found),
        pts=tuple(pts for _, pts in found),
        frame_count=len(stamps),
        origin_pts=int(origin) if origin is not None else (stamps[0] if stamps else None),
    )


def chunk_count(frame_count: int, *, fps: float, workers: int, chunk_s: float) -> int:
    """How many chunks to cut ``frame_count`` frames into: about ``chunk_s`` seconds each, rounded up to a whole
    number per worker (at least one each), so the workers finish together."""
    workers = max(1, workers)
    wanted = max(1, math.ceil(frame_count / max(1.0, chunk_s * fps)))
    return math.ceil(wanted / workers) * workers


def plan_chunks(found: Keyframes, *, parts: int, overlap_frames: int, min_frames: int = 1) -> list[Chunk]:
    """At most ``parts`` chunks of about equal length, cut at the keyframes nearest the even split points and
    at least ``min_frames`` long (except perhaps the last)."""
    total = found.frame_count
    if total <= 0:
        return []
    cuts: list[tuple[int, int | None]] = [(0, None)]
    candidates = [(i, p) for i, p in zip(found.indices, found.pts, strict=True) if i > 0]
    for k in range(1, max(1, parts)):
        ideal = k * total / parts
        usable = [(i, p) for i, p in candidates if i >= cuts[-1][0] + max(1, min_frames)]
        if not usable:
            break
        best = min(usable, key=lambda c: abs(c[0] - ideal))
        if best[0] >= total:
            break
        cuts.append(best)
    chunks = []
    for k, (start, pts) in enumerate(cuts):
        end = cuts[k + 1][0] if k + 1 < len(cuts) else total
        stop = min(total, end + overlap_frames) if k + 1 < len(cuts) else total
        chunks.append(Chunk(k, start, end, stop, pts, found.origin_pts))
    return chunks


def chunk_frames(path: Path, chunk: Chunk, *, queue_size: int = 8) -> Iterator[Frame]:
    """Frames ``chunk.start`` to ``chunk.stop - 1``, decoded from a seek to the chunk's keyframe (in a background
    thread, as :func:`vigil.analysis.decode.frames`), with the indices and times a decode from the top gives them."""
    if chunk.start_pts is None:
        yield from _decoded(path, chunk)
        return
    out: queue.Queue[object] = queue.Queue(maxsize=max(1, queue_size))
    stop = threading.Event()
    worker = threading.Thread(target=_decode_into, args=(path, chunk, out, stop), name="vigil-chunk", daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not END:
            if isinstance(item, Exception):
                raise item
            yield cast(Frame, item)
    finally:
        stop.set()
        worker.join(timeout=5.0)


def _decode_into(path: Path, chunk: Chunk, out: queue.Queue[object], stop: threading.Event) -> None:
    try:
        for frame in _decoded(path, chunk):
            if not put_unless_stopped(out, frame, stop):
                return
        put_unless_stopped(out, END, stop)
    except Exception as exc:  # handed to the consuming thread, which re-raises it
        put_unless_stopped(out, exc, stop)


def _decoded(path: Path, chunk: Chunk) -> Iterator[Frame]:
    if chunk.start_pts is None:
        for frame in frames(path, chunk.start):
            if frame.index >= chunk.stop:
                return
            yield frame
        return
    with open_video(path) as video:
        stream, container = video.stream, video.container
        by_index = container.format.name == "avi" or stream.time_base is None
        time_base = float(stream.time_base or 0)
        frame_s = 1.0 / video.fps if video.fps > 0 else 0.0
        container.seek(chunk.start_pts, stream=stream, backward=True, any_frame=False)
        index = chunk.start
        for picture in container.decode(stream):
            if picture.pts is None:
                raise ValueError(f"{path.name}: a frame after the seek to frame {chunk.start} has no timestamp")
            if picture.pts < chunk.start_pts:
                continue
            if index == chunk.start and picture.pts != chunk.start_pts:
                raise ValueError(f"{path.name}: the seek to keyframe {chunk.start} landed on another frame")
            t = index * frame_s
            if not by_index and chunk.origin_pts is not None:
                t = (picture.pts - chunk.origin_pts) * time_base
            image = cast(npt.NDArray[np.uint8], picture.to_ndarray(format="bgr24"))
            yield Frame(image, t, index)
            index += 1
            if index >= chunk.stop:
                return


def analyse_chunk(
    settings: Settings,
    setup: AnalysisSetup,
    path: Path,
    chunk: Chunk,
    *,
    on_frame: Callable[[int], None] | None = None,
    detector: Any = None,
) -> ChunkResult:
    """Analyse one chunk with a fresh analyser; the records of every confirmed track (joined within the chunk
    by the pipeline's own stitching; the ones still live at ``stop`` are ended there)."""
    from vigil.analysis.pipeline import build_analyser

    analyser = build_analyser(settings, setup, detector=detector)
    records: list[TrackRecord] = []
    read = 0
    for frame in chunk_frames(path, chunk):
        analyser.advance(frame)
        records.extend(analyser.close(analyser.tracker.pop_ended()))
        read += 1
        if on_frame is not None:
            on_frame(read)
    records.extend(analyser.close(analyser.tracker.end_all(), stitch=False))
    return ChunkResult(chunk.index, records, read, analyser.detector_calls)


# -- stitching across chunk boundaries --------------------------------------------------------------------------


def _iou(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1, y1 = np.minimum(a[:, 2], b[:, 2]), np.minimum(a[:, 3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return cast(npt.NDArray[np.float64], inter / np.maximum(area, 1e-9))


def overlap_iou(earlier: TrackRecord, later: TrackRecord, *, since: int, until: int) -> tuple[float, int]:
    """Mean box IoU of two records over ``later``'s detections in ``[since, until)`` that fall inside
    ``earlier``'s span (its box linearly interpolated between its detections: the two chunks' schedules detect on
    different frames), and how many such detections there were."""
    if not earlier.frames:
        return 0.0, 0
    frames = np.asarray(later.frames)
    inside = (frames >= since) & (frames < until) & (frames >= earlier.frames[0]) & (frames <= earlier.frames[-1])
    if not np.any(inside):
        return 0.0, 0
    known = np.asarray(earlier.boxes, dtype=np.float64).reshape(-1, 4)
    at = frames[inside].astype(np.float64)
    a = np.column_stack([np.interp(at, earlier.frames, known[:, c]) for c in range(4)])
    b = np.asarray(later.boxes, dtype=np.float64).reshape(-1, 4)[inside]
    return float(np.mean(_iou(a, b))), int(np.count_nonzero(inside))


@dataclass(frozen=True)
class JoinPolicy:
    min_iou: float = 0.5
    min_common: int = 2


def _from(record: TrackRecord, first: int) -> TrackRecord:
    """The record's per-detection lists from frame ``first`` on (its votes and appearance kept whole)."""
    keep = [i for i, f in enumerate(record.frames) if f >= first]
    trimmed = TrackRecord(**{name: getattr(record, name) for name in record.__dataclass_fields__})
    for name in ("frames", "times", "boxes", "scores", "classes"):
        values = getattr(record, name)
        setattr(trimmed, name, [values[i] for i in keep])
    return trimmed


def _join_boundary(
    carried: list[TrackRecord], incoming: list[TrackRecord], chunk: Chunk, policy: JoinPolicy
) -> list[TrackRecord]:
    """``carried`` (every track so far) followed by the next chunk's ``incoming`` records, the tracks seen on
    both sides of ``chunk``'s end joined into one."""
    from vigil.analysis.stitch import merged

    since, until = chunk.end, chunk.stop
    reaching = [i for i, r in enumerate(carried) if r.frames and r.frames[-1] >= since]
    pairs: list[tuple[float, int, int]] = []
    for i in reaching:
        for j, later in enumerate(incoming):
            if not later.frames or later.frames[0] >= until:
                continue
            iou, common = overlap_iou(carried[i], later, since=since, until=until)
            if common >= policy.min_common and iou >= policy.min_iou:
                pairs.append((iou, i, j))
    joined: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in joined and j not in used:
            joined[i], used = j, used | {j}
    result: list[TrackRecord] = []
    for i, record in enumerate(carried):
        if i in joined:
            tail = _from(incoming[joined[i]], until)
            result.append(merged(record, tail) if tail.frames else record)
        elif record.frames and record.frames[0] < since:
            result.append(record)  # began in this chunk: its own (an unmatched one ended or was lost here)
        # else: began in the overlap and matched nothing: the next chunk reports it from its start
    result.extend(later for j, later in enumerate(incoming) if j not in used)
    return result


def join_chunks(
    results: Sequence[ChunkResult], chunks: Sequence[Chunk], policy: JoinPolicy | None = None
) -> list[TrackRecord]:
    """Every track of the file, joined across chunk boundaries, ordered by last then first frame."""
    policy = policy or JoinPolicy()
    by_index = {result.index: result for result in results}
    missing = [chunk.index for chunk in chunks if chunk.index not in by_index]
    if missing:
        raise ValueError(f"chunks {missing} have no result")
    carried: list[TrackRecord] = list(by_index[chunks[0].index].records) if chunks else []
    for chunk, following in itertools.pairwise(chunks):
        carried = _join_boundary(carried, by_index[following.index].records, chunk, policy)
    return sorted(carried, key=lambda r: (r.frames[-1], r.frames[0]) if r.frames else (-1, -1))


# -- where chunks run ------------------------------------------------------------------------------------------


Tick = Callable[[int], None]
"""Called often while chunks run, with the frames of finished chunks (it may raise to cancel the run)."""


class ChunkMap(Protocol):
    """Runs chunk tasks; yields each result as it comes in (in any order)."""

    def run(
        self, settings: Settings, setup: AnalysisSetup, path: Path, chunks: Sequence[Chunk], tick: Tick
    ) -> Iterator[ChunkResult]: ...

    def parts(self) -> int:
        """How many chunks can run at once (a file is cut into a whole number of chunks per one)."""
        ...


@dataclass
class InProcessChunks:
    """Runs the chunks one after the other in this process (the engine-independent reference; tests)."""

    count: int = 4
    detector: Any = None

    def parts(self) -> int:
        return self.count

    def run(
        self, settings: Settings, setup: AnalysisSetup, path: Path, chunks: Sequence[Chunk], tick: Tick
    ) -> Iterator[ChunkResult]:
        done = 0
        for chunk in chunks:

            def progress(read: int, before: int = done, limit: int = chunk.frames) -> None:
                tick(before + min(read, limit))

            result = analyse_chunk(settings, setup, path, chunk, on_frame=progress, detector=self.detector)
            done += chunk.frames
            yield result


# -- spool: finished chunks kept for a resumed job -------------------------------------------------------------


@dataclass
class ChunkSpool:
    """Finished chunk results of one job, one ``.npz`` per chunk (no pickle), written by the driver only."""

    folder: Path
    plan: list[dict[str, int]] = field(default_factory=list)

    def load(self, chunks: Sequence[Chunk]) -> dict[int, ChunkResult]:
        """The results saved for exactly this plan of chunks (none if the plan changed)."""
        found: dict[int, ChunkResult] = {}
        for chunk in chunks:
            path = self.folder / f"{chunk.index}.npz"
            if path.exists():
                result = _read_result(path, chunk)
                if result is not None:
                    found[chunk.index] = result
        return found

    def save(self, result: ChunkResult, chunk: Chunk) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{chunk.index}.npz"
        partial = final.with_suffix(".part")
        partial.write_bytes(_result_bytes(result, chunk))
        partial.replace(final)

    def clear(self) -> None:
        if self.folder.exists():
            for path in self.folder.iterdir():
                path.unlink()
            self.folder.rmdir()


def _result_bytes(result: ChunkResult, chunk: Chunk) -> bytes:
    header: dict[str, Any] = {
        "format": SPOOL_FORMAT,
        "chunk": [chunk.index, chunk.start, chunk.end, chunk.stop],
        "frames_read": result.frames_read,
        "detector_calls": result.detector_calls,
        "records": [],
    }
    arrays: dict[str, npt.NDArray[Any]] = {}
    for n, record in enumerate(result.records):
        scalars, fields = record.to_state()
        header["records"].append(scalars)
        arrays.update({f"record.{n}.{name}": value for name, value in fields.items()})
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _read_result(path: Path, chunk: Chunk) -> ChunkResult | None:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop("header").tobytes().decode())
    if header.get("format") != SPOOL_FORMAT or header["chunk"] != [chunk.index, chunk.start, chunk.end, chunk.stop]:
        return None
    records = []
    for n, scalars in enumerate(header["records"]):
        prefix = f"record.{n}."
        fields = {name[len(prefix) :]: value for name, value in arrays.items() if name.startswith(prefix)}
        records.append(TrackRecord.from_state(scalars, fields))
    return ChunkResult(chunk.index, records, int(header["frames_read"]), int(header["detector_calls"]))
