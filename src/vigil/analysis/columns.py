"""The search columns of a track, derived from its attributes when it is stored.

Attribute names are kept as comma-separated text (``"red,blue"``) for people to read; searching them with ``LIKE``
would be slow and ambiguous, so each track also carries integer bit masks: bit ``i`` of a colour mask is
:data:`~vigil.domain.vocabulary.PALETTE` ``[i]``, bit ``i`` of the carried mask is
:data:`~vigil.domain.vocabulary.CARRIED_CLASSES` ``[i]``. ``start_minute`` is the minute of the day (0-1439) at
which the track was first seen, in the force's time zone (so "between 2pm and 3pm" means local time on every day,
across clock changes).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vigil.db.models import Track
from vigil.domain.vocabulary import CARRIED_CLASSES, PALETTE

_COLOUR_BIT = {name.value: 1 << i for i, name in enumerate(PALETTE)}
_CARRIED_BIT = {name: 1 << i for i, name in enumerate(CARRIED_CLASSES)}


def colour_mask(names: Iterable[str]) -> int:
    """The bit mask of colour names (unknown names are ignored: they cannot be searched for)."""
    mask = 0
    for name in names:
        mask |= _COLOUR_BIT.get(name.strip(), 0)
    return mask


def carried_mask(names: Iterable[str]) -> int:
    mask = 0
    for name in names:
        mask |= _CARRIED_BIT.get(name.strip(), 0)
    return mask


def local_minute(when: datetime, zone: tzinfo) -> int:
    local = when.astimezone(zone)
    return local.hour * 60 + local.minute


def fill_search_columns(track: Track, zone: tzinfo) -> None:
    """Set a track's masks and start minute from its attribute text and first-seen time."""
    track.upper_mask = colour_mask(track.upper_colours.split(","))
    track.lower_mask = colour_mask(track.lower_colours.split(","))
    track.body_mask = colour_mask(track.body_colours.split(","))
    track.carried_mask = carried_mask(track.carried.split(","))
    track.start_minute = local_minute(track.first_seen, zone)


def backfill_search_columns(db: Session, zone: tzinfo, *, batch: int = 5000) -> int:
    """Recompute the search columns of every stored track (after a change of time zone or palette)."""
    done, last_id = 0, 0
    columns = (Track.id, Track.upper_colours, Track.lower_colours, Track.body_colours, Track.carried, Track.first_seen)
    while True:
        rows = db.execute(select(*columns).where(Track.id > last_id).order_by(Track.id).limit(batch)).all()
        if not rows:
            return done
        values = [
            {
                "id": row.id,
                "upper_mask": colour_mask(row.upper_colours.split(",")),
                "lower_mask": colour_mask(row.lower_colours.split(",")),
                "body_mask": colour_mask(row.body_colours.split(",")),
                "carried_mask": carried_mask(row.carried.split(",")),
                "start_minute": local_minute(row.first_seen, zone),
            }
            for row in rows
        ]
        db.execute(update(Track), values)
        done, last_id = done + len(rows), rows[-1].id
