"""What the video and review pages play: the original when browsers can play it, else its playable copy.

The copy (see :mod:`vigil.footage.playable`) is planned on first view of footage ingested before copies
existed and handed to the app's :class:`~vigil.footage.playable.CopyMaker`; while it is made the pages show
"Preparing a playable copy (NN%)" and ``static/playable.js`` polls ``/footage/{id}/playable`` until it is ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy.orm import Session

from vigil.db.models import Footage, PlayableCopy
from vigil.footage.custody import footage_path
from vigil.footage.playable import FAILED, ORIGINAL, PREPARING, QUEUED, READY, copy_path, plan_playable_copy
from vigil.web.state import web_state


@dataclass(frozen=True)
class Player:
    """The source of a page's video element and what to say about it."""

    url: str  # what the video element plays now ('' while a copy is being prepared)
    status: str  # original, queued, preparing, ready or failed
    percent: float
    error: str | None
    status_url: str  # polled by static/playable.js while the copy is prepared

    @property
    def preparing(self) -> bool:
        return self.status in (QUEUED, PREPARING)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "percent": self.percent, "url": self.url, "error": self.error}


def start_copy(request: Request, footage_id: int) -> None:
    """Hand a just-ingested footage's planned copy to the app's copy maker (a no-op if none is needed)."""
    copies = web_state(request).copies
    if copies is not None:
        copies.submit(footage_id)


def footage_player(request: Request, db: Session, *, footage: Footage, case_ref: str) -> Player:
    """The player source of a footage the user may watch (the caller has authorised it)."""
    settings = web_state(request).system.settings
    record = db.get(PlayableCopy, footage.id)
    if record is None:  # ingested before playable copies existed: plan it now
        record = plan_playable_copy(db, footage=footage, path=footage_path(settings, footage))
        db.commit()
    if record.status == READY and copy_path(settings.data_dir, record) is None:  # the copy went missing
        record.status, record.percent = QUEUED, 0.0
        db.commit()
    if record.status in (QUEUED, PREPARING):
        copies = web_state(request).copies
        if copies is not None:
            copies.submit(footage.id)
    query = urlencode({"case": case_ref})
    if record.status in (ORIGINAL, FAILED):
        url = f"/footage/{footage.id}/media?{query}"
    elif record.status == READY:
        url = f"/footage/{footage.id}/playable.mp4?{query}"
    else:
        url = ""
    return Player(url, record.status, round(record.percent), record.error, f"/footage/{footage.id}/playable?{query}")
