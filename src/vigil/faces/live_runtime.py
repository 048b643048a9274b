"""Running live deployments inside the web app: one thread per camera stream, alerts pushed to operators.

:class:`AlertBroker` hands alerts from stream threads to the browsers watching a deployment's console (Server-Sent
Events): each subscriber has an asyncio queue fed thread-safely on the web server's event loop. :class:`LiveRuntime`
starts and stops the stream threads; each reads its stream with the newest-frame reader, runs the matcher, stores
every match as an alert (its own short transaction) and publishes it, and adds the count of distinct faces seen to
the deployment every few seconds. Nothing about a face that matched no one leaves the matcher.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.errors import Conflict
from vigil.faces.live import add_faces_seen, end_deployment, record_alert
from vigil.faces.live_engine import LatestFrameReader, LiveMatch, LiveMatcher, WatchlistVectors
from vigil.governance.audit import SYSTEM_ACTOR
from vigil.governance.camera_sources import LiveSource
from vigil.vision.faces.recognizer import FaceRecognizer

log = logging.getLogger(__name__)
FLUSH_FACES_EVERY_S = 5.0
Sessions = Callable[[], AbstractContextManager[Session]]


class AlertBroker:
    """Publish/subscribe of alert events per deployment, from any thread to asyncio subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]] = {}

    def subscribe(self, deployment_id: int) -> asyncio.Queue[dict[str, Any]]:
        """A queue of this deployment's events (call from the event loop; ``unsubscribe`` when done)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.setdefault(deployment_id, []).append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, deployment_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            kept = [(loop, q) for loop, q in self._subscribers.get(deployment_id, []) if q is not queue]
            self._subscribers[deployment_id] = kept

    def publish(self, deployment_id: int, event: dict[str, Any]) -> int:
        """Send ``event`` to every subscriber of the deployment; returns how many there were."""
        with self._lock:
            targets = list(self._subscribers.get(deployment_id, []))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(deployment_id, queue)
        return len(targets)


@dataclass(frozen=True)
class StreamState:
    """What the operator console shows about one stream: connecting, receiving, failed (with why) or ended."""

    camera: str
    state: str
    detail: str = ""


@dataclass
class StreamWorker:
    """One camera stream of one live deployment."""

    deployment_id: int
    stream: LiveSource
    matcher: LiveMatcher
    reader: LatestFrameReader
    thread: threading.Thread | None = None
    frames: int = 0
    latencies_s: list[float] = field(default_factory=list)  # frame arrival -> alert published
    state: str = "connecting"
    detail: str = ""


class LiveRuntime:
    """The live deployments running in this process."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        data_dir: Path,
        make_recognizer: Callable[[], FaceRecognizer],
        broker: AlertBroker | None = None,
        realtime: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.data_dir = data_dir
        self.make_recognizer = make_recognizer
        self.broker = broker or AlertBroker()
        self.realtime = realtime
        self.clock = clock
        self._lock = threading.Lock()
        self._workers: dict[int, list[StreamWorker]] = {}
        self._ends: dict[int, datetime] = {}

    def running(self, deployment_id: int) -> list[StreamWorker]:
        with self._lock:
            return list(self._workers.get(deployment_id, []))

    def stream_states(self, deployment_id: int) -> dict[str, StreamState]:
        """The state of each stream of a deployment running here, by camera."""
        return {w.stream.camera: StreamState(w.stream.camera, w.state, w.detail) for w in self.running(deployment_id)}

    def _set_state(self, worker: StreamWorker, state: str, detail: str = "") -> None:
        worker.state, worker.detail = state, detail
        event = {"type": "stream", "camera": worker.stream.camera, "state": state, "detail": detail}
        if state == "failed":
            event["error"] = detail
        self.broker.publish(worker.deployment_id, event)

    def start(
        self,
        deployment_id: int,
        *,
        watchlist: WatchlistVectors,
        streams: list[LiveSource],
        threshold: float,
        ends: datetime,
    ) -> None:
        """Start one thread per stream (each with its own recognizer: sessions are not shared across threads).

        ``streams`` are registered camera sources, checked by the caller before the deployment went live."""
        workers = [
            StreamWorker(
                deployment_id=deployment_id,
                stream=spec,
                matcher=LiveMatcher(recognizer=self.make_recognizer(), watchlist=watchlist, threshold=threshold),
                reader=LatestFrameReader(spec.url, label=spec.masked, realtime=self.realtime),
            )
            for spec in streams
        ]
        with self._lock:
            if deployment_id in self._workers:
                raise RuntimeError(f"deployment {deployment_id} is already running")
            self._workers[deployment_id], self._ends[deployment_id] = workers, ends
        for worker in workers:
            worker.thread = threading.Thread(target=self._watch, args=(worker,), name=f"live-fr {worker.stream.camera}")
            worker.reader.start()
            worker.thread.start()

    def stop(self, deployment_id: int) -> None:
        """Stop the deployment's streams (each worker adds its last count of faces seen as it exits)."""
        with self._lock:
            workers = self._workers.pop(deployment_id, [])
            self._ends.pop(deployment_id, None)
        for worker in workers:
            worker.reader.stop()
        for worker in workers:
            if worker.thread is not None and worker.thread is not threading.current_thread():
                worker.thread.join(timeout=10.0)

    def stop_all(self) -> None:
        with self._lock:
            ids = list(self._workers)
        for deployment_id in ids:
            self.stop(deployment_id)

    def _watch(self, worker: StreamWorker) -> None:
        unflushed, last_flush = 0, time.monotonic()
        ends = self._ends[worker.deployment_id]
        try:
            for frame in worker.reader.frames():
                if worker.state != "receiving":
                    self._set_state(worker, "receiving")
                if self.clock() >= ends:
                    self._end_at_window(worker.deployment_id)
                    break
                outcome = worker.matcher.process(frame.image, frame.stream_s, frame.arrived)
                worker.frames += 1
                unflushed += outcome.new_faces
                for match in outcome.matches:
                    self._alert(worker, match)
                if unflushed and time.monotonic() - last_flush >= FLUSH_FACES_EVERY_S:
                    self._flush_faces(worker.deployment_id, unflushed)
                    unflushed, last_flush = 0, time.monotonic()
        except Exception as exc:  # a stream thread must never take the web app down
            reason = type(exc).__name__  # not the message: it could repeat the source URL
            log.error("live deployment %s stream %s stopped: %s", worker.deployment_id, worker.stream.camera, reason)
            self._set_state(worker, "failed", f"stream {worker.stream.masked} stopped: {reason}")
        finally:
            self._flush_faces(worker.deployment_id, unflushed)
            if worker.reader.error:
                log.warning("live deployment %s: %s", worker.deployment_id, worker.reader.error)
                self._set_state(worker, "failed", worker.reader.error)
            elif worker.state != "failed":
                self._set_state(worker, "ended", "the stream ended" if worker.frames else "no picture arrived")

    def _flush_faces(self, deployment_id: int, count: int) -> None:
        if not count:
            return
        with self.sessions() as db:
            add_faces_seen(db, deployment_id=deployment_id, count=count)
            db.commit()

    def _alert(self, worker: StreamWorker, match: LiveMatch) -> None:
        with self.sessions() as db:
            alert = record_alert(
                db,
                deployment_id=worker.deployment_id,
                match=match,
                camera=worker.stream.camera,
                data_dir=self.data_dir,
                at=self.clock(),
            )
            db.commit()
            event = alert_event(alert.id, alert.subject_id, alert.score, alert.at, alert.camera)
        self.broker.publish(worker.deployment_id, event)
        worker.latencies_s.append(time.monotonic() - match.arrived)

    def _end_at_window(self, deployment_id: int) -> None:
        with self.sessions() as db:
            try:
                end_deployment(db, actor=SYSTEM_ACTOR, deployment_id=deployment_id, now=self.clock())
                db.commit()
            except Conflict:  # an operator ended it first
                db.rollback()
        threading.Thread(target=self.stop, args=(deployment_id,), daemon=True).start()


def alert_event(alert_id: int, subject_id: int | None, score: float, at: datetime, camera: str) -> dict[str, Any]:
    """What the console receives about a new alert (images are fetched through authorised routes)."""
    return {
        "type": "alert",
        "id": alert_id,
        "subject_id": subject_id,
        "score": round(score, 3),
        "at": at.isoformat(),
        "camera": camera,
    }
