"""The JSON API under /api/v1, authenticated by bearer tokens (``Authorization: Bearer vgl_...``)."""

from __future__ import annotations

from fastapi import APIRouter

from vigil.web.api import (
    access,
    evidence,
    faces,
    footage,
    investigation,
    live_fr,
    locations,
    oversight,
    registry,
    users,
)

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (access, users, locations, oversight, footage, investigation, evidence, faces, live_fr, registry):
        router.include_router(module.router)
    return router
