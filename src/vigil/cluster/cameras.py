"""Live cameras as Ray actors: one actor per camera, wrapping :class:`vigil.live.worker.CameraWorker`.

Each actor declares ``settings.ray.cpus_per_camera`` CPUs and is placed with Ray's SPREAD strategy, so cameras are
spread over the nodes by declared CPU. Ray restarts an actor whose process dies (``kill -9``, a lost node) up to
``settings.ray.camera_restarts`` times (default: always); the restarted actor opens the camera's gap (from the end
of its last recorded segment, closed by the next one), counts the restart in the camera's health and runs a new
worker, which records and ingests as before: a partial segment is deleted, never ingested, and nothing is ingested
twice (the worker's own guarantees).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from vigil.db.live_models import LiveHealth
from vigil.db.session import make_engine, make_session_factory, session_scope
from vigil.live.observers import ObserverFactory
from vigil.live.sources import SourceResolver, StreamSource
from vigil.live.store import open_gap, write_health
from vigil.live.supervisor import Companion
from vigil.live.worker import CameraWorker, Stop
from vigil.settings import Settings

ACTOR_PREFIX = "vigil-camera-"
"""Name of a camera's actor: this and its code."""
RESTARTED = "the camera's Ray actor died (its process was killed or its node was lost) and Ray restarted it"


def node_name(ray: Any) -> str:
    """This process's Ray node as shown on the wall and in ``vigil cluster status``: its address and short id."""
    return f"{ray.util.get_node_ip_address()} {ray.get_runtime_context().get_node_id()[:12]}"


class CameraActor:
    """Ray actor: a camera's worker, run in a thread of the actor's process until :meth:`stop`."""

    def __init__(self, settings: Settings, source: StreamSource, registered: Sequence[ObserverFactory] = ()) -> None:
        import ray

        self._engine = make_engine(settings)
        sessions = make_session_factory(self._engine)
        reason = ""
        if ray.get_runtime_context().was_current_actor_reconstructed:
            reason = RESTARTED
            with session_scope(sessions) as db:
                if source.recording == "continuous":
                    open_gap(db, camera_code=source.camera_code, reason=reason)
                health = db.get(LiveHealth, source.camera_code)
                restarts = (health.restarts if health else 0) + 1
                write_health(db, camera_code=source.camera_code, state="connecting", reason=reason, restarts=restarts)
        with session_scope(sessions) as db:
            write_health(db, camera_code=source.camera_code, worker_pid=os.getpid(), node=node_name(ray))
        self._stop = threading.Event()
        worker = CameraWorker(
            settings=settings, sessions=sessions, source=source, restart_reason=reason, registered=registered
        )
        self._thread = threading.Thread(
            target=worker.run, args=(cast(Stop, self._stop),), name=f"vigil-camera-{source.camera_code}", daemon=True
        )
        self._thread.start()

    def where(self) -> tuple[str, int]:
        """The id of the node this camera runs on, and the actor's process id."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

    def stop(self, timeout: float) -> bool:
        """Let the worker finish and ingest its segment in progress; True if it stopped within ``timeout``."""
        self._stop.set()
        self._thread.join(timeout)
        self._engine.dispose()
        return not self._thread.is_alive()


@dataclass
class RayCameras:
    """The live cameras of ``resolver`` as Ray actors (the cluster counterpart of the local live supervisor)."""

    settings: Settings
    resolver: SourceResolver
    companions: tuple[Companion, ...] = ()
    """Started after the actors, stopped before them, in this process (e.g. the watches' runner)."""
    observers: tuple[ObserverFactory, ...] = ()
    """Observers the system registers on every camera (built in each actor)."""
    _actors: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        from vigil.cluster.checks import require_cluster
        from vigil.cluster.engine import connect

        require_cluster(self.settings)  # PostgreSQL and a store every node reads: a camera may run on any
        ray = connect(self.settings)
        actor = ray.remote(CameraActor)
        for source in self.resolver.sources():
            self._actors[source.camera_code] = actor.options(
                name=f"{ACTOR_PREFIX}{source.camera_code}",
                num_cpus=self.settings.ray.cpus_per_camera,
                max_restarts=self.settings.ray.camera_restarts,
                scheduling_strategy="SPREAD",
            ).remote(self.settings, source, self.observers)
        for companion in self.companions:
            companion.start()

    def workers(self) -> dict[str, tuple[str, int] | None]:
        """Camera code -> (node id, process id) of its actor, or None while Ray restarts it."""
        import ray

        found: dict[str, tuple[str, int] | None] = {}
        for code, actor in self._actors.items():
            try:
                found[code] = tuple(ray.get(actor.where.remote(), timeout=5))
            except (ray.exceptions.RayError, TimeoutError):
                found[code] = None
        return found

    def stop(self, timeout: float = 20.0) -> None:
        import ray

        for companion in self.companions:
            companion.stop()
        pending = [actor.stop.remote(timeout) for actor in self._actors.values()]
        with contextlib.suppress(ray.exceptions.RayError, TimeoutError):  # one being restarted is killed below
            ray.get(pending, timeout=timeout + 10)
        for actor in self._actors.values():
            ray.kill(actor, no_restart=True)
        self._actors.clear()
