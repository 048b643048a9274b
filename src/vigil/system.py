"""The running system: settings, database engine and session factory, and the long-lived objects built from
them (:class:`Services`), built once by the CLI or web app and closed with it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vigil.analysis.jobs import JobRunner
from vigil.analysis.worker import JobExecutor, LocalExecutor, make_runner
from vigil.cluster.cameras import RayCameras
from vigil.db.database import Backend
from vigil.db.migrate import upgrade
from vigil.db.session import make_engine, make_session_factory, session_scope
from vigil.faces.images import make_recognizer
from vigil.faces.live import LiveAlertRule
from vigil.faces.live_watch import FaceWatch
from vigil.faces.retention import RetroSearchRule
from vigil.governance.retention import ApiTokenRule, FootageRule, LoginSessionRule, RetentionRule
from vigil.governance.users import bootstrap_admin
from vigil.live.observers import ObserverFactory
from vigil.live.rules.alerts import RuleAlertRetention
from vigil.live.sources import CameraSources, SourceResolver
from vigil.live.supervisor import LiveSupervisor
from vigil.live.viewing import bookmarked_footage
from vigil.search.export.retention import ExportRule
from vigil.search.similarity.index import SimilarityIndex
from vigil.search.synopsis.renders import SynopsisRenders
from vigil.settings import Settings
from vigil.vision.detect import Detector, configured_detector
from vigil.vision.faces.recognizer import FaceRecognizer
from vigil.watch.runner import WatchRunner

T = TypeVar("T")


class Lazy(Generic[T]):
    """One long-lived object: built on first use under its own lock (so two requests never build it twice and
    a slow model load holds up only its own users), and closed with the system."""

    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None = None) -> None:
        self._build, self._close = build, close
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    @property
    def built(self) -> bool:
        return self._value is not None

    def put(self, value: T) -> None:
        """Use ``value`` from now on (a test's or benchmark's prepared object); the replaced one is closed."""
        with self._lock:
            old, self._value = self._value, value
        if old is not None and self._close is not None:
            self._close(old)

    def close(self) -> None:
        with self._lock:
            value, self._value = self._value, None
        if value is not None and self._close is not None:
            self._close(value)


class Services:
    """The models, index and registries a running vigil keeps for its whole life, each built on first use.

    Owned by the :class:`System` (one per process that serves or runs commands) and closed with it; the web app
    reaches it through a FastAPI dependency (:func:`vigil.web.deps.services`), commands through the system.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.recognizer: Lazy[FaceRecognizer] = Lazy(lambda: make_recognizer(settings))
        """Face detector, aligner and embedder (watchlists, retrospective FR, calibration)."""
        self.similarity: Lazy[SimilarityIndex] = Lazy(
            lambda: SimilarityIndex.in_data_dir(settings.data_dir), SimilarityIndex.close
        )
        """The appearance-vector index behind "more like this" and search by photo."""
        self.photo_detector: Lazy[Detector] = Lazy(lambda: configured_detector(settings.vision))
        """The configured object detector for still pictures (search by photo)."""
        self.synopsis_renders: Lazy[SynopsisRenders] = Lazy(SynopsisRenders, SynopsisRenders.close)
        """Synopsis renders running in background threads."""

    def close(self) -> None:
        for lazy in (self.synopsis_renders, self.similarity, self.photo_detector, self.recognizer):
            lazy.close()


CAMERA_OBSERVERS: tuple[ObserverFactory, ...] = (FaceWatch,)
"""What every camera's worker runs besides its own observers: live facial-recognition deployments (``vigil.faces``
sits beside ``vigil.live``, so it is registered here rather than imported by the worker)."""


@dataclass(frozen=True)
class System:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    live: LiveSupervisor | RayCameras = field(repr=False)
    """The live cameras (started by the web app when ``settings.live.enabled``, or `vigil live run`): a worker
    process per camera here, or a Ray actor per camera under ``VIGIL_ENGINE=ray``; the appearance and similar
    watches run with them, in the same process (so exactly once, wherever the cameras run)."""
    services: Services = field(repr=False)
    """Models, similarity index and render registry, each built on first use."""

    def close(self) -> None:
        self.live.stop()
        self.services.close()
        self.engine.dispose()


def open_system(settings: Settings, *, live_sources: SourceResolver | None = None) -> System:
    """Build the system; live streams come from ``live_sources`` (default: ``settings.live.cameras``, then the
    force cameras' registered sources)."""
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    resolver = live_sources if live_sources is not None else CameraSources(settings, sessions)
    watches = WatchRunner(sessions=sessions, data_dir=settings.data_dir)  # runs wherever the cameras run
    live: LiveSupervisor | RayCameras
    if settings.engine == "ray":
        live = RayCameras(settings=settings, resolver=resolver, observers=CAMERA_OBSERVERS, companions=(watches,))
    else:
        live = LiveSupervisor(
            settings=settings, sessions=sessions, resolver=resolver, observers=CAMERA_OBSERVERS, companions=(watches,)
        )
    return System(settings=settings, engine=engine, sessions=sessions, live=live, services=Services(settings))


def prepare(system: System) -> str | None:
    """Create the data folder, apply migrations and create the first administrator if there are no users.

    Returns the first administrator's one-time password (to print once), or None if users exist.
    """
    system.settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(system.engine)
    with session_scope(system.sessions) as db:
        return bootstrap_admin(db)


def default_rules(settings: Settings) -> list[RetentionRule]:
    """Every retention rule, assembled here because some belong to capabilities above governance."""
    policy = settings.retention
    return [
        FootageRule(data_dir=settings.data_dir, days=policy.footage_days, holds=(bookmarked_footage,)),
        ApiTokenRule(days_after=policy.api_token_days_after_expiry),
        LoginSessionRule(days_after=policy.login_session_days),
        LiveAlertRule(data_dir=settings.data_dir, hours=policy.live_fr_alert_hours),
        ExportRule(data_dir=settings.data_dir, days=policy.footage_days),
        RetroSearchRule(data_dir=settings.data_dir, days=policy.footage_days),
        RuleAlertRetention(data_dir=settings.data_dir, days=policy.live_rule_alert_days),
    ]


def make_executor(settings: Settings) -> JobExecutor:
    """Where the web app runs analysis jobs: worker processes here (``VIGIL_ENGINE=local``) or chunk tasks on the
    Ray cluster (``ray``; refused with a clear error when a cluster prerequisite is missing)."""
    if settings.engine == "ray":
        from vigil.cluster.engine import RayExecutor

        return RayExecutor(settings)
    return LocalExecutor(settings)


def job_runner(backend: Backend, *, job_id: int, on_progress: Callable[[int, int], None] | None = None) -> JobRunner:
    """The runner `vigil analyse` drives in the terminal: sequential here, or chunked on the Ray cluster."""
    if backend.settings.engine == "ray":
        from vigil.cluster.checks import require_cluster
        from vigil.cluster.engine import ray_runner

        require_cluster(backend.settings)
        return ray_runner(backend, job_id=job_id, on_progress=on_progress)
    return make_runner(backend, on_progress=on_progress)
