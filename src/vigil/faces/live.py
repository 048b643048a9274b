"""Live facial-recognition deployments: plan, start, raise alerts, decide them, end, report.

A deployment is planned with its place, window, cameras (force cameras with registered live sources, never typed
URLs or paths), a per-deployment watchlist, an alert
threshold, the authorising officer and the public notice; it is published on the transparency page before it starts
unless a supervisor marks it operationally sensitive (audited). Starting it freezes its watchlist. While it is live
only matches are stored (:mod:`vigil.faces.live_engine` keeps the non-match rule); each match becomes an
:class:`~vigil.db.face_models.Alert` that an operator confirms, dismisses or marks engaged with an outcome. Ending it
removes the watchlist's embeddings from the deployment. Alerts are deleted ``retention.live_fr_alert_hours`` after
the end unless an operator linked them to a case (:class:`LiveAlertRule`); their counts are kept on the deployment
first, so the published results survive the deletion.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.face_models import Alert, Deployment, Watchlist, WatchlistEntry
from vigil.db.models import User
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.faces.images import from_bytes, jpeg, write_file
from vigil.faces.live_engine import LiveMatch, WatchlistVectors
from vigil.governance import audit
from vigil.governance.access import authorise, make_context, reach_case
from vigil.governance.audit import SYSTEM_ACTOR
from vigil.governance.camera_sources import LiveSource, SourcePolicy, live_source
from vigil.governance.retention import DueItems
from vigil.governance.roles import Capability, Role

OUTCOMES = ("confirmed", "dismissed", "engaged")
MAX_WINDOW = timedelta(hours=24)
START_EARLY = timedelta(minutes=30)
RESULTS_WORKING_DAYS = 5


class StreamSpec(BaseModel):
    """One camera a deployment watches: a force camera with a registered live source (never a typed URL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera: str = Field(
        min_length=1, max_length=64, description="Code of a force camera with a registered live source."
    )


class DeploymentPlan(BaseModel):
    """What an authorising officer approves before a live deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=3, max_length=200, description="Name shown to operators and the public.")
    location: str = Field(min_length=3, max_length=300, description="Where the cameras are (public wording).")
    streams: tuple[StreamSpec, ...] = Field(min_length=1, max_length=16, description="Camera streams to watch.")
    window_start: datetime = Field(description="When the deployment may start (UTC).")
    window_end: datetime = Field(description="When it must end (UTC), at most 24 hours after the start.")
    watchlist: str = Field(min_length=1, description="Name of the deployment's watchlist (frozen at start).")
    threshold: float = Field(gt=0, lt=1, description="Alert when a face's similarity is at or above this.")
    authorising_officer: str = Field(min_length=3, max_length=200, description="Officer who authorised it.")
    public_notice: str = Field(min_length=20, max_length=4000, description="Text of the public notice.")
    operationally_sensitive: bool = Field(False, description="Kept off the public page beforehand (supervisors).")


@dataclass(frozen=True)
class Results:
    """A deployment's published figures."""

    faces_seen: int
    alerts: int
    confirmed: int  # true alerts
    dismissed: int  # false alerts
    engaged: int
    pending: int
    outcomes: tuple[str, ...]  # outcome notes of engagements (e.g. "arrested"), as operators wrote them


def _live_fr(db: Session, user: User, action: str, now: datetime) -> None:
    authorise(
        db, user=user, capability=Capability.LIVE_FR, action=action, context=None, context_required=False, now=now
    )


def _record(db: Session, actor: str, action: str, deployment: Deployment, now: datetime, **details: object) -> None:
    audit.record(
        db,
        actor=actor,
        action=action,
        capability=Capability.LIVE_FR.value,
        subject_type="fr_deployment",
        subject_id=str(deployment.id),
        details={"name": deployment.name, **details},
        now=now,
    )


def get_deployment(db: Session, deployment_id: int) -> Deployment:
    deployment = db.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"no live deployment {deployment_id}")
    return deployment


def streams_of(deployment: Deployment) -> list[StreamSpec]:
    """The cameras of a deployment (labels only; their sources are read from the camera source register)."""
    return [StreamSpec(camera=str(item["camera"])) for item in json.loads(deployment.streams)]


def deployment_sources(db: Session, deployment: Deployment, *, sources: SourcePolicy) -> list[LiveSource]:
    """The registered sources of the deployment's cameras, unsealed and checked again before they are read."""
    return [live_source(db, camera_code=spec.camera, policy=sources) for spec in streams_of(deployment)]


def _check_plan(db: Session, plan: DeploymentPlan, user: User, now: datetime, sources: SourcePolicy) -> Watchlist:
    if plan.window_end <= plan.window_start:
        raise InvalidInput("the deployment must end after it starts")
    if plan.window_end - plan.window_start > MAX_WINDOW:
        raise InvalidInput("a deployment lasts at most 24 hours; plan another for the next day")
    if plan.window_end <= now:
        raise InvalidInput("the deployment window is already over")
    if len({stream.camera.strip().upper() for stream in plan.streams}) != len(plan.streams):
        raise InvalidInput("each camera can be chosen once")
    for stream in plan.streams:
        live_source(db, camera_code=stream.camera, policy=sources)
    if plan.operationally_sensitive and user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise InvalidInput("only a supervisor may mark a deployment operationally sensitive")
    watchlist = db.execute(select(Watchlist).where(Watchlist.name == plan.watchlist)).scalar_one_or_none()
    if watchlist is None:
        raise NotFound(f"no watchlist named {plan.watchlist!r}")
    if watchlist.kind != "deployment":
        raise InvalidInput("a live deployment needs a watchlist built for it (kind 'deployment')")
    used = db.execute(select(Deployment.id).where(Deployment.watchlist_id == watchlist.id)).first()
    if used is not None:
        raise Conflict(f"watchlist {watchlist.name!r} already belongs to deployment {used[0]}")
    if not watchlist.entries:
        raise InvalidInput(f"watchlist {watchlist.name!r} is empty; add subjects first")
    return watchlist


def plan_deployment(
    db: Session, *, user: User, plan: DeploymentPlan, sources: SourcePolicy, now: datetime | None = None
) -> Deployment:
    """Record a planned deployment (live-FR users; the sensitive flag needs a supervisor and is audited).

    Its cameras must have registered live sources that pass the checks (:mod:`vigil.governance.camera_sources`)."""
    now = now or utcnow()
    _live_fr(db, user, "fr.deployment.plan", now)
    watchlist = _check_plan(db, plan, user, now, sources)
    deployment = Deployment(
        name=plan.name,
        location=plan.location,
        streams=json.dumps([{"camera": s.camera.strip().upper()} for s in plan.streams]),
        window_start=plan.window_start,
        window_end=plan.window_end,
        watchlist_id=watchlist.id,
        threshold=plan.threshold,
        authorising_officer=plan.authorising_officer,
        public_notice=plan.public_notice,
        operationally_sensitive=plan.operationally_sensitive,
        status="planned",
        created_by_id=user.id,
    )
    db.add(deployment)
    db.flush()
    _record(
        db,
        user.username,
        "fr.deployment.plan",
        deployment,
        now,
        threshold=plan.threshold,
        entries=len(watchlist.entries),
    )
    if plan.operationally_sensitive:
        _record(db, user.username, "fr.deployment.sensitive", deployment, now, authorised_by=plan.authorising_officer)
    return deployment


def watchlist_vectors(watchlist: Watchlist) -> WatchlistVectors:
    entries = [e for e in watchlist.entries if e.embedding is not None]
    if not entries:
        raise InvalidInput(f"watchlist {watchlist.name!r} holds no embeddings")
    models = {e.model for e in entries}
    if len(models) != 1:
        raise InvalidInput(f"watchlist {watchlist.name!r} mixes embedding models {sorted(models)}")
    return WatchlistVectors(
        entry_ids=np.array([e.id for e in entries], np.int64),
        subject_ids=np.array([e.subject_id for e in entries], np.int64),
        embeddings=np.stack([from_bytes(e.embedding) for e in entries if e.embedding is not None]),
        model=models.pop(),
    )


def start_deployment(
    db: Session, *, user: User, deployment_id: int, now: datetime | None = None
) -> tuple[Deployment, WatchlistVectors]:
    """Go live: inside the window, the watchlist frozen; returns the vectors the matcher compares with."""
    now = now or utcnow()
    _live_fr(db, user, "fr.deployment.start", now)
    deployment = get_deployment(db, deployment_id)
    if deployment.status != "planned":
        raise Conflict(f"deployment {deployment.id} is {deployment.status}, not planned")
    if not deployment.window_start - START_EARLY <= now < deployment.window_end:
        raise InvalidInput("a deployment can only start within its planned window")
    watchlist = deployment.watchlist
    if watchlist is None:
        raise InvalidInput("the deployment has no watchlist")
    vectors = watchlist_vectors(watchlist)
    watchlist.frozen_at = watchlist.frozen_at or now
    deployment.status, deployment.started_at = "live", now
    _record(db, user.username, "fr.deployment.start", deployment, now, entries=len(vectors))
    db.flush()
    return deployment, vectors


def end_deployment(
    db: Session, *, actor: str, deployment_id: int, faces_seen: int = 0, now: datetime | None = None
) -> Deployment:
    """End a live deployment: record the faces seen and delete the watchlist's embeddings from it."""
    now = now or utcnow()
    deployment = get_deployment(db, deployment_id)
    if deployment.status != "live":
        raise Conflict(f"deployment {deployment.id} is {deployment.status}, not live")
    deployment.status, deployment.ended_at = "ended", now
    deployment.faces_seen += faces_seen
    cleared = 0
    if deployment.watchlist is not None:
        for entry in deployment.watchlist.entries:
            cleared += entry.embedding is not None
            entry.embedding = None
    _record(db, actor, "fr.deployment.end", deployment, now, faces_seen=deployment.faces_seen, cleared=cleared)
    db.flush()
    return deployment


def stop_deployment(db: Session, *, user: User, deployment_id: int, now: datetime | None = None) -> Deployment:
    """An operator ends a deployment early (or on time)."""
    now = now or utcnow()
    _live_fr(db, user, "fr.deployment.end", now)
    return end_deployment(db, actor=user.username, deployment_id=deployment_id, now=now)


def add_faces_seen(db: Session, *, deployment_id: int, count: int) -> None:
    """Add to the count of distinct faces a live deployment has seen (the only trace of non-matches)."""
    if count:
        get_deployment(db, deployment_id).faces_seen += count


def record_alert(
    db: Session, *, deployment_id: int, match: LiveMatch, camera: str, data_dir: Path, at: datetime
) -> Alert:
    """Store a match as a pending alert with its face crop (the crop file is written before the row)."""
    deployment = get_deployment(db, deployment_id)
    relative = f"fr/alerts/{deployment.id}/{secrets.token_hex(12)}.jpg"
    write_file(data_dir, relative, jpeg(match.crop))
    alert = Alert(
        deployment_id=deployment.id,
        subject_id=match.subject_id,
        entry_id=match.entry_id,
        score=round(match.score, 4),
        at=at,
        camera=camera,
        crop_path=relative,
        outcome="pending",
    )
    db.add(alert)
    db.flush()
    _record(db, SYSTEM_ACTOR, "fr.alert.raise", deployment, at, alert=alert.id, score=alert.score, camera=camera)
    return alert


def decide_alert(
    db: Session,
    *,
    user: User,
    alert_id: int,
    outcome: str,
    note: str = "",
    case_ref: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """An operator's decision on an alert: confirmed, dismissed or engaged (with an outcome note)."""
    now = now or utcnow()
    _live_fr(db, user, "fr.alert.decide", now)
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}")
    note = " ".join(note.split())
    if len(note) > 1000:
        raise InvalidInput("the note is limited to 1000 characters")
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    if case_ref:
        context = make_context(case_ref, f"live facial recognition alert {alert.id}: {outcome}")
        alert.case_id = reach_case(db, user=user, context=context, action="fr.alert.decide").id
    alert.outcome, alert.outcome_note = outcome, note
    alert.operator_id, alert.decided_at = user.id, now
    _record(db, user.username, "fr.alert.decide", alert.deployment, now, alert=alert.id, outcome=outcome, case=case_ref)
    db.flush()
    return alert


COUNTED = ("alerts", *OUTCOMES, "pending")


def _tally(alerts: list[Alert]) -> tuple[dict[str, int], list[str]]:
    """Counts by outcome (and in all) and the outcome notes of engagements."""
    counts = {name: sum(a.outcome == name for a in alerts) for name in (*OUTCOMES, "pending")}
    notes = [a.outcome_note for a in alerts if a.outcome == "engaged" and a.outcome_note]
    return {"alerts": len(alerts), **counts}, notes


def _kept(deployment: Deployment) -> tuple[dict[str, int], list[str]]:
    kept = json.loads(deployment.results or "{}")
    return {key: int(kept.get(key, 0)) for key in COUNTED}, [str(note) for note in kept.get("outcomes", [])]


def results_of(db: Session, deployment: Deployment) -> Results:
    """The figures published for a deployment: those kept when its alerts were deleted plus those still held."""
    kept, kept_notes = _kept(deployment)
    live, live_notes = _tally(list(db.execute(select(Alert).where(Alert.deployment_id == deployment.id)).scalars()))
    total = {key: kept[key] + live[key] for key in COUNTED}
    return Results(
        faces_seen=deployment.faces_seen,
        alerts=total["alerts"],
        confirmed=total["confirmed"],
        dismissed=total["dismissed"],
        engaged=total["engaged"],
        pending=total["pending"],
        outcomes=(*kept_notes, *live_notes),
    )


def add_working_days(day: date, days: int) -> date:
    while days:
        day += timedelta(days=1)
        days -= day.weekday() < 5
    return day


def results_due(deployment: Deployment) -> date | None:
    """The last day the results may be published: 5 working days after the deployment ended."""
    return add_working_days(deployment.ended_at.date(), RESULTS_WORKING_DAYS) if deployment.ended_at else None


@dataclass(frozen=True)
class LiveAlertRule:
    """Alerts of deployments that ended more than ``hours`` ago, unless linked to a case; counts kept first."""

    data_dir: Path
    hours: float
    data_class: str = "live_fr_alerts"

    def find_due(self, db: Session, *, now: datetime) -> DueItems:
        cutoff = now - timedelta(hours=self.hours)
        stmt = (
            select(Alert.id, Alert.crop_path)
            .join(Deployment, Deployment.id == Alert.deployment_id)
            .where(Deployment.ended_at.is_not(None), Deployment.ended_at < cutoff, Alert.case_id.is_(None))
        )
        rows = db.execute(stmt).all()
        paths = tuple(self.data_dir / path for _, path in rows if path)
        return DueItems(
            self.data_class, f"{self.hours:g} hours after the deployment ends", tuple(r[0] for r in rows), paths
        )

    def delete_rows(self, db: Session, due: DueItems) -> None:
        alerts = list(db.execute(select(Alert).where(Alert.id.in_(due.row_ids))).scalars())
        by_deployment: dict[int, list[Alert]] = {}
        for alert in alerts:
            by_deployment.setdefault(alert.deployment_id, []).append(alert)
        for deployment_id, gone in by_deployment.items():
            deployment = get_deployment(db, deployment_id)
            kept, kept_notes = _kept(deployment)
            counts, notes = _tally(gone)
            merged = {key: kept[key] + counts[key] for key in COUNTED}
            deployment.results = json.dumps({**merged, "outcomes": [*kept_notes, *notes]}, sort_keys=True)
        for alert in alerts:
            db.delete(alert)


def list_deployments(db: Session, *, user: User, now: datetime | None = None) -> list[Deployment]:
    """Every deployment, newest window first (live-FR users)."""
    _live_fr(db, user, "fr.deployment.list", now or utcnow())
    return list(db.execute(select(Deployment).order_by(Deployment.window_start.desc(), Deployment.id.desc())).scalars())


def view_console(
    db: Session, *, user: User, deployment_id: int, now: datetime | None = None
) -> tuple[Deployment, list[Alert]]:
    """A deployment's alerts for its operator console, pending first (audited as ``fr.console.view``)."""
    now = now or utcnow()
    _live_fr(db, user, "fr.console.view", now)
    deployment = get_deployment(db, deployment_id)
    alerts = list(
        db.execute(
            select(Alert)
            .where(Alert.deployment_id == deployment.id)
            .order_by((Alert.outcome == "pending").desc(), Alert.at.desc())
        ).scalars()
    )
    _record(db, user.username, "fr.console.view", deployment, now, alerts=len(alerts))
    return deployment, alerts


def alerts_after(db: Session, *, deployment_id: int, after_id: int, limit: int = 50) -> list[Alert]:
    """A deployment's alerts newer than ``after_id``, oldest first: what an open console has not shown yet (the
    console's stream re-checks its user on every read; opening it was audited as ``fr.console.view``)."""
    stmt = (
        select(Alert).where(Alert.deployment_id == deployment_id, Alert.id > after_id).order_by(Alert.id).limit(limit)
    )
    return list(db.execute(stmt).scalars())


def alert_event(alert: Alert) -> dict[str, object]:
    """What the console receives about a new alert (images are fetched through authorised routes)."""
    return {
        "type": "alert",
        "id": alert.id,
        "subject_id": alert.subject_id,
        "score": round(alert.score, 3),
        "at": alert.at.isoformat(),
        "camera": alert.camera,
    }


def alert_image(db: Session, *, user: User, alert_id: int, data_dir: Path, which: str) -> Path:
    """The face crop of an alert (``which='crop'``) or the watchlist image it matched (``'reference'``).

    Authorised like the console that shows them; not audited one by one (the console view is)."""
    _live_fr(db, user, "fr.alert.image", utcnow())
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    relative: str | None = alert.crop_path
    if which == "reference":
        entry = db.get(WatchlistEntry, alert.entry_id) if alert.entry_id else None
        relative = entry.enrolment.stored_path if entry is not None and entry.enrolment is not None else None
    if not relative or not (data_dir / relative).is_file():
        raise NotFound("that image is no longer held")
    return data_dir / relative


@dataclass(frozen=True)
class PublicRegister:
    """What the public transparency page shows."""

    upcoming: list[Deployment]  # planned, not operationally sensitive
    live: list[Deployment]  # live now, not operationally sensitive
    reported: list[tuple[Deployment, Results]]  # ended, every one, with its results


def public_register(db: Session, *, now: datetime | None = None) -> PublicRegister:
    """The public page: no login, no personal data (no subjects, no images, no operator names)."""
    now = now or utcnow()
    deployments = list(db.execute(select(Deployment).order_by(Deployment.window_start)).scalars())
    open_ = [d for d in deployments if not d.operationally_sensitive]
    return PublicRegister(
        upcoming=[d for d in open_ if d.status == "planned" and d.window_end > now],
        live=[d for d in open_ if d.status == "live"],
        reported=[(d, results_of(db, d)) for d in reversed(deployments) if d.status == "ended"],
    )


@dataclass(frozen=True)
class ResultsReminder:
    deployment: Deployment
    due: date
    pending: int  # alerts still without an operator's outcome


def results_reminders(db: Session, *, user: User, now: datetime | None = None) -> list[ResultsReminder]:
    """Ended deployments whose results are due within two working days (or overdue) with alerts still
    pending: supervisors are reminded so the published figures are final in time."""
    now = now or utcnow()
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        return []
    soon = add_working_days(now.date(), 2)
    reminders = []
    for deployment in db.execute(select(Deployment).where(Deployment.status == "ended")).scalars():
        due = results_due(deployment)
        pending = results_of(db, deployment).pending
        if due is not None and due <= soon and pending:
            reminders.append(ResultsReminder(deployment, due, pending))
    return reminders
