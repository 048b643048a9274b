"""The application factory. Nothing happens at import time: ``create_app(settings)`` builds everything.

``vigil serve`` calls :func:`create_app` and runs uvicorn; it prints ``app.state.first_admin_password``
once when the first administrator was just created. The JSON API is described at /openapi.json; the
interactive docs pages (/docs, /redoc) are switched off because they load their scripts from a CDN.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from vigil.analysis.worker import JobExecutor, LocalExecutor, resume_unfinished
from vigil.faces.live_runtime import LiveRuntime
from vigil.settings import Settings
from vigil.system import System, open_system, prepare, secret_key
from vigil.web.api import api_router
from vigil.web.auth import check_csrf
from vigil.web.handlers import install_handlers
from vigil.web.middleware import IncidentCatcher, SecurityHeaders
from vigil.web.pages import (
    account,
    audit,
    dashboards,
    exports,
    faces,
    footage,
    home,
    live_fr,
    locations,
    registry_officer,
    registry_public,
    registry_upload,
    retention,
    review,
    search,
    synopsis,
    tracks,
    users,
    working_context,
)
from vigil.web.ratelimit import SlidingWindow
from vigil.web.rendering import STATIC_DIR, make_templates
from vigil.web.scheduler import retention_loop
from vigil.web.state import WebState

SESSION_COOKIE = "vigil_session"
API_DESCRIPTION = """vigil's JSON API. Authenticate with `Authorization: Bearer <token>`; get a token from
`POST /api/v1/tokens`. Every action is checked by the same governance services as the web pages and
is written to the audit chain."""


def create_app(settings: Settings, *, system: System | None = None, executor: JobExecutor | None = None) -> FastAPI:
    """Build the web app on a prepared system (migrations applied, first administrator created).

    Analysis jobs run on ``executor`` (default: a :class:`LocalExecutor` of worker processes), started with
    the app's lifespan, which first resumes the jobs a crash or restart left unfinished, and shut down with it.
    """
    owns_system = system is None
    system = system if system is not None else open_system(settings)
    first_admin_password = prepare(system)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Worker threads and database slots are sized together (settings.web): see vigil.web.deps.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web.threads
        jobs = executor if executor is not None else LocalExecutor(settings)
        app.state.web.executor = jobs
        await asyncio.to_thread(resume_unfinished, system.sessions, jobs)
        scheduler = asyncio.create_task(retention_loop(system), name="vigil-retention")
        try:
            yield
        finally:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
            app.state.web.executor = None
            await asyncio.to_thread(jobs.shutdown)
            await asyncio.to_thread(app.state.live.stop_all)
            if owns_system:
                system.close()

    app = FastAPI(
        title="vigil",
        description=API_DESCRIPTION,
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        dependencies=[Depends(check_csrf)],
    )
    app.state.system = system
    app.state.first_admin_password = first_admin_password
    templates = make_templates()
    footage.add_template_helpers(templates)
    app.state.live = make_live_runtime(system)
    app.state.web = WebState(
        system=system,
        templates=templates,
        login_attempts=SlidingWindow(limit=settings.web.login_rate_per_minute, window_s=60.0),
        db_slots=anyio.CapacityLimiter(settings.web.db_slots),
        db_finish=anyio.CapacityLimiter(settings.web.db_slots),
    )
    _add_middleware(app, settings, secret=secret_key(settings))
    install_handlers(app)
    for module in (
        account,
        home,
        working_context,
        users,
        locations,
        audit,
        retention,
        footage,
        tracks,
        live_fr,
        faces,
        exports,
        dashboards,
        synopsis,
        registry_public,
        registry_upload,
        registry_officer,
        search,
        review,
    ):
        app.include_router(module.router)
    app.include_router(api_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


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


def make_live_runtime(system: System) -> LiveRuntime:
    """Live facial-recognition deployments run in this process; models load when a deployment starts."""
    from vigil.vision.faces.recognizer import default_recognizer

    settings = system.settings
    return LiveRuntime(
        sessions=system.sessions,
        data_dir=settings.data_dir,
        make_recognizer=lambda: default_recognizer(
            threads=1, providers=settings.vision.providers, max_side=settings.faces.live_max_side
        ),
    )
