"""The application factory. Nothing happens at import time: ``create_app(settings)`` builds everything.

``vigil serve`` calls :func:`create_app` and runs uvicorn; it prints ``app.state.first_admin_password``
once when the first administrator was just created. The JSON API is described at /openapi.json; the
interactive docs pages (/docs, /redoc) are switched off because they load their scripts from a CDN.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from vigil.analysis.worker import JobExecutor, resume_unfinished
from vigil.footage.playable import CopyMaker
from vigil.governance.keys import secret_key
from vigil.registry.viewer_pool import ViewerPool
from vigil.settings import Settings
from vigil.system import System, make_executor, open_system, prepare
from vigil.web.api import api_router
from vigil.web.auth import check_csrf
from vigil.web.handlers import install_handlers
from vigil.web.logscrub import TokenScrubber
from vigil.web.logscrub import install as install_scrubber
from vigil.web.logscrub import uninstall as uninstall_scrubber
from vigil.web.mail import outbox_loop
from vigil.web.middleware import ClientAddress, IncidentCatcher, SecurityHeaders
from vigil.web.pages import (
    account,
    audit,
    camera_sources,
    cameras,
    cases,
    dashboards,
    exports,
    faces,
    footage,
    fr_calibration,
    home,
    live_cameras,
    live_fr,
    live_rules,
    live_wall,
    locations,
    registry_live,
    registry_officer,
    registry_public,
    registry_sharing,
    registry_upload,
    retention,
    review,
    search,
    synopsis,
    tokens,
    tracks,
    users,
    working_context,
)
from vigil.web.ratelimit import SlidingWindow
from vigil.web.rendering import STATIC_DIR, make_templates
from vigil.web.scheduler import (
    checkpoint_loop,
    retention_loop,
    sweep_footage_folder,
    write_audit_checkpoint,
)
from vigil.web.state import WebState

SESSION_COOKIE = "vigil_session"
API_DESCRIPTION = """vigil's JSON API. Authenticate with `Authorization: Bearer <token>`; get a token from
`POST /api/v1/tokens`. Every action is checked by the same governance services as the web pages and
is written to the audit chain."""


PAGES = (
    account,
    tokens,
    home,
    working_context,
    cases,
    users,
    locations,
    camera_sources,  # before cameras: /cameras/sources is not a camera code
    cameras,
    audit,
    retention,
    footage,
    tracks,
    live_fr,
    live_wall,  # before live_cameras: /live/wall is not a camera page
    live_rules,  # before live_cameras: /live/rules and /live/alerts are not camera codes
    live_cameras,
    faces,
    fr_calibration,
    exports,
    dashboards,
    synopsis,
    registry_public,
    registry_sharing,
    registry_upload,
    registry_officer,
    registry_live,
    search,
    review,
)
"""Page routers, in the order their routes are matched."""


def create_app(settings: Settings, *, system: System | None = None, executor: JobExecutor | None = None) -> FastAPI:
    """Build the web app on a prepared system (migrations applied, first administrator created).

    Analysis jobs run on ``executor`` (default: :func:`~vigil.system.make_executor`: worker processes, or Ray
    under ``VIGIL_ENGINE=ray``), started with the app's lifespan, which first resumes the jobs a crash or restart
    left unfinished, and shut down with it.
    """
    if executor is None and settings.engine == "ray":
        from vigil.cluster.checks import require_cluster

        require_cluster(settings)  # refuse to start, naming each missing cluster prerequisite
    owns_system = system is None
    system = system if system is not None else open_system(settings)
    first_admin_password = prepare(system)
    app = FastAPI(
        title="vigil",
        description=API_DESCRIPTION,
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_lifespan(system, executor=executor, owns_system=owns_system),
        dependencies=[Depends(check_csrf)],
    )
    app.state.system = system
    app.state.first_admin_password = first_admin_password
    templates = make_templates(settings.zone)
    footage.add_template_helpers(templates)
    app.state.web = WebState(
        system=system,
        templates=templates,
        login_attempts=SlidingWindow(limit=settings.web.login_rate_per_minute, window_s=60.0),
        registrations=SlidingWindow(limit=settings.registry.registrations_per_hour, window_s=3600.0),
        db_slots=anyio.CapacityLimiter(settings.web.db_slots),
        db_finish=anyio.CapacityLimiter(settings.web.db_slots),
    )
    _add_middleware(app, settings, secret=secret_key(settings))
    install_handlers(app)
    for module in PAGES:
        app.include_router(module.router)
    app.include_router(api_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _lifespan(
    system: System, *, executor: JobExecutor | None, owns_system: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """What runs while the app serves: analysis jobs, playable copies, schedulers, live cameras; then shutdown."""
    settings = system.settings

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Worker threads and database slots are sized together (settings.web): see vigil.web.deps.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web.threads
        jobs = executor if executor is not None else make_executor(settings)
        app.state.web.executor = jobs
        await asyncio.to_thread(sweep_footage_folder, system)  # what a killed upload or copy left behind
        await asyncio.to_thread(resume_unfinished, system.sessions, jobs)
        copies = CopyMaker(system.sessions, settings.data_dir)
        app.state.web.copies = copies
        await asyncio.to_thread(copies.resume)  # copies a restart left queued or half-made
        viewers = ViewerPool(settings=settings, sessions=system.sessions)
        app.state.web.viewers = viewers
        viewers.start()
        await asyncio.to_thread(write_audit_checkpoint, system)  # creates the signing key on first start
        scrubber = TokenScrubber()
        install_scrubber(scrubber)  # after uvicorn has configured its loggers
        schedulers = [
            asyncio.create_task(retention_loop(system), name="vigil-retention"),
            asyncio.create_task(checkpoint_loop(system), name="vigil-audit-checkpoints"),
            asyncio.create_task(outbox_loop(system), name="vigil-outbox"),
        ]
        if settings.live.enabled:  # the cameras, and the watches with them (else `vigil live run` runs both)
            await asyncio.to_thread(system.live.start)
        try:
            yield
        finally:
            for scheduler in schedulers:
                scheduler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scheduler
            uninstall_scrubber(scrubber)
            app.state.web.executor = app.state.web.copies = None
            await asyncio.to_thread(jobs.shutdown)
            await asyncio.to_thread(copies.shutdown)
            app.state.web.viewers = None
            await asyncio.to_thread(viewers.close)
            await asyncio.to_thread(system.live.stop)
            await asyncio.to_thread(system.services.close)  # waits for synopsis renders, unmaps the index
            await asyncio.to_thread(write_audit_checkpoint, system)  # anchors everything up to shutdown
            if owns_system:
                system.close()

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings, *, secret: str) -> None:
    # Added innermost first: the security headers wrap everything, including the crash page.
    app.add_middleware(IncidentCatcher)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.web.session_hours * 3600),
        same_site="lax",
        https_only=settings.web.secure_cookies,
    )
    app.add_middleware(SecurityHeaders, https=settings.web.secure_cookies)
    app.add_middleware(ClientAddress, trusted_proxies=settings.web.trusted_proxies)  # outermost: all see the result
