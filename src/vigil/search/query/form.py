"""The search form: a :class:`~vigil.search.query.track_query.TrackQuery` as flat form fields and back.

The "Understood" panel of the search page is this form filled in from the parsed description, so the user can
change any filter before running it; the results page keeps the same fields in its URL (a search is a GET, so a
results page can be bookmarked, reloaded and linked from a saved search). Dates and times are local to the
force's time zone in the form and UTC in the query. List filters repeat their field (``upper=red&upper=blue``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, tzinfo
from typing import Any, Protocol
from urllib.parse import urlencode

from pydantic import ValidationError

from vigil.errors import InvalidInput
from vigil.search.query.track_query import TrackQuery

LISTS = {
    "camera": "cameras",
    "class": "classes",
    "upper": "upper_colours",
    "lower": "lower_colours",
    "vehicle": "vehicle_colours",
    "carried": "carried",
    "heading": "headings",
}
NUMBERS = (
    "speed_min", "speed_max", "size_min", "size_max", "dwell_min", "dwell_max",
)  # fmt: skip
TEXTS = ("speed_unit", "size_unit", "zone")
AREA = ("south", "west", "north", "east", "lat", "lon", "radius_m")
LINE = ("line_camera", "line_ax", "line_ay", "line_bx", "line_by", "line_direction")
FIELD_LABELS = {
    "start": "From",
    "end": "To",
    "time_from": "Time of day from",
    "time_to": "Time of day to",
    **{name: name.replace("_", " ").capitalize() for name in (*NUMBERS, *AREA, *LINE)},
}


class Params(Protocol):
    """Form or URL fields (Starlette's ``QueryParams`` and ``FormData`` both are)."""

    def getlist(self, key: str) -> list[Any]: ...


def _one(params: Params, key: str) -> str:
    values = params.getlist(key)
    return values[0].strip() if values and isinstance(values[0], str) else ""


def _number(params: Params, key: str) -> float | None:
    text = _one(params, key)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{FIELD_LABELS.get(key, key)} must be a number") from None


def _local(params: Params, key: str, zone: tzinfo) -> datetime | None:
    text = _one(params, key)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{FIELD_LABELS[key]} must be a date and time (YYYY-MM-DDTHH:MM)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


def _clock(params: Params, key: str) -> time | None:
    text = _one(params, key)
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{FIELD_LABELS[key]} must be a time of day (HH:MM)") from None


def query_from_fields(params: Params, zone: tzinfo) -> TrackQuery:
    """The query the form's fields describe, or a clear error naming the field at fault."""
    data: dict[str, Any] = {}
    for field, name in LISTS.items():
        given = [v for v in params.getlist(field) if isinstance(v, str)]
        values = [part.strip() for v in given for part in v.split(",") if part.strip()]
        if values:
            data[name] = values
    data.update({key: _number(params, key) for key in NUMBERS if _one(params, key)})
    data.update({key: _one(params, key) for key in TEXTS if _one(params, key)})
    data.update({key: _local(params, key, zone) for key in ("start", "end") if _one(params, key)})
    data.update({key: _clock(params, key) for key in ("time_from", "time_to") if _one(params, key)})
    area = {key: _number(params, key) for key in AREA if _one(params, key)}
    if area:
        data["area"] = area
    if _one(params, "line_camera"):
        points = [_number(params, key) for key in LINE[1:5]]
        if any(p is None for p in points):
            raise InvalidInput("a line needs both ends: x and y of each, in the camera's pixels")
        data["line"] = {
            "camera": _one(params, "line_camera"),
            "a": (points[0], points[1]),
            "b": (points[2], points[3]),
            "direction": _one(params, "line_direction") or "either",
        }
    for key in ("limit", "offset"):
        if _one(params, key):
            data[key] = int(_number(params, key) or 0)
    try:
        return TrackQuery.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int)) or "search"
        raise InvalidInput(f"{where.replace('_', ' ')}: {error['msg'].removeprefix('Value error, ')}") from None


def fields_of(query: TrackQuery, zone: tzinfo) -> dict[str, Any]:
    """The form's fields filled in from a query (lists as lists, times local)."""
    fields: dict[str, Any] = {field: [str(v) for v in getattr(query, name)] for field, name in LISTS.items()}
    fields.update({key: _fmt(getattr(query, key)) for key in (*NUMBERS, *TEXTS)})
    fields["start"] = query.start.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if query.start else ""
    fields["end"] = query.end.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if query.end else ""
    fields["time_from"] = query.time_from.strftime("%H:%M") if query.time_from else ""
    fields["time_to"] = query.time_to.strftime("%H:%M") if query.time_to else ""
    fields.update({key: _fmt(getattr(query.area, key)) if query.area else "" for key in AREA})
    line = query.line
    fields.update(
        line_camera=line.camera if line else "",
        line_ax=_fmt(line.a[0]) if line else "",
        line_ay=_fmt(line.a[1]) if line else "",
        line_bx=_fmt(line.b[0]) if line else "",
        line_by=_fmt(line.b[1]) if line else "",
        line_direction=line.direction if line else "either",
    )
    fields["limit"], fields["offset"] = str(query.limit), str(query.offset)
    return fields


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_DEFAULTS = {"limit": "60", "offset": "0", "line_direction": "either", "speed_unit": "heights/s", "size_unit": "px"}


def query_string(query: TrackQuery, zone: tzinfo, **extra: str) -> str:
    """The URL query of a results page for this query (empty fields left out)."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields_of(query, zone).items():
        values: Iterable[str] = value if isinstance(value, list) else [value]
        pairs += [(key, v) for v in values if v and v != _DEFAULTS.get(key)]
    pairs += [(k, v) for k, v in extra.items() if v]
    return urlencode(pairs)
