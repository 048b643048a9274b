"""Jinja2 page rendering: every page gets the user, their permissions, the CSRF token and flash messages."""

from __future__ import annotations

import importlib.metadata
import json
from datetime import UTC, date, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from vigil.db.models import User
from vigil.governance.roles import Capability, Permission, role_has_permission
from vigil.web.auth import csrf_token, pop_flashes
from vigil.web.context import stated_context
from vigil.web.deps import commit_before_rendering
from vigil.web.navigation import main_menu
from vigil.web.state import web_state

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def make_templates(zone: ZoneInfo | None = None) -> Jinja2Templates:
    """The page templates; every time on a page is shown in ``zone`` (the force's), with the zone named."""
    zone = zone or ZoneInfo("Europe/London")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = partial(when, zone=zone)
    env.filters["clock"] = partial(clock, zone=zone)
    env.filters["day"] = day
    env.filters["details"] = details
    env.filters["capability"] = capability_label
    env.globals["version"] = _version()
    env.globals["main_menu"] = main_menu
    return Jinja2Templates(env=env)


def _version() -> str:
    try:
        return importlib.metadata.version("vigil")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def local(value: datetime, zone: tzinfo) -> datetime:
    """A stored time (UTC; a naive one is taken as UTC) in the force's time zone."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S", *, zone: tzinfo = UTC) -> str:
    """The one way a page shows a time: local force time followed by the zone's name (GMT / BST)."""
    if value is None:
        return "—"
    moment = local(value, zone)
    return f"{moment.strftime(fmt)} {moment.tzname() or ''}".strip()


def clock(value: datetime | None, *, zone: tzinfo = UTC) -> str:
    """A time of day in local force time with the zone's name, for places where the date is shown nearby."""
    return when(value, "%H:%M:%S", zone=zone)


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def details(value: str) -> str:
    """An audit entry's canonical-JSON details for reading: "key: value" pairs, nested values in words, never
    raw JSON, capabilities by their human names."""
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if not isinstance(data, dict):
        return value
    return "; ".join(f"{_words(key)}: {_readable(item, key)}" for key, item in data.items())


def _words(key: str) -> str:
    return key.replace("_", " ")


def _readable(item: object, key: str = "") -> str:
    if isinstance(item, dict):
        return ", ".join(f"{_words(str(k))} {_readable(v, str(k))}" for k, v in item.items()) or "none"
    if isinstance(item, list):
        return ", ".join(_readable(v, key) for v in item) or "none"
    if isinstance(item, bool):
        return "yes" if item else "no"
    if item is None:
        return "—"
    if key in ("capability", "capabilities") and isinstance(item, str):
        return capability_label(item)
    return str(item)


def capability_label(value: object) -> str:
    """A capability as people call it ("Retrospective facial recognition"), never its internal name."""
    name = str(getattr(value, "value", value))
    try:
        label = Capability(name).label
    except ValueError:
        label = name.replace("_", " ")
    return label[:1].upper() + label[1:]


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
    settings = state.system.settings
    base = {
        "zone": settings.zone,
        "zone_name": settings.timezone,
        "force_name": settings.force_name,
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
