"""The rules observer: runs a camera's live rules on every analysed frame, inside the camera's worker process.

It reloads the camera's active rules every few seconds (a rule created, ended or expired takes effect within
``RELOAD_S``), raises an alert for each firing (snapshot written first, then one short write), and cuts the clips
of its pending alerts once the recording holding their moment has been ingested. It never holds a database
transaction while it decodes, encodes or copies video.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from vigil.db.base import utcnow
from vigil.db.session import session_scope
from vigil.live.rules.alerts import clip_jobs, clip_target, finish_clip, record_alert, snapshot_jpeg, write_snapshot
from vigil.live.rules.clips import ClipFailed, cut_clip
from vigil.live.rules.engine import Firing, RuleEngine
from vigil.live.rules.service import active_specs
from vigil.settings import Settings

if TYPE_CHECKING:  # the observers module builds this one: import its types only when checking
    from vigil.live.observers import LiveFrame

log = logging.getLogger(__name__)

RELOAD_S = 5.0
CLIP_CHECK_S = 5.0


class RulesObserver:
    """A :class:`~vigil.live.observers.FrameObserver` for one camera."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        camera_code: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self.sessions, self.code, self.clock = settings, sessions, camera_code, clock
        self.engine = RuleEngine([])
        self.next_reload = 0.0
        self.next_clips = 0.0
        self.raised = 0
        self.clip_wait = timedelta(seconds=2 * settings.live.segment_seconds + 30)

    def observe(self, frame: LiveFrame) -> None:
        now = self.clock()
        if now >= self.next_reload:
            self.reload()
            self.next_reload = now + RELOAD_S
        if frame.scene is not None and self.engine.states:
            for firing in self.engine.step(frame.scene, frame.at):
                self.raise_alert(frame, firing)
        if now >= self.next_clips:
            self.cut_clips()
            self.next_clips = now + CLIP_CHECK_S

    def reload(self) -> None:
        with session_scope(self.sessions) as db:
            specs = active_specs(db, camera_code=self.code, now=utcnow(), zone=self.settings.timezone)
        self.engine.replace(specs)

    def raise_alert(self, frame: LiveFrame, firing: Firing) -> None:
        jpeg = snapshot_jpeg(frame.image, list(firing.boxes))
        path = write_snapshot(self.settings.data_dir, self.code, jpeg)
        with session_scope(self.sessions) as db:
            record_alert(db, camera_code=self.code, firing=firing, snapshot_path=path)
        self.raised += 1

    def cut_clips(self) -> None:
        """Cut the clips whose recording is in (or will never come); each in its own short write."""
        data_dir = self.settings.data_dir
        with session_scope(self.sessions) as db:
            jobs = clip_jobs(db, data_dir=data_dir, camera_code=self.code, now=utcnow(), wait=self.clip_wait)
        for job in jobs:
            stored, seconds = None, 0.0
            if job.segments:
                target, relative = clip_target(data_dir, self.code, job.alert_id)
                try:
                    seconds = cut_clip(job.segments, start=job.start, end=job.end, target=target)
                    stored = relative
                except ClipFailed as exc:
                    log.warning("alert %s on camera %s: %s", job.alert_id, self.code, exc)
            with session_scope(self.sessions) as db:
                finish_clip(db, alert_id=job.alert_id, clip_path=stored, seconds=seconds)

    def close(self) -> None:
        self.engine = RuleEngine([])
