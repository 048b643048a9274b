"""Plain English descriptions into a :class:`~vigil.search.query.track_query.TrackQuery`, showing what was understood.

"person in a red top and dark trousers with a backpack heading north on Penrith cameras between 2pm and 3:30pm
yesterday" becomes a query plus the filters it understood as chips the user checks and can edit before the
search runs. Words it did not understand are listed, never silently dropped. Nothing here identifies people:
gender words are read as "person" and age, ethnicity, face and identity words are not searched for; the user is
told so in a notice. Requests to identify someone are refused (``refusal``); number plates are flagged as not
supported by this search.

The parser is pure: the cameras, locations and zones it may name are passed in (:class:`Gazetteer`), as are
``now`` and the force's time zone. Vocabulary and its borderline decisions are in :mod:`vigil.search.query.vocabulary`,
dates and times in :mod:`vigil.search.query.when`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import Any

from pydantic import ValidationError

from vigil.search.query import vocabulary as v
from vigil.search.query.track_query import TrackQuery
from vigil.search.query.when import read_when, resolve

NO_PROFILING = "vigil does not infer gender, age or ethnicity"
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_PLATE = re.compile(r"\b[a-z]{2}\d{2}\s?[a-z]{3}\b")
_HEIGHT = re.compile(
    r"\b(taller than|shorter than|over|under|above|below|at least|at most|about|around)\s+"
    r"(\d+(?:\.\d+)?)\s*(m|metres?|meters?|ft|foot|feet|')(?:\s*(\d{1,2})\s*(?:in|inches|\")?)?(?:\s+tall)?"
)
_DWELL = re.compile(
    r"\b(?:for\s+)?(more than|over|at least|longer than|less than|under|fewer than)\s+"
    r"(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|hours?|hrs?)\b"
)
_WITHIN = re.compile(r"\bwithin\s+(\d+(?:\.\d+)?)\s*(m|metres?|meters?|km|kilometres?|miles?)\s+of\s+")
_PHRASES: dict[str, str] = {
    "t shirt": "t-shirt",
    "number plate": "number-plate",
    "registration number": "number-plate",
    "hi vis": "hi-vis",
    "high vis": "hi-vis",
    "high visibility": "hi-vis",
    "standing still": "stationary",
    "not moving": "stationary",
    "hanging around": "loitering",
    "hanging about": "loitering",
    "north east": "north-east",
    "north west": "north-west",
    "south east": "south-east",
    "south west": "south-west",
    "tracksuit bottoms": "bottoms",
    "mixed race": "mixed-race",
    "middle aged": "middle-aged",
    "shoulder bag": "handbag",
    "wheelie case": "suitcase",
    "towards the camera": "towards-camera",
    "toward the camera": "towards-camera",
    "away from the camera": "away-camera",
    "crossing the line": "line-crossing",
    "crossed the line": "line-crossing",
    "who is": "who-is",
    "same person as": "identify",
}


@dataclass(frozen=True)
class KnownCamera:
    code: str
    name: str
    location: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Gazetteer:
    """The cameras (with their locations) and zone names a description may refer to."""

    cameras: tuple[KnownCamera, ...] = ()
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Understanding:
    """What the parser made of a description: the query, its filters as chips, unknown words, notices."""

    description: str
    query: TrackQuery
    chips: list[str]
    unknown: list[str]
    notices: list[str]
    refusal: str | None = None


@dataclass
class _Draft:
    fields: dict[str, Any] = field(default_factory=dict)
    chips: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    refusal: str | None = None

    def add(self, name: str, values: list[Any] | tuple[Any, ...]) -> None:
        current = self.fields.setdefault(name, [])
        current.extend(x for x in values if x not in current)

    def notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)


def parse_description(text: str, *, now: datetime, zone: tzinfo, gazetteer: Gazetteer | None = None) -> Understanding:
    """The query a description asks for (see the module docstring); never raises on odd wording."""
    gazetteer = gazetteer or Gazetteer()
    draft = _Draft()
    lowered = " " + " ".join(text.lower().replace("\u2013", "-").replace("\u2014", "-").split()) + " "
    if _PLATE.search(lowered):
        draft.notice("number plates are not supported by this search; use the force's ANPR system")
        lowered = _PLATE.sub(" ", lowered)
    found, lowered = read_when(lowered, now=now, zone=zone)
    draft.unknown.extend(found.problems)
    _apply_when(draft, found, zone)
    lowered = _read_height(draft, lowered)
    lowered = _read_dwell(draft, lowered)
    lowered = _read_places(draft, lowered, gazetteer)
    for phrase, word in _PHRASES.items():
        lowered = re.sub(rf"\b{re.escape(phrase)}\b", word, lowered)
    _read_words(draft, _TOKEN.findall(lowered), gazetteer)
    return _finish(text, draft)


def _apply_when(draft: _Draft, found: Any, zone: tzinfo) -> None:
    start, end, window = resolve(found, zone)
    if start is not None and end is not None:
        draft.fields["start"], draft.fields["end"] = start, end
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        draft.chips.append(f"seen between {local_start:%a %d %b %Y %H:%M} and {local_end:%a %d %b %Y %H:%M}")
    if window is not None:
        draft.fields["time_from"], draft.fields["time_to"] = window
        draft.chips.append(f"time of day {_hhmm(window[0])} to {_hhmm(window[1])}, any day")


def _hhmm(at: time) -> str:
    return at.strftime("%H:%M")


def _read_height(draft: _Draft, text: str) -> str:
    for match in list(_HEIGHT.finditer(text)):
        metres = float(match[2]) if match[3].startswith("m") else float(match[2]) * 0.3048
        metres += float(match[4] or 0) * 0.0254
        bound = "size_max" if match[1] in ("shorter than", "under", "below", "at most") else "size_min"
        if match[1] in ("about", "around"):
            draft.fields["size_min"], draft.fields["size_max"] = round(metres - 0.1, 2), round(metres + 0.1, 2)
        else:
            draft.fields[bound] = round(metres, 2)
        draft.fields["size_unit"] = "m"
        draft.chips.append(f"height {match[0].strip()} ({metres:.2f} m; calibrated cameras only)")
        text = text.replace(match[0], " " * len(match[0]), 1)
    return text


def _read_dwell(draft: _Draft, text: str) -> str:
    for match in list(_DWELL.finditer(text)):
        unit = match[3][0]
        seconds = float(match[2]) * (3600 if unit == "h" else 60 if unit == "m" else 1)
        bound = "dwell_max" if match[1] in ("less than", "under", "fewer than") else "dwell_min"
        draft.fields[bound] = seconds
        draft.chips.append(f"in view {match[0].strip()} ({seconds:g} s)")
        text = text.replace(match[0], " " * len(match[0]), 1)
    return text


def _norm(name: str) -> str:
    return " ".join(_TOKEN.findall(name.lower()))


def _read_places(draft: _Draft, text: str, gazetteer: Gazetteer) -> str:
    """Camera codes, camera names and location names (longest first); "within 500 m of" a location."""
    names: dict[str, list[KnownCamera]] = {}
    for camera in gazetteer.cameras:
        for name in (camera.code, camera.name, camera.location):
            if _norm(name):
                names.setdefault(_norm(name), []).append(camera)
    for zone in sorted(gazetteer.zones, key=len, reverse=True):
        match = re.search(rf"(?<![\w-]){re.escape(_norm(zone))}(?:\s+zone)?(?![\w-])", text) if _norm(zone) else None
        if match is not None:
            draft.fields["zone"] = zone
            draft.chips.append(f"spent time in zone '{zone}'")
            text = text[: match.start()] + " " * len(match[0]) + text[match.end() :]
    for name in sorted(names, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
        within = re.search(_WITHIN.pattern + pattern.pattern, text)
        if within is not None and _circle(draft, within, names[name]):
            text = text.replace(within[0], " " * len(within[0]), 1)
            continue
        match = pattern.search(text)
        if match is not None:
            _cameras(draft, names[name], match[0])
            text = text[: match.start()] + " " * len(match[0]) + text[match.end() :]
    return text


def _circle(draft: _Draft, match: re.Match[str], cameras: list[KnownCamera]) -> bool:
    placed = [c for c in cameras if c.lat is not None and c.lon is not None]
    if not placed:
        return False
    scale = {"k": 1000.0, "m": 1.0}.get(match[2][0], 1.0) if not match[2].startswith("mile") else 1609.344
    radius = float(match[1]) * scale
    lat, lon = placed[0].lat, placed[0].lon
    draft.fields["area"] = {"lat": lat, "lon": lon, "radius_m": radius}
    draft.chips.append(f"cameras within {radius:g} m of {placed[0].location}")
    return True


def _cameras(draft: _Draft, cameras: list[KnownCamera], said: str) -> None:
    codes = sorted({c.code for c in cameras})
    draft.add("cameras", codes)
    draft.chips.append(f"cameras {', '.join(codes)} ('{said.strip()}')")


_GENERIC_PLACE_WORDS = v.words(
    "camera site street road lane avenue square market park centre center station car bus north south east west "
    "upper lower high low new old st"
)


class _Words:
    """A cursor over the description's remaining words, with the zone and place words it may meet."""

    def __init__(self, words: list[str], gazetteer: Gazetteer) -> None:
        self.words = words
        self.i = 0
        self.places: dict[str, list[KnownCamera]] = {}
        for camera in gazetteer.cameras:
            for word in set(_TOKEN.findall(f"{camera.name} {camera.location}".lower())):
                if len(word) >= 3 and not word.isdigit() and word not in _GENERIC_PLACE_WORDS | v.STOPWORDS:
                    self.places.setdefault(word, []).append(camera)

    def previous(self) -> str:
        return self.words[self.i - 1] if self.i > 0 else ""


def _read_words(draft: _Draft, words: list[str], gazetteer: Gazetteer) -> None:
    pending: list[Any] = []
    cursor = _Words(words, gazetteer)
    while cursor.i < len(words):
        word = words[cursor.i]
        pending = _read_word(draft, word, cursor, pending)
        cursor.i += 1
    if pending:
        vehicles = set(draft.fields.get("classes", [])) - {"person"}
        target = "vehicle_colours" if vehicles and "person" not in draft.fields.get("classes", []) else "upper_colours"
        _colour(draft, target, pending)


def _read_word(draft: _Draft, word: str, cursor: _Words, pending: list[Any]) -> list[Any]:
    """Handle one word; returns the colours still waiting for the garment or vehicle they describe."""
    if word in v.COLOUR_WORDS:
        after = cursor.words[cursor.i + 1] if cursor.i + 1 < len(cursor.words) else ""
        if word in v.SHADES and after in v.COLOUR_WORDS:
            return pending
        return [*pending, *v.COLOUR_WORDS[word]]
    if word in v.SHADES:
        return pending
    if word in v.UPPER_GARMENTS or word in v.LOWER_GARMENTS or word in v.WHOLE_GARMENTS:
        targets = ["upper_colours"] if word in v.UPPER_GARMENTS else ["lower_colours"]
        targets = ["upper_colours", "lower_colours"] if word in v.WHOLE_GARMENTS else targets
        for target in targets:
            _colour(draft, target, pending) if pending else None
        return []
    if word in v.UNANALYSED_GARMENTS:
        draft.notice(f"'{word}' and its colour are not analysed, so they are not searched for")
        return []
    if word in v.CARRIED_WORDS:
        if pending:
            draft.notice("the colour of carried objects is not analysed, so it is not searched for")
        _carried(draft, word)
        return []
    if word in v.VEHICLE_WORDS or word in v.ANIMAL_WORDS:
        classes = v.VEHICLE_WORDS.get(word) or (v.ANIMAL_WORDS[word],)
        _classes(draft, classes, word)
        if pending and word in v.VEHICLE_WORDS:
            _colour(draft, "vehicle_colours", pending)
        elif pending:
            draft.notice(f"the colour of a {word} is not analysed, so it is not searched for")
        return []
    if word in v.PERSON_WORDS or word in v.GENDER_WORDS:
        if word in v.GENDER_WORDS:
            draft.notice(f"{NO_PROFILING}: read '{word}' as 'person'")
        if pending:
            draft.notice(f"{NO_PROFILING}: skin colour is not a search filter, so '{word}' was read without it")
        _classes(draft, ("person",), word)
        return []
    _read_other(draft, word, cursor)
    return pending


def _read_other(draft: _Draft, word: str, cursor: _Words) -> None:
    if word in v.AGE_WORDS or word in v.ETHNICITY_WORDS:
        draft.notice(f"{NO_PROFILING}: '{word}' is not searched for")
    elif word in v.FEATURE_WORDS:
        draft.notice(f"vigil does not analyse faces or bodies: '{word}' is not searched for")
    elif word in v.IDENTITY_WORDS or word == "identify":
        draft.refusal = "vigil does not identify people or search by face here; describe clothing and movement"
        said = word.replace("-", " ")
        draft.notice(f"{NO_PROFILING}, and does not identify people: '{said}' is not searched for")
    elif word in v.PLATE_WORDS or word == "number-plate":
        draft.notice("number plates are not supported by this search; use the force's ANPR system")
    elif word in v.HEADING_WORDS and (word not in v.IMAGE_DIRECTION_WORDS or cursor.previous() in v.MOVEMENT_WORDS):
        _heading(draft, v.HEADING_WORDS[word], word)
    elif word in ("towards-camera", "away-camera"):
        _heading(draft, "down" if word == "towards-camera" else "up", word.replace("-", " the "))
        draft.notice("towards or away from the camera is read as down or up the picture")
    elif word in v.RUNNING_WORDS:
        _speed(draft, "speed_min", v.RUNNING_HEIGHTS_PER_S, word)
    elif word in v.SLOW_WORDS:
        _speed(draft, "speed_max", v.SLOW_HEIGHTS_PER_S, word)
    elif word in v.LOITERING_WORDS:
        draft.fields["dwell_min"] = max(draft.fields.get("dwell_min") or 0.0, v.LOITERING_S)
        draft.chips.append(f"in view for at least {v.LOITERING_S:g} s ('{word}')")
    elif word == "line-crossing":
        draft.notice("draw the line on the camera's picture in the form below to search for line crossings")
    elif word in ("tall", "short", "big", "small", "large"):
        draft.notice(f"'{word}' is too vague to search for: give a height, e.g. 'over 1.8 m'")
    elif word in cursor.places:
        _cameras(draft, cursor.places[word], word)
    elif word not in v.STOPWORDS and word != "zone" and not word.isdigit():
        draft.unknown.append(word)


def _colour(draft: _Draft, target: str, colours: list[Any]) -> None:
    draft.add(target, colours)
    label = {"upper_colours": "top", "lower_colours": "legs", "vehicle_colours": "vehicle colour"}[target]
    draft.chips.append(f"{label}: {' or '.join(dict.fromkeys(str(c) for c in colours))}")


def _classes(draft: _Draft, classes: tuple[str, ...], word: str) -> None:
    if all(c in draft.fields.get("classes", []) for c in classes):
        return
    draft.add("classes", classes)
    draft.chips.append(f"class: {' or '.join(classes)} ('{word}')")


def _carried(draft: _Draft, word: str) -> None:
    name = v.CARRIED_WORDS[word]
    if name in draft.fields.get("carried", []):
        return
    draft.add("carried", [name])
    draft.chips.append(f"carrying: {name}" + (f" ('{word}')" if word != name else ""))
    if word == "bag":
        draft.notice("'bag' is read as handbag; say backpack or suitcase if you mean one")
    if "classes" not in draft.fields:
        _classes(draft, ("person",), word)


def _heading(draft: _Draft, heading: str, word: str) -> None:
    draft.add("headings", [heading])
    draft.chips.append(f"heading {heading} ('{word}')")
    if heading in ("N", "NE", "E", "SE", "S", "SW", "W", "NW"):
        draft.notice("compass headings match only cameras whose bearing is recorded")


def _speed(draft: _Draft, bound: str, value: float, word: str) -> None:
    draft.fields[bound] = value
    draft.fields["speed_unit"] = "heights/s"
    relation = "faster" if bound == "speed_min" else "slower"
    draft.chips.append(f"moving {relation} than {value:g} body heights per second ('{word}')")


def _finish(text: str, draft: _Draft) -> Understanding:
    classes = draft.fields.get("classes", [])
    if (draft.fields.get("upper_colours") or draft.fields.get("lower_colours")) and "person" not in classes:
        draft.add("classes", ["person"])  # clothing is worn by people (a cyclist's jacket is on the person track)
        draft.chips.append("class: person (clothing was described)")
    if draft.fields.get("area"):
        draft.fields.pop("cameras", None)
    try:
        query = TrackQuery.model_validate(draft.fields)
    except ValidationError as exc:
        draft.notice(f"some filters could not be used: {exc.errors()[0]['msg']}")
        query = TrackQuery()
        draft.chips.clear()
    unknown = list(dict.fromkeys(draft.unknown))
    return Understanding(text, query, draft.chips, unknown, draft.notices, draft.refusal)
