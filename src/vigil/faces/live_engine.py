"""Live facial recognition frame by frame: read a stream, find faces, compare them with a frozen watchlist.

The rule the law asks for is enforced here, where faces are first seen: a face that scores below the threshold
against every watchlist entry leaves no trace. Its embedding, box and pixels stay in local variables of
:meth:`LiveMatcher.process` and are dropped when it returns; nothing is logged about it. Only a count survives:
:class:`FaceCounter` counts *distinct* faces (a face followed across frames counts once) from their boxes alone.
A face at or above the threshold becomes a :class:`LiveMatch` carrying its crop, which the deployment service turns
into an alert for an operator to confirm; the same subject on the same camera within ``cooldown_s`` raises one
alert, not one per frame.

:class:`LatestFrameReader` decodes a stream (RTSP/HTTP URL, or a file replayed at its own pace for tests and
demonstrations) in a thread and always hands the matcher the newest frame, so a slow CPU drops frames instead of
falling behind: the delay from a frame's arrival to its alert stays bounded by one frame's processing time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import av
import numpy as np
import numpy.typing as npt

from vigil.errors import InvalidInput
from vigil.vision.faces.embed import subject_templates
from vigil.vision.faces.recognizer import FaceRecognizer

Image = npt.NDArray[np.uint8]
NETWORK_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


@dataclass(frozen=True, eq=False)
class WatchlistVectors:
    """A frozen watchlist as the matcher needs it: one unit embedding per entry, with its entry and subject ids."""

    entry_ids: npt.NDArray[np.int64]
    subject_ids: npt.NDArray[np.int64]
    embeddings: npt.NDArray[np.float32]  # (N, D), unit rows
    model: str

    def __post_init__(self) -> None:
        n = len(self.entry_ids)
        if len(self.subject_ids) != n or self.embeddings.shape[0] != n or self.embeddings.ndim != 2:
            raise ValueError("watchlist ids and embeddings differ in length")

    def __len__(self) -> int:
        return len(self.entry_ids)

    @cached_property
    def templates(self) -> tuple[npt.NDArray[np.float32], tuple[int, ...]]:
        """One unit template per subject and the subjects' ids, computed once per frozen watchlist."""
        return subject_templates(self.embeddings, self.subject_ids.tolist())

    def best(self, probes: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """For each probe row: the entry to report and its subject's score.

        Each subject is scored by its template (:func:`subject_templates`), as ``vigil fr identify`` does; the
        entry reported is that subject's entry most like the probe.
        """
        templates, subjects = self.templates
        scores = probes @ templates.T
        best = np.argmax(scores, axis=1)
        entry_scores = probes @ self.embeddings.T
        entries = np.empty(len(probes), dtype=np.intp)
        for i, column in enumerate(best):
            rows = np.flatnonzero(self.subject_ids == subjects[int(column)])
            entries[i] = rows[int(np.argmax(entry_scores[i, rows]))]
        return entries, scores[np.arange(len(probes)), best].astype(np.float32)


@dataclass(frozen=True, eq=False)
class LiveMatch:
    """A face that scored at or above the threshold: the only kind of face the live system keeps."""

    entry_id: int
    subject_id: int
    score: float
    box: tuple[float, float, float, float]
    crop: Image
    stream_s: float  # seconds into the stream
    arrived: float  # time.monotonic() when the frame arrived, for frame-to-alert latency


@dataclass(frozen=True)
class FrameOutcome:
    faces: int  # faces detected in this frame
    new_faces: int  # of which first seen now (the deployment's "faces seen" grows by this)
    matches: tuple[LiveMatch, ...]


def _iou(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """IoU matrix of boxes ``a`` (M, 4) and ``b`` (N, 4)."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(inter / np.maximum(union, 1e-6), dtype=np.float32)


@dataclass
class FaceCounter:
    """Counts distinct faces from boxes alone: a box overlapping a recent face (IoU >= ``min_iou`` within
    ``max_gap_s``) is that face again; anything else is a new face. Keeps boxes only, never pixels or identity."""

    min_iou: float = 0.3
    max_gap_s: float = 1.0
    total: int = 0
    _boxes: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    _last_seen: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))

    def update(self, boxes: npt.NDArray[np.float32], t: float) -> int:
        """Add this frame's boxes at stream time ``t``; returns how many are new faces."""
        recent = self._last_seen >= t - self.max_gap_s
        self._boxes, self._last_seen = self._boxes[recent], self._last_seen[recent]
        new = 0
        taken = np.zeros(len(self._boxes), dtype=bool)
        overlaps = _iou(boxes, self._boxes) if len(boxes) and len(self._boxes) else None
        fresh: list[npt.NDArray[np.float32]] = []
        for i, box in enumerate(boxes):
            j = -1
            if overlaps is not None:
                candidates = np.where(taken, -1.0, overlaps[i])
                j = int(np.argmax(candidates))
                j = j if candidates[j] >= self.min_iou else -1
            if j >= 0:
                taken[j] = True
                self._boxes[j], self._last_seen[j] = box, t
            else:
                fresh.append(box)
                new += 1
        if fresh:
            self._boxes = np.vstack([self._boxes, np.stack(fresh)]).astype(np.float32)
            self._last_seen = np.concatenate([self._last_seen, np.full(len(fresh), t)])
        self.total += new
        return new


def face_crop(image: Image, box: Sequence[float], margin: float = 0.25) -> Image:
    """A copy of the face in ``box`` with a margin around it (clipped to the image)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    h, w = image.shape[:2]
    left, top = max(0, int(x0 - dx)), max(0, int(y0 - dy))
    right, bottom = min(w, int(np.ceil(x1 + dx))), min(h, int(np.ceil(y1 + dy)))
    return np.ascontiguousarray(image[top:bottom, left:right]).copy()


class LiveMatcher:
    """Compares every searchable face of each frame with the watchlist and reports only the matches."""

    def __init__(
        self,
        *,
        recognizer: FaceRecognizer,
        watchlist: WatchlistVectors,
        threshold: float,
        cooldown_s: float = 10.0,
    ) -> None:
        if not len(watchlist):
            raise InvalidInput("the deployment's watchlist is empty: enrol subjects before going live")
        if not 0.0 < threshold < 1.0:
            raise InvalidInput("the alert threshold must be between 0 and 1")
        self.recognizer = recognizer
        self.watchlist = watchlist
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.counter = FaceCounter()
        self._last_alert: dict[int, float] = {}

    def process(self, image: Image, stream_s: float, arrived: float | None = None) -> FrameOutcome:
        """Faces in one frame: how many, how many new, and the watchlist matches (crops only for those)."""
        arrived = time.monotonic() if arrived is None else arrived
        faces = self.recognizer.detector.detect(image)
        new = self.counter.update(faces.xyxy, stream_s)
        # Faces too small to search with are counted but not embedded (the quality check would refuse them).
        usable = faces[faces.inter_ocular() >= self.recognizer.quality_limits.search_min_eyes_px]
        if not len(usable):
            return FrameOutcome(len(faces), new, ())
        analysis = self.recognizer.analyse(image, usable)
        best, scores = self.watchlist.best(analysis.embeddings)
        matches = []
        for i, entry in enumerate(best):
            score = float(scores[i])
            if score < self.threshold or not analysis.quality[i].searchable:
                continue
            subject = int(self.watchlist.subject_ids[entry])
            if stream_s - self._last_alert.get(subject, -np.inf) < self.cooldown_s:
                continue
            self._last_alert[subject] = stream_s
            box = tuple(float(v) for v in analysis.faces.xyxy[i])
            matches.append(
                LiveMatch(
                    entry_id=int(self.watchlist.entry_ids[entry]),
                    subject_id=subject,
                    score=score,
                    box=(box[0], box[1], box[2], box[3]),
                    crop=face_crop(image, box),
                    stream_s=stream_s,
                    arrived=arrived,
                )
            )
        return FrameOutcome(len(faces), new, tuple(matches))


@dataclass(frozen=True, eq=False)
class StreamFrame:
    image: Image
    stream_s: float
    arrived: float  # time.monotonic() when decoded


def is_network_stream(url: str) -> bool:
    return url.lower().startswith(NETWORK_SCHEMES)


def describe_failure(exc: Exception) -> str:
    """Why a stream failed, in words an operator can act on, without repeating the URL (it may hold credentials)."""
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError) or "401" in str(exc):
        return "the camera refused the credentials"
    if isinstance(exc, av.error.ExitError | TimeoutError) or "timed out" in str(exc).lower():
        return "no picture arrived in time (cannot connect, or the stream stalled)"
    if isinstance(exc, ConnectionRefusedError | av.error.ConnectionRefusedError):
        return "the camera refused the connection"
    if isinstance(exc, av.error.FFmpegError):
        return exc.strerror or type(exc).__name__
    return type(exc).__name__


class LatestFrameReader:
    """Decodes a stream in a background thread and keeps only the newest frame.

    ``url`` is a registered camera source, already checked (:mod:`vigil.governance.camera_sources`); ``label`` is
    what messages may show of it (the masked URL: the real one may hold credentials and is never logged). A file
    is replayed at its own frame rate (``realtime=True``), as a camera would deliver it. ``frames()`` yields each
    newest frame once; frames decoded while the consumer was busy are dropped. ``error`` holds the reason when the
    stream could not be opened, refused the credentials, stalled or broke off.
    """

    def __init__(self, url: str, *, label: str | None = None, realtime: bool = True, open_timeout_s: float = 10.0):
        if not url.strip():
            raise InvalidInput("a stream needs a source")
        self.url = url.strip()
        self.label = label if label is not None else ("a camera stream" if is_network_stream(url) else url)
        self.realtime = realtime
        self.open_timeout_s = open_timeout_s
        self.error: str | None = None
        self.decoded = 0
        self._latest: StreamFrame | None = None
        self._finished = False
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"stream {self.label}", daemon=True)

    def start(self) -> LatestFrameReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5.0)

    def frames(self) -> Iterator[StreamFrame]:
        """The newest frame each time one is available, until the stream ends or ``stop()``."""
        while True:
            with self._ready:
                while self._latest is None and not self._finished and not self._stop.is_set():
                    self._ready.wait(timeout=0.5)
                frame, self._latest = self._latest, None
                if frame is None:
                    return
            yield frame

    def _publish(self, frame: StreamFrame) -> None:
        with self._ready:
            self._latest = frame
            self.decoded += 1
            self._ready.notify_all()

    def _run(self) -> None:
        try:
            self._decode()
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self.error = f"stream {self.label} failed: {describe_failure(exc)}"
        finally:
            with self._ready:
                self._finished = True
                self._ready.notify_all()

    def _decode(self) -> None:
        options = {"rtsp_transport": "tcp"} if self.url.lower().startswith("rtsp") else {}
        with av.open(self.url, options=options, timeout=self.open_timeout_s) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            pace = self.realtime and not is_network_stream(self.url)
            started = time.monotonic()
            for frame in container.decode(stream):
                if self._stop.is_set():
                    return
                stream_s = float(frame.time) if frame.time is not None else 0.0
                if pace:
                    delay = started + stream_s - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        return
                image = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                self._publish(StreamFrame(image, stream_s, time.monotonic()))
