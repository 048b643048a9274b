"""Live facial-recognition deployments on a camera worker's frames: the face-watch observer.

A camera's worker (:mod:`vigil.live.worker`) decodes its stream once and hands each analysed frame to its observers;
:class:`FaceWatch` is the one registered for live FR (by :func:`vigil.system.open_system`, since ``vigil.live`` may
not import ``vigil.faces``). Every ``RELOAD`` it reads which deployments are live on its camera; for each
it loads the frozen watchlist's vectors once and runs a :class:`~vigil.faces.live_engine.LiveMatcher` on the
frame at the stream's own resolution. A match is stored as an alert (:func:`~vigil.faces.live.record_alert`, its own
short transaction) and reaches the operator console from the database; a face that matches no one leaves nothing
but the count of faces seen, added to the deployment every ``FLUSH_FACES_EVERY``. A deployment ended by an
operator stops being matched at the next reload; one whose window has closed stops at once and is ended here
(audited as the system), which deletes its watchlist's embeddings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.face_models import Deployment
from vigil.db.session import session_scope
from vigil.domain.clock import SYSTEM_CLOCK, Clock
from vigil.errors import Conflict, VigilError
from vigil.faces.live import add_faces_seen, end_deployment, record_alert, streams_of, watchlist_vectors
from vigil.faces.live_engine import LiveMatcher, WatchlistVectors
from vigil.governance.audit import SYSTEM_ACTOR
from vigil.settings import Settings
from vigil.vision.faces.recognizer import FaceRecognizer, default_recognizer

log = logging.getLogger(__name__)

RELOAD = timedelta(seconds=2)
"""A deployment started or ended is picked up (or dropped) this long after, at most (while frames arrive)."""
FLUSH_FACES_EVERY = timedelta(seconds=2)


class CameraPicture(Protocol):
    """What the face watch needs of a camera worker's frame (:class:`vigil.live.observers.LiveFrame`)."""

    @property
    def at(self) -> datetime: ...

    @property
    def full_image(self) -> npt.NDArray[np.uint8]: ...


@dataclass
class Watching:
    """One live deployment on this camera: its matcher, its window and the faces seen not yet added to it."""

    deployment_id: int
    ends: datetime
    matcher: LiveMatcher
    last_flush: datetime
    unflushed: int = 0


class FaceWatch:
    """A frame observer of one camera: the live FR deployments watching it (built in the camera's worker)."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        camera_code: str,
        make_recognizer: Callable[[], FaceRecognizer] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings, self.sessions, self.code, self.clock = settings, sessions, camera_code, clock
        self.make_recognizer = make_recognizer or self._default_recognizer
        self.recognizer: FaceRecognizer | None = None  # loaded when a deployment first goes live here
        self.watching: dict[int, Watching] = {}
        self.next_reload: datetime | None = None
        self.latencies_s: list[float] = []
        """Frame taken (stream clock) to alert stored, per alert: the face watch's share of frame-to-alert."""

    def _default_recognizer(self) -> FaceRecognizer:
        faces, vision = self.settings.faces, self.settings.vision
        return default_recognizer(threads=1, providers=vision.providers, max_side=faces.live_max_side)

    # -- frames ---------------------------------------------------------------------------------------------
    def observe(self, frame: CameraPicture) -> None:
        now = self.clock.now()
        if self.next_reload is None or now >= self.next_reload:
            self.reload()
            self.next_reload = now + RELOAD
        if not self.watching:
            return
        image = frame.full_image
        stream_s = frame.at.timestamp()
        for watching in list(self.watching.values()):
            if now >= watching.ends:
                self._end_at_window(watching, now)
                continue
            outcome = watching.matcher.process(image, stream_s)
            watching.unflushed += outcome.new_faces
            for match in outcome.matches:
                with session_scope(self.sessions) as db:
                    record_alert(
                        db,
                        deployment_id=watching.deployment_id,
                        match=match,
                        camera=self.code,
                        data_dir=self.settings.data_dir,
                        at=frame.at,
                    )
                self.latencies_s.append((self.clock.now() - frame.at).total_seconds())
            if watching.unflushed and now - watching.last_flush >= FLUSH_FACES_EVERY:
                self._flush(watching)

    def close(self) -> None:
        for watching in list(self.watching.values()):
            self._flush(watching)
        self.watching = {}

    # -- deployments ----------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Follow the deployments live on this camera: start matching new ones, stop matching ended ones."""
        with session_scope(self.sessions) as db:
            live = {d.id: d for d in self._live_here(db)}
            loaded = {
                deployment.id: (deployment.window_end, deployment.threshold, vectors)
                for deployment in live.values()
                if deployment.id not in self.watching and (vectors := self._vectors(deployment)) is not None
            }
        for deployment_id in [d for d in self.watching if d not in live]:
            self._flush(self.watching.pop(deployment_id))  # ended by an operator: its last count, then nothing
        for deployment_id, (ends, threshold, vectors) in loaded.items():
            if self.recognizer is None:
                self.recognizer = self.make_recognizer()
            matcher = LiveMatcher(recognizer=self.recognizer, watchlist=vectors, threshold=threshold)
            self.watching[deployment_id] = Watching(deployment_id, ends, matcher, last_flush=self.clock.now())

    def _live_here(self, db: Session) -> list[Deployment]:
        live = db.execute(select(Deployment).where(Deployment.status == "live")).scalars()
        return [d for d in live if any(spec.camera == self.code for spec in streams_of(d))]

    def _vectors(self, deployment: Deployment) -> WatchlistVectors | None:
        if deployment.watchlist is None:
            return None
        try:
            return watchlist_vectors(deployment.watchlist)
        except VigilError as exc:  # e.g. its embeddings were just deleted by its end
            log.warning("camera %s: deployment %s is not matched: %s", self.code, deployment.id, exc.message)
            return None

    def _flush(self, watching: Watching) -> None:
        count, watching.unflushed, watching.last_flush = watching.unflushed, 0, self.clock.now()
        if count:
            with session_scope(self.sessions) as db:
                add_faces_seen(db, deployment_id=watching.deployment_id, count=count)

    def _end_at_window(self, watching: Watching, now: datetime) -> None:
        """The window has closed: no more matching, and the deployment ends (another camera may have ended it)."""
        self._flush(self.watching.pop(watching.deployment_id))
        try:
            with session_scope(self.sessions) as db:
                end_deployment(db, actor=SYSTEM_ACTOR, deployment_id=watching.deployment_id, now=now)
        except Conflict:
            pass
