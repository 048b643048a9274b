"""Dates and times of day in plain English, read against a given ``now`` in the force's time zone.

:func:`read_when` finds the time expressions in a (lower-cased) description, blanks them out of the text and
returns what they mean: a local day or span of days, and/or a time of day. :func:`resolve` turns these into
the query's absolute UTC range and/or its time-of-day window:

* a day with a time of day ("yesterday between 2pm and 3:30pm") is one absolute range on that day (a window
  that wraps midnight ends the next day);
* a day alone is that whole local day; "last night" is 18:00 that evening to 06:00 the next morning;
* a time of day alone ("between 2pm and 3pm", "at night") is a window on every day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_CLOCK = r"(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?|noon|midday|midnight)"
_RANGE = re.compile(rf"\b(?:between|from)\s+({_CLOCK})\s+(?:and|to|until|till|-)\s+({_CLOCK})(?![\w:])")
_BARE_RANGE = re.compile(rf"(?<![\w:])({_CLOCK})\s*(?:-|to|until|till)\s*({_CLOCK})(?![\w:])")
_AFTER = re.compile(rf"\b(after|before|since|from)\s+({_CLOCK})(?![\w:])")
_AROUND = re.compile(rf"\b(?:at|around|about|approx|approximately)\s+({_CLOCK})(?![\w:])")
_PARTS = {
    "morning": (time(6), time(11, 59)),
    "afternoon": (time(12), time(17, 59)),
    "evening": (time(18), time(23, 59)),
    "night": (time(22), time(5, 59)),
}
_DAY_PART = re.compile(r"\b(this|yesterday|in the|at|during the)\s+(morning|afternoon|evening|night)\b")
_LAST_NIGHT = re.compile(r"\b(last night|overnight|tonight)\b")
_RELATIVE_DAY = re.compile(r"\b(today|yesterday)\b")
_WEEKDAY = re.compile(rf"\b(?:on\s+|last\s+)?({'|'.join(WEEKDAYS)})\b")
_ISO_DATE = re.compile(r"\b(?:on\s+)?(\d{4})-(\d{2})-(\d{2})\b")
_UK_DATE = re.compile(r"\b(?:on\s+)?(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_DAY_MONTH = re.compile(
    rf"\b(?:on\s+)?(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})(?:\s+(\d{{4}}))?\b"
)
_MONTH_DAY = re.compile(rf"\b(?:on\s+)?({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b")
_LAST_SPAN = re.compile(r"\b(?:in\s+)?(?:the\s+)?(?:last|past|previous)\s+(\d{1,3})?\s*(hour|day|week)s?\b")
_LAST_WEEK = re.compile(r"\blast week\b")


@dataclass
class When:
    """What the time expressions of a description say (local days, a time-of-day window, an absolute span)."""

    day: date | None = None
    night_of: date | None = None
    window: tuple[time, time] | None = None
    span: tuple[datetime, datetime] | None = None
    phrases: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def clock(text: str, *, pm_hint: bool = False) -> time | None:
    """``2pm``, ``3:30 pm``, ``14:00``, ``14.30``, ``noon``, ``midnight``; a bare hour only with ``pm_hint``."""
    text = text.strip().replace(".m.", "m").replace("a.m", "am").replace("p.m", "pm")
    if text in ("noon", "midday"):
        return time(12)
    if text == "midnight":
        return time(0)
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?", text)
    if match is None:
        return None
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if half is None and match[2] is None and not pm_hint:
        return None
    if half is None and pm_hint and match[2] is None and 1 <= hour <= 11:
        half = "pm"
    if minute > 59 or hour > 23 or (half and not 1 <= hour <= 12):
        return None
    if half == "pm" and hour != 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    return time(hour, minute)


def _pair(first: str, second: str) -> tuple[time, time] | None:
    """Two ends of a range; a bare first hour takes the second's am/pm ("between 2 and 3:30pm")."""
    end = clock(second)
    start = clock(first) or (clock(first, pm_hint=True) if end is not None and "pm" in second else None)
    if start is None and end is not None and "am" in second:
        start = clock(first + "am")
    return (start, end) if start is not None and end is not None else None


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]


def _read_window(text: str, found: When) -> str:
    for pattern in (_RANGE, _BARE_RANGE):
        for match in list(pattern.finditer(text)):
            pair = _pair(match[1], match[2])
            if pair is not None:
                found.window, found.phrases = pair, [*found.phrases, match[0].strip()]
                return _blank(text, match)
    for match in list(_AFTER.finditer(text)):
        at = clock(match[2])
        if at is None:
            continue
        late = time(5, 59) if at >= time(18) else time(23, 59)  # "after 10pm" runs on into the night
        found.window = (at, late) if match[1] != "before" else (time(0), _minus_minute(at))
        found.phrases.append(match[0].strip())
        return _blank(text, match)
    for match in list(_AROUND.finditer(text)):
        at = clock(match[1])
        if at is None:
            continue
        centre = datetime.combine(date(2000, 1, 2), at)
        found.window = ((centre - timedelta(minutes=15)).time(), (centre + timedelta(minutes=15)).time())
        found.phrases.append(match[0].strip())
        return _blank(text, match)
    return text


def _minus_minute(at: time) -> time:
    return (datetime.combine(date(2000, 1, 2), at) - timedelta(minutes=1)).time()


def _read_day(text: str, found: When, today: date, now: datetime) -> str:
    match = _LAST_NIGHT.search(text)
    if match:
        found.night_of = today if match[1] == "tonight" else today - timedelta(days=1)
        found.phrases.append(match[0])
        text = _blank(text, match)
    match = _DAY_PART.search(text)
    if match:
        if found.window is None:
            found.window = _PARTS[match[2]]
        if match[1] == "this":
            found.day = today
        elif match[1] == "yesterday":
            found.day = today - timedelta(days=1)
        found.phrases.append(match[0])
        text = _blank(text, match)
    for reader in (_relative_day, _weekday, _calendar_day):
        text = reader(text, found, today)
    match = _LAST_WEEK.search(text) or _LAST_SPAN.search(text)
    if match:
        count = int(match[1]) if match.re is _LAST_SPAN and match[1] else 1
        unit = "week" if match.re is _LAST_WEEK else match[2]
        length = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[unit]
        found.span = (now - count * length, now)
        found.phrases.append(match[0].strip())
        text = _blank(text, match)
    return text


def _relative_day(text: str, found: When, today: date) -> str:
    match = _RELATIVE_DAY.search(text)
    if match and found.day is None and found.night_of is None:
        found.day = today if match[1] == "today" else today - timedelta(days=1)
        found.phrases.append(match[0])
        text = _blank(text, match)
    return text


def _weekday(text: str, found: When, today: date) -> str:
    match = _WEEKDAY.search(text)
    if match and found.day is None:
        back = (today.weekday() - WEEKDAYS.index(match[1])) % 7
        if match[0].startswith("last") and back == 0:
            back = 7
        found.day = today - timedelta(days=back)
        found.phrases.append(match[0].strip())
        text = _blank(text, match)
    return text


def _calendar_day(text: str, found: When, today: date) -> str:
    for pattern in (_ISO_DATE, _DAY_MONTH, _MONTH_DAY, _UK_DATE):
        match = pattern.search(text)
        if match is None or found.day is not None:
            continue
        if pattern is _ISO_DATE:
            parts: tuple[int, int, int | None] = (int(match[3]), int(match[2]), int(match[1]))
        elif pattern is _DAY_MONTH:
            parts = (int(match[1]), _month(match[2]), int(match[3]) if match[3] else None)
        elif pattern is _MONTH_DAY:
            parts = (int(match[2]), _month(match[1]), int(match[3]) if match[3] else None)
        else:
            year = int(match[3]) + (2000 if len(match[3]) == 2 else 0) if match[3] else None
            parts = (int(match[1]), int(match[2]), year)
        day = _valid_day(*parts, today)
        if day is None:
            found.problems.append(f"'{match[0].strip()}' is not a date")
        else:
            found.day = day
        found.phrases.append(match[0].strip())
        text = _blank(text, match)
    return text


def _month(name: str) -> int:
    return next(i + 1 for i, month in enumerate(MONTHS) if month.startswith(name[:3]))


def _valid_day(day: int, month: int, year: int | None, today: date) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        guess = date(today.year, month, day)
        return guess if guess <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


def read_when(text: str, *, now: datetime, zone: tzinfo) -> tuple[When, str]:
    """The time expressions of ``text`` (lower case) and the text with them blanked out."""
    found = When()
    today = now.astimezone(zone).date()
    text = _read_window(text, found)
    text = _read_day(text, found, today, now)
    return found, text


def local(day: date, at: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def resolve(found: When, zone: tzinfo) -> tuple[datetime | None, datetime | None, tuple[time, time] | None]:
    """Absolute UTC start and end, and a time-of-day window (see the module docstring)."""
    window = found.window
    if found.night_of is not None:
        evening, morning = found.night_of, found.night_of + timedelta(days=1)
        if window is None:
            return local(evening, time(18), zone), local(morning, time(6), zone), None
        start_day = evening if window[0] >= time(12) else morning
        end_day = evening if window[1] >= time(12) and window[1] >= window[0] else morning
        return local(start_day, window[0], zone), local(end_day, window[1], zone) + timedelta(seconds=59), None
    if found.day is not None:
        if window is None:
            return local(found.day, time(0), zone), local(found.day, time(23, 59, 59), zone), None
        end_day = found.day + timedelta(days=1) if window[1] < window[0] else found.day
        return local(found.day, window[0], zone), local(end_day, window[1], zone) + timedelta(seconds=59), None
    if found.span is not None:
        return found.span[0].astimezone(UTC), found.span[1].astimezone(UTC), window
    return None, None, window
