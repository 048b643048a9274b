"""Live facial recognition deployments: plan, start, end, the operator console's alerts and their decisions.

The same services as the deployment pages check the live FR capability and audit each step
(``fr.deployment.plan``, ``fr.deployment.start``, ``fr.deployment.end``, ``fr.console.view``, ``fr.alert.decide``).
As on the page, starting or ending only changes the deployment's state: the cameras' workers start matching it within
seconds of the start being committed, and stop within seconds of its end.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from vigil.faces.live import (
    DeploymentPlan,
    decide_alert,
    list_deployments,
    plan_deployment,
    view_console,
)
from vigil.faces.live_control import end_live, go_live
from vigil.governance.camera_sources import source_policy
from vigil.web.api.access import ERRORS, ApiUser
from vigil.web.api.common import NOT_FOUND, Limit, Offset, page_of
from vigil.web.api.faces_schemas import AlertDecisionRequest, AlertReply, ConsoleReply, DeploymentList, DeploymentReply
from vigil.web.api.schemas import RowId
from vigil.web.deps import DbSession
from vigil.web.state import web_state

router = APIRouter(prefix="/faces", tags=["live facial recognition"], responses=ERRORS)

DeploymentId = Annotated[RowId, Path(description="Deployment id.")]


@router.get("/deployments", response_model=DeploymentList)
def deployments_list(db: DbSession, user: ApiUser, offset: Offset = 0, limit: Limit = 50) -> DeploymentList:
    """Every deployment, newest window first."""
    items, page = page_of(list_deployments(db, user=user), offset=offset, limit=limit)
    return DeploymentList(items=[DeploymentReply.of(d) for d in items], page=page)


@router.post("/deployments", status_code=201, response_model=DeploymentReply)
def deployment_plan(request: Request, db: DbSession, user: ApiUser, body: DeploymentPlan) -> DeploymentReply:
    """Record a planned deployment: cameras with registered live sources, a deployment watchlist, a window of at
    most 24 hours, the threshold, the authorising officer and the public notice."""
    sources = source_policy(web_state(request).system.settings)
    return DeploymentReply.of(plan_deployment(db, user=user, plan=body, sources=sources))


@router.post("/deployments/{deployment_id}/start", response_model=DeploymentReply, responses=NOT_FOUND)
def deployment_start(request: Request, db: DbSession, user: ApiUser, deployment_id: DeploymentId) -> DeploymentReply:
    """Go live inside the window (the watchlist is frozen); its cameras' workers match it once that is committed."""
    policy = source_policy(web_state(request).system.settings)
    return DeploymentReply.of(go_live(db, user=user, deployment_id=deployment_id, sources=policy))


@router.post("/deployments/{deployment_id}/end", response_model=DeploymentReply, responses=NOT_FOUND)
def deployment_end(db: DbSession, user: ApiUser, deployment_id: DeploymentId) -> DeploymentReply:
    """End a live deployment; its watchlist embeddings are deleted and its cameras stop matching it."""
    return DeploymentReply.of(end_live(db, user=user, deployment_id=deployment_id))


@router.get("/deployments/{deployment_id}/alerts", response_model=ConsoleReply, responses=NOT_FOUND)
def deployment_alerts(db: DbSession, user: ApiUser, deployment_id: DeploymentId) -> ConsoleReply:
    """A deployment's alerts for its operator, pending first (audited as a console view)."""
    deployment, alerts = view_console(db, user=user, deployment_id=deployment_id)
    return ConsoleReply(deployment=DeploymentReply.of(deployment), alerts=[AlertReply.of(a) for a in alerts])


@router.post("/alerts/{alert_id}/decision", response_model=AlertReply, responses=NOT_FOUND)
def alert_decide(
    db: DbSession, user: ApiUser, alert_id: Annotated[RowId, Path(description="Alert id.")], body: AlertDecisionRequest
) -> AlertReply:
    """An operator's decision on an alert: confirmed, dismissed or engaged (with an outcome note and case)."""
    alert = decide_alert(
        db, user=user, alert_id=alert_id, outcome=body.outcome, note=body.note, case_ref=body.case.strip() or None
    )
    return AlertReply.of(alert)
