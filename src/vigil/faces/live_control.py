"""Start and end a live facial-recognition deployment: one action the web console, the API and the command line
share.

Both only change the deployment's state in the caller's transaction (authorised and audited). The cameras' workers
(:mod:`vigil.faces.live_watch`, run by the live supervisor in the web server or in ``vigil live run``) read that
state: a deployment starts being matched within a few seconds of the start being committed, and stops within a few
seconds of its end. A refused or rolled-back start reads no camera; no stream is opened for a deployment, since
each camera is already read once by its own worker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from vigil.db.face_models import Deployment
from vigil.db.models import User
from vigil.faces.live import deployment_sources, start_deployment, stop_deployment
from vigil.governance.camera_sources import SourcePolicy


def go_live(
    db: Session, *, user: User, deployment_id: int, sources: SourcePolicy, now: datetime | None = None
) -> Deployment:
    """Start the deployment (audited ``fr.deployment.start``); its cameras' sources are checked again first."""
    deployment, _ = start_deployment(db, user=user, deployment_id=deployment_id, now=now)
    deployment_sources(db, deployment, sources=sources)  # a camera whose source no longer passes refuses the start
    return deployment


def end_live(db: Session, *, user: User, deployment_id: int, now: datetime | None = None) -> Deployment:
    """End the deployment (audited ``fr.deployment.end``); the cameras stop matching it at their next reload."""
    return stop_deployment(db, user=user, deployment_id=deployment_id, now=now)
