"""Starting analysis from the web: the governance service creates the job, the app's executor runs it."""

from __future__ import annotations

import logging

from fastapi import Request
from sqlalchemy.orm import Session

from vigil.analysis.jobs import JobStatus, start_analysis
from vigil.db.models import AnalysisJob, Footage, User
from vigil.governance.audit import AuditContext
from vigil.web.state import web_state

log = logging.getLogger("vigil.web")


def start_job(
    request: Request,
    db: Session,
    *,
    user: User,
    footage: Footage,
    force: bool = False,
    context: AuditContext | None = None,
) -> AnalysisJob:
    """Start the analysis of a footage (or resume its unfinished job) and hand the job to the executor.

    Refused (and audited) by :func:`start_analysis` without current training or a current PIA. A finished
    job is returned as it is unless ``force`` (a re-analysis, which needs the case and purpose ``context``). The
    job is committed first: the executor reads it in another session (a worker process or thread).
    """
    job = start_analysis(db, user=user, footage=footage, force=force, context=context)
    db.commit()
    if job.status != JobStatus.DONE:
        executor = web_state(request).executor
        if executor is None:  # the app's lifespan is not running: the job waits for the next start-up
            log.warning("analysis job %s queued with no executor running; it starts when vigil next starts", job.id)
        else:
            executor.submit(job.id)
    return job


def percent(job: AnalysisJob) -> float | None:
    """How far a job has got, 0-100 (None while the number of frames is unknown)."""
    if job.status == JobStatus.DONE:
        return 100.0
    if job.total_frames <= 0:
        return None
    return round(min(100.0, 100.0 * job.progress_frames / job.total_frames), 1)
