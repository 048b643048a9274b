"""What a camera worker tells about each analysed frame: the seam between the worker and what reacts live.

The worker decodes its stream (at ``settings.live.analysis_fps``) when analysis or any observer is on, runs the
analyser, and hands every observer the decoded picture and the :class:`~vigil.domain.scene.SceneState`. Observers
(live rules and alerts, the camera wall's latest picture, ...) run inside the camera's worker process, never in the
web server; one that fails is logged and switched off for the rest of the connection, never crashing the camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt
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


class FrameObserver(Protocol):
    def observe(self, frame: LiveFrame) -> None: ...

    def close(self) -> None: ...


def build_observers(*, settings: Settings, sessions: sessionmaker[Session], camera_code: str) -> list[FrameObserver]:
    """The observers of one camera's worker, built in the worker process: the camera wall's latest picture and
    the live rules."""
    from vigil.live.wall import WallPicture  # the wall module imports LiveFrame from here

    folder = settings.live_spool_dir / camera_code
    return [
        WallPicture(folder=folder, every_seconds=settings.live.wall_picture_seconds),
        RulesObserver(settings=settings, sessions=sessions, camera_code=camera_code),
    ]
