"""Start and end a live facial-recognition deployment: one action the web console and the command line share.

The governance step (authorised, audited, the deployment's state changed) runs in the caller's transaction; the
camera streams start, or stop, only once that transaction commits (:func:`vigil.db.session.after_commit`). So no
camera is read for a deployment that was not recorded as live, a refused or failed start leaves nothing running,
and stopping streams never waits on a write lock the caller still holds (their threads write their last count).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from vigil.db.face_models import Deployment
from vigil.db.models import User
from vigil.db.session import after_commit
from vigil.faces.live import deployment_sources, start_deployment, stop_deployment
from vigil.faces.live_runtime import LiveRuntime
from vigil.governance.camera_sources import SourcePolicy


def go_live(
    db: Session,
    *,
    runtime: LiveRuntime,
    user: User,
    deployment_id: int,
    sources: SourcePolicy,
    now: datetime | None = None,
) -> Deployment:
    """Start the deployment (audited ``fr.deployment.start``); its streams start when the caller commits."""
    deployment, vectors = start_deployment(db, user=user, deployment_id=deployment_id, now=now)
    streams = deployment_sources(db, deployment, sources=sources)  # checked again before anything is read
    threshold, ends = deployment.threshold, deployment.window_end
    after_commit(
        db, lambda: runtime.start(deployment_id, watchlist=vectors, streams=streams, threshold=threshold, ends=ends)
    )
    return deployment


def end_live(
    db: Session, *, runtime: LiveRuntime, user: User, deployment_id: int, now: datetime | None = None
) -> Deployment:
    """End the deployment (audited ``fr.deployment.end``); its streams stop when the caller commits."""
    deployment = stop_deployment(db, user=user, deployment_id=deployment_id, now=now)
    after_commit(db, lambda: runtime.stop(deployment_id))
    return deployment
