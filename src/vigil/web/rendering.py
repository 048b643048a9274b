"""Jinja2 page rendering: every page gets the user, their permissions, the CSRF token and flash messages."""

from __future__ import annotations

import importlib.metadata
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from vigil.db.models import User
from vigil.governance.roles import Permission, role_has_permission
from vigil.web.auth import csrf_token, pop_flashes
from vigil.web.context import stated_context
from vigil.web.deps import commit_before_rendering
from vigil.web.state import web_state

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["details"] = details
    env.filters["capability"] = capability_label
    env.globals["version"] = _version()
    return Jinja2Templates(env=env)


def _version() -> str:
    try:
        return importlib.metadata.version("vigil")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def details(value: str) -> str:
    """An audit entry's canonical-JSON details as 'key: value' pairs for reading."""
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if not isinstance(data, dict):
        return value
    return "; ".join(
        f"{key}: {json.dumps(item, ensure_ascii=False) if not isinstance(item, str) else item}"
        for key, item in data.items()
    )


CAPABILITY_LABELS = {
    "analytics": "Analytics (searching footage)",
    "retrospective_fr": "Retrospective facial recognition",
    "live_fr": "Live facial recognition",
    "registry": "Camera registry",
    "requests": "Footage requests",
    "export": "Evidence export",
}


def capability_label(value: object) -> str:
    name = str(getattr(value, "value", value))
    return CAPABILITY_LABELS.get(name, name.replace("_", " "))


def permissions_of(user: User | None) -> frozenset[str]:
    if user is None or not user.is_active:
        return frozenset()
    return frozenset(p.value for p in Permission if role_has_permission(user.role, p))


def render(
    request: Request,
    template: str,
    *,
    user: User | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    commit_before_rendering(request)
    state = web_state(request)
    base = {
        "force_name": state.system.settings.force_name,
        "user": user,
        "perms": permissions_of(user),
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
        "working": stated_context(request) if user is not None else None,
        "section": "",
    }
    response: HTMLResponse = state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code, headers=headers
    )
    return response
