"""The description parser on a table of real-sounding descriptions: the exact filters it must understand, the
words it must list as not understood, and what it must refuse or flag (identification, demographics, plates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from vigil.search.query.parser import NO_PROFILING, Gazetteer, KnownCamera, parse_description
from vigil.search.query.track_query import TrackQuery

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # a Sunday morning, GMT
GAZETTEER = Gazetteer(
    cameras=(
        KnownCamera("PEN-01", "Market Square North", "Penrith Market Square", 54.664, -2.752),
        KnownCamera("PEN-02", "Devonshire Street", "Penrith Town Centre", 54.665, -2.750),
        KnownCamera("CAR-07", "English Street", "Carlisle City Centre", 54.890, -2.930),
    ),
    zones=("doorway", "car park entrance"),
)


@dataclass(frozen=True)
class Case:
    description: str
    query: dict[str, object]
    unknown: list[str]
    notices: tuple[str, ...]
    refused: bool

    def __str__(self) -> str:
        return self.description


CASES = [
    Case(
        "person in a red top and dark trousers with a backpack heading north on Penrith cameras "
        "between 2pm and 3:30pm yesterday",
        {
            "cameras": ["PEN-01", "PEN-02"],
            "start": "2026-11-21T14:00:00Z",
            "end": "2026-11-21T15:30:59Z",
            "classes": ["person"],
            "upper_colours": ["red"],
            "lower_colours": ["black", "grey", "blue"],
            "carried": ["backpack"],
            "headings": ["N"],
        },
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "man in a blue jacket and jeans",
        {"classes": ["person"], "upper_colours": ["blue"]},
        unknown=[],
        notices=("read 'man' as 'person'",),
        refused=False,
    ),
    Case(
        "woman wearing a white coat carrying a handbag",
        {"classes": ["person"], "upper_colours": ["white"], "carried": ["handbag"]},
        unknown=[],
        notices=("read 'woman' as 'person'",),
        refused=False,
    ),
    Case(
        "black man in a grey hoodie running",
        {"classes": ["person"], "upper_colours": ["grey"], "speed_min": 1.5},
        unknown=[],
        notices=("read 'man' as 'person'", "skin colour is not a search filter"),
        refused=False,
    ),
    Case(
        "asian woman in a pink top",
        {"classes": ["person"], "upper_colours": ["pink"]},
        unknown=[],
        notices=("'asian' is not searched for", "read 'woman' as 'person'"),
        refused=False,
    ),
    Case(
        "elderly lady with an umbrella",
        {"classes": ["person"], "carried": ["umbrella"]},
        unknown=[],
        notices=("'elderly' is not searched for", "read 'lady' as 'person'"),
        refused=False,
    ),
    Case(
        "teenager in a green hoodie on a bike",
        {"classes": ["bicycle", "person"], "upper_colours": ["green"]},
        unknown=[],
        notices=("'teenager' is not searched for",),
        refused=False,
    ),
    Case(
        "two lads in black hoodies and grey joggers after 10pm",
        {
            "time_from": "22:00:00",
            "time_to": "05:59:00",
            "classes": ["person"],
            "upper_colours": ["black"],
            "lower_colours": ["grey"],
        },
        unknown=[],
        notices=("read 'lads' as 'person'",),
        refused=False,
    ),
    Case(
        "someone loitering near the doorway zone for more than 5 minutes on Tuesday",
        {
            "start": "2026-11-17T00:00:00Z",
            "end": "2026-11-17T23:59:59Z",
            "classes": ["person"],
            "dwell_min": 300.0,
            "zone": "doorway",
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "person standing still outside the shop last night",
        {
            "start": "2026-11-21T18:00:00Z",
            "end": "2026-11-22T06:00:00Z",
            "classes": ["person"],
            "headings": ["stationary"],
        },
        unknown=["outside", "shop"],
        notices=(),
        refused=False,
    ),
    Case(
        "white van on CAR-07 last night",
        {
            "cameras": ["CAR-07"],
            "start": "2026-11-21T18:00:00Z",
            "end": "2026-11-22T06:00:00Z",
            "classes": ["car", "truck"],
            "vehicle_colours": ["white"],
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "red car heading south on English Street this morning",
        {
            "cameras": ["CAR-07"],
            "start": "2026-11-22T06:00:00Z",
            "end": "2026-11-22T11:59:59Z",
            "classes": ["car"],
            "vehicle_colours": ["red"],
            "headings": ["S"],
        },
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "silver car reg AB12 CDE",
        {"classes": ["car"], "vehicle_colours": ["grey"]},
        unknown=[],
        notices=("number plates are not supported",),
        refused=False,
    ),
    Case(
        "find the number plate of a black taxi",
        {"classes": ["car"], "vehicle_colours": ["black"]},
        unknown=[],
        notices=("number plates are not supported",),
        refused=False,
    ),
    Case(
        "identify the face of the man in the red jacket",
        {"classes": ["person"], "upper_colours": ["red"]},
        unknown=[],
        notices=("does not identify people", "does not identify people", "read 'man' as 'person'"),
        refused=True,
    ),
    Case(
        "who is the person in the yellow coat",
        {"classes": ["person"], "upper_colours": ["yellow"]},
        unknown=[],
        notices=("does not identify people",),
        refused=True,
    ),
    Case(
        "cyclist in hi-vis heading towards the camera on 14 March",
        {
            "start": "2026-03-14T00:00:00Z",
            "end": "2026-03-14T23:59:59Z",
            "classes": ["person", "bicycle"],
            "upper_colours": ["yellow", "orange"],
            "headings": ["down"],
        },
        unknown=[],
        notices=("towards or away from the camera is read ",),
        refused=False,
    ),
    Case(
        "person in navy trousers and a maroon jumper walking left",
        {"classes": ["person"], "upper_colours": ["red"], "lower_colours": ["blue"], "headings": ["left"]},
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "suspect in dark clothing with a rucksack running east between 23:00 and 01:00",
        {
            "time_from": "23:00:00",
            "time_to": "01:00:00",
            "classes": ["person"],
            "upper_colours": ["black", "grey", "blue"],
            "lower_colours": ["black", "grey", "blue"],
            "carried": ["backpack"],
            "headings": ["E"],
            "speed_min": 1.5,
        },
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "person with a suitcase at Penrith Market Square on 2026-11-20",
        {
            "cameras": ["PEN-01"],
            "start": "2026-11-20T00:00:00Z",
            "end": "2026-11-20T23:59:59Z",
            "classes": ["person"],
            "carried": ["suitcase"],
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "blue bus northbound after 6am",
        {
            "time_from": "06:00:00",
            "time_to": "23:59:00",
            "classes": ["bus"],
            "vehicle_colours": ["blue"],
            "headings": ["N"],
        },
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "motorbike travelling west 14:00-15:00",
        {"time_from": "14:00:00", "time_to": "15:00:00", "classes": ["motorcycle"], "headings": ["W"]},
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "person in a light top and dark jeans heading south-west",
        {
            "classes": ["person"],
            "upper_colours": ["white", "grey", "pink", "yellow"],
            "lower_colours": ["black", "grey", "blue"],
            "headings": ["SW"],
        },
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "group of people loitering by the car park entrance zone",
        {"classes": ["person"], "dwell_min": 60.0, "zone": "car park entrance"},
        unknown=["group"],
        notices=(),
        refused=False,
    ),
    Case(
        "pedestrian in a beige mac with a brolly this afternoon",
        {
            "start": "2026-11-22T12:00:00Z",
            "end": "2026-11-22T17:59:59Z",
            "classes": ["person"],
            "upper_colours": ["white"],
            "carried": ["umbrella"],
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "person over 6 ft tall in a black coat",
        {"classes": ["person"], "upper_colours": ["black"], "size_min": 1.83, "size_unit": "m"},
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "person under 1.6m in a purple dress",
        {
            "classes": ["person"],
            "upper_colours": ["purple"],
            "lower_colours": ["purple"],
            "size_max": 1.6,
            "size_unit": "m",
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "lorry heading north-east yesterday between 5 and 6pm",
        {"start": "2026-11-21T17:00:00Z", "end": "2026-11-21T18:00:59Z", "classes": ["truck"], "headings": ["NE"]},
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "dog walker with a brown dog on Carlisle cameras",
        {"cameras": ["CAR-07"], "classes": ["dog"]},
        unknown=["walker"],
        notices=("the colour of a dog is not analysed, so ",),
        refused=False,
    ),
    Case(
        "person in an orange top and black shorts on Saturday",
        {
            "start": "2026-11-21T00:00:00Z",
            "end": "2026-11-21T23:59:59Z",
            "classes": ["person"],
            "upper_colours": ["orange"],
            "lower_colours": ["black"],
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "man in a black cap and a white t-shirt",
        {"classes": ["person"], "upper_colours": ["white"]},
        unknown=[],
        notices=("read 'man' as 'person'", "'cap' and its colour are not analysed, s"),
        refused=False,
    ),
    Case(
        "person in red crossing the line on PEN-01",
        {"cameras": ["PEN-01"], "classes": ["person"], "upper_colours": ["red"]},
        unknown=[],
        notices=("draw the line on the camera's picture in",),
        refused=False,
    ),
    Case(
        "young woman in a yellow skirt with a bag",
        {"classes": ["person"], "lower_colours": ["yellow"], "carried": ["handbag"]},
        unknown=[],
        notices=("'young' is not searched for", "read 'woman' as 'person'", "'bag' is read as handbag; say backpack o"),
        refused=False,
    ),
    Case(
        "woman in a burgundy coat pushing a pram in the last 2 hours",
        {
            "start": "2026-11-22T07:00:00Z",
            "end": "2026-11-22T09:00:00Z",
            "classes": ["person"],
            "upper_colours": ["red"],
        },
        unknown=["pushing", "pram"],
        notices=("read 'woman' as 'person'",),
        refused=False,
    ),
    Case(
        "person sprinting west with a backpack and a suitcase",
        {"classes": ["person"], "carried": ["backpack", "suitcase"], "headings": ["W"], "speed_min": 1.5},
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "person walking slowly in a khaki jacket at 3pm",
        {
            "time_from": "14:45:00",
            "time_to": "15:15:00",
            "classes": ["person"],
            "upper_colours": ["brown"],
            "speed_max": 0.5,
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "person in a teal top within 500 m of Penrith Market Square",
        {"area": {"lat": 54.664, "lon": -2.752, "radius_m": 500.0}, "classes": ["person"], "upper_colours": ["blue"]},
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "person in a green coat, aged about 30, wearing glasses",
        {"classes": ["person"], "upper_colours": ["green"]},
        unknown=[],
        notices=("'aged' is not searched for", "'glasses' and its colour are not analyse"),
        refused=False,
    ),
    Case(
        "a man with a beard in a grey suit",
        {"classes": ["person"], "upper_colours": ["grey"], "lower_colours": ["grey"]},
        unknown=[],
        notices=("read 'man' as 'person'", "vigil does not analyse faces or bodies: "),
        refused=False,
    ),
    Case(
        "car parked on Devonshire Street overnight",
        {
            "cameras": ["PEN-02"],
            "start": "2026-11-21T18:00:00Z",
            "end": "2026-11-22T06:00:00Z",
            "classes": ["car"],
            "headings": ["stationary"],
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "someone in a camo jacket",
        {"classes": ["person"]},
        unknown=["camo"],
        notices=(),
        refused=False,
    ),
    Case(
        "black hoodie blue jeans white trainers backpack heading right yesterday afternoon",
        {
            "start": "2026-11-21T12:00:00Z",
            "end": "2026-11-21T17:59:59Z",
            "classes": ["person"],
            "upper_colours": ["black"],
            "lower_colours": ["blue"],
            "carried": ["backpack"],
            "headings": ["right"],
        },
        unknown=[],
        notices=("'trainers' and its colour are not analys",),
        refused=False,
    ),
    Case(
        "someone in a blue top on PEN-01 or PEN-02 from 9am to 11am today",
        {
            "cameras": ["PEN-01", "PEN-02"],
            "start": "2026-11-22T09:00:00Z",
            "end": "2026-11-22T11:00:59Z",
            "classes": ["person"],
            "upper_colours": ["blue"],
        },
        unknown=[],
        notices=(),
        refused=False,
    ),
    Case(
        "white car eastbound at noon",
        {
            "time_from": "11:45:00",
            "time_to": "12:15:00",
            "classes": ["car"],
            "vehicle_colours": ["white"],
            "headings": ["E"],
        },
        unknown=[],
        notices=("compass headings",),
        refused=False,
    ),
    Case(
        "person in a pink jacket between 2 and 3:30pm",
        {"time_from": "14:00:00", "time_to": "15:30:00", "classes": ["person"], "upper_colours": ["pink"]},
        unknown=[],
        notices=(),
        refused=False,
    ),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert sum(case.refused for case in CASES) >= 2
    assert sum(any("as 'person'" in n for n in case.notices) for case in CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=str)
def test_description(case: Case) -> None:
    understood = parse_description(case.description, now=NOW, zone=LONDON, gazetteer=GAZETTEER)
    assert understood.query.model_dump(mode="json", exclude_defaults=True) == case.query
    assert understood.unknown == case.unknown
    for expected in case.notices:
        assert any(expected in notice for notice in understood.notices), (expected, understood.notices)
    assert len(understood.notices) == len(case.notices), understood.notices
    assert (understood.refusal is not None) == case.refused
    if case.query:
        assert understood.chips, "every understood filter is shown to the user"


@pytest.mark.parametrize("word", ["man", "woman", "boy", "girl", "lady", "bloke", "male", "female"])
def test_gender_words_are_read_as_person_and_the_user_is_told(word: str) -> None:
    understood = parse_description(f"{word} in a red top", now=NOW, zone=LONDON)
    assert understood.query.classes == ["person"]
    assert understood.query.upper_colours == ["red"]
    assert any(NO_PROFILING in n and f"'{word}'" in n for n in understood.notices)


@pytest.mark.parametrize(
    ("description", "word"),
    [("old man in a coat", "old"), ("a caucasian woman", "caucasian"), ("white male aged 40", "aged")],
)
def test_age_and_ethnicity_words_are_never_filters(description: str, word: str) -> None:
    understood = parse_description(description, now=NOW, zone=LONDON)
    assert word not in understood.unknown
    assert any(NO_PROFILING in n for n in understood.notices)
    assert understood.query.upper_colours == [] and understood.query.vehicle_colours == []


def test_white_before_a_gender_word_is_not_read_as_a_clothing_colour() -> None:
    understood = parse_description("white male in a black jacket", now=NOW, zone=LONDON)
    assert understood.query.upper_colours == ["black"]
    assert any("skin colour" in n for n in understood.notices)


def test_times_of_day_are_local_in_summer_too() -> None:
    summer = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    understood = parse_description("person yesterday between 2pm and 3pm", now=summer, zone=LONDON)
    assert understood.query.start == datetime(2026, 7, 14, 13, 0, tzinfo=UTC)  # 14:00 BST
    assert understood.query.end == datetime(2026, 7, 14, 14, 0, 59, tzinfo=UTC)


def test_a_time_window_that_wraps_midnight_on_a_day_ends_the_next_day() -> None:
    understood = parse_description("person on Friday between 11pm and 1am", now=NOW, zone=LONDON)
    assert understood.query.start == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert understood.query.end == datetime(2026, 11, 21, 1, 0, 59, tzinfo=UTC)


def test_an_impossible_date_is_listed_not_guessed() -> None:
    understood = parse_description("person on 31/02", now=NOW, zone=LONDON)
    assert understood.query.start is None
    assert understood.unknown == ["'on 31/02' is not a date"]


def test_the_query_round_trips_through_json() -> None:
    understood = parse_description(CASES[0].description, now=NOW, zone=LONDON, gazetteer=GAZETTEER)
    again = TrackQuery.model_validate_json(understood.query.model_dump_json())
    assert again == understood.query
