"""What a camera worker tells about each analysed frame: the seam between the worker and what reacts live.

The worker decodes its stream (at ``settings.live.analysis_fps``) when analysis or any observer is on, runs the
analyser, and hands every observer the decoded picture and the :class:`~vigil.domain.scene.SceneState`. Observers
(live rules and alerts, the camera wall's latest picture, live facial-recognition deployments, ...) run inside the
camera's worker process, never in the web server; one that fails is logged and switched off for the rest of the
connection, never crashing the camera.

Observers of capabilities above ``vigil.live`` (live FR in ``vigil.faces``) are registered where the system is
assembled (:func:`vigil.system.open_system`) as :class:`ObserverFactory` values, passed to each worker and built
in the worker's process; ``vigil.live`` never imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Protocol

import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame
from sqlalchemy.orm import Session, sessionmaker

from vigil.domain.scene import SceneState
from vigil.live.rules.observer import RulesObserver
from vigil.settings import Settings


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """One decoded frame of a camera's stream."""

    camera_code: str
    image: npt.NDArray[np.uint8]
    """BGR picture, as analysed (possibly scaled down from the stream's resolution)."""
    at: datetime
    """Wall-clock time (UTC) the frame was taken, from the stream clock."""
    scene: SceneState | None
    """What the analyser saw at this frame; None while live analysis is off for the camera."""
    decoded: VideoFrame | None = field(default=None, repr=False)
    """The decoded frame at the stream's own resolution, for :attr:`full_image`."""

    @cached_property
    def full_image(self) -> npt.NDArray[np.uint8]:
        """BGR picture at the stream's own resolution (faces need every pixel), converted once, on first use, so
        cameras nobody asks this of pay nothing for it."""
        if self.decoded is None or self.decoded.height <= self.image.shape[0]:
            return self.image
        return np.asarray(self.decoded.to_ndarray(format="bgr24"), dtype=np.uint8)


class FrameObserver(Protocol):
    def observe(self, frame: LiveFrame) -> None: ...

    def close(self) -> None: ...


class ObserverFactory(Protocol):
    """Builds one camera's observer inside its worker process (a class or a module-level function, so it can be
    handed to a spawned process or a Ray actor)."""

    def __call__(self, *, settings: Settings, sessions: sessionmaker[Session], camera_code: str) -> FrameObserver: ...


def build_observers(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    camera_code: str,
    registered: Sequence[ObserverFactory] = (),
) -> list[FrameObserver]:
    """The observers of one camera's worker, built in the worker process: the camera wall's latest picture, the
    live rules, then those the system registered (``registered``)."""
    from vigil.live.wall import WallPicture  # the wall module imports LiveFrame from here

    folder = settings.live_spool_dir / camera_code
    return [
        WallPicture(folder=folder, every_seconds=settings.live.wall_picture_seconds),
        RulesObserver(settings=settings, sessions=sessions, camera_code=camera_code),
        *(factory(settings=settings, sessions=sessions, camera_code=camera_code) for factory in registered),
    ]
