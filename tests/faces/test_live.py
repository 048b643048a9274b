"""Live deployments through the services: planning rules, going live, alerts, outcomes, the end, retention and
the public register."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.faces.live_builders import grace_hopper
from tests.faces.live_support import (
    CAMERA,
    NOW,
    enrolled_watchlist,
    file_camera,
    file_sources,
    grace_video,
    operator,
    planned_deployment,
)
from tests.support.builders import make_camera, make_user
from vigil.db.face_models import Alert, Deployment, Watchlist
from vigil.db.models import AuditEntry, Case
from vigil.errors import Conflict, InvalidInput, NotFound, NotPermitted
from vigil.faces.live import (
    DeploymentPlan,
    LiveAlertRule,
    StreamSpec,
    add_working_days,
    decide_alert,
    end_deployment,
    plan_deployment,
    public_register,
    record_alert,
    results_of,
    results_reminders,
    start_deployment,
)
from vigil.faces.live_engine import LiveMatcher
from vigil.governance.retention import run_retention
from vigil.settings import Settings
from vigil.vision.faces.recognizer import FaceRecognizer, default_recognizer


@pytest.fixture(scope="module")
def recognizer() -> FaceRecognizer:
    return default_recognizer(threads=1)


def _plan(list_name: str, video: Path, **changes: object) -> DeploymentPlan:
    base = {
        "name": "Penrith market day",
        "location": "Penrith, Market Square",
        "streams": (StreamSpec(camera=CAMERA),),
        "window_start": NOW,
        "window_end": NOW + timedelta(hours=6),
        "watchlist": list_name,
        "threshold": 0.5,
        "authorising_officer": "Supt A. Example",
        "public_notice": "Live facial recognition is in use in Penrith today.",
    }
    return DeploymentPlan.model_validate({**base, **changes})


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"window_end": NOW - timedelta(hours=1)}, InvalidInput, "end after it starts"),
        ({"window_end": NOW + timedelta(hours=30)}, InvalidInput, "at most 24 hours"),
        (
            {"window_start": NOW - timedelta(hours=3), "window_end": NOW - timedelta(hours=1)},
            InvalidInput,
            "already over",
        ),
        ({"streams": (StreamSpec(camera="NO-SUCH-CAM"),)}, NotFound, "no camera with code"),
        ({"streams": (StreamSpec(camera="PEN-02"),)}, InvalidInput, "no registered live source"),
        ({"streams": (StreamSpec(camera=CAMERA), StreamSpec(camera=CAMERA.lower()))}, InvalidInput, "chosen once"),
        ({"operationally_sensitive": True}, InvalidInput, "only a supervisor"),
        ({"watchlist": "no-such-list"}, NotFound, "no watchlist"),
    ],
)
def test_a_bad_plan_is_refused_with_its_reason(
    db: Session,
    settings: Settings,
    recognizer: FaceRecognizer,
    tmp_path: Path,
    changes: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    user = operator(db)
    watchlist = enrolled_watchlist(db, settings, recognizer, user)
    video = grace_video(tmp_path)
    file_camera(db, video)
    make_camera(db, "PEN-02")  # a force camera without a live source
    with pytest.raises(error, match=message):
        plan_deployment(
            db,
            user=user,
            plan=_plan(watchlist, video, **changes),
            sources=file_sources(tmp_path / "vigil-data"),
            now=NOW,
        )
    assert not db.query(Deployment).count()


def test_a_watchlist_serves_one_deployment_and_must_be_built_for_it(
    db: Session, settings: Settings, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    user = operator(db)
    watchlist = enrolled_watchlist(db, settings, recognizer, user)
    video = grace_video(tmp_path)
    planned_deployment(db, user, watchlist, video)
    with pytest.raises(Conflict, match="already belongs"):
        planned_deployment(db, user, watchlist, video, name="Second go")
    db.execute(select(Watchlist)).scalar_one().kind = "standing"
    with pytest.raises(InvalidInput, match="built for it"):
        plan_deployment(
            db, user=user, plan=_plan(watchlist, video), sources=file_sources(tmp_path / "vigil-data"), now=NOW
        )


def test_only_trained_live_fr_users_plan_and_refusals_are_audited(
    db: Session, settings: Settings, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    watchlist = enrolled_watchlist(db, settings, recognizer, operator(db))
    untrained = make_user(db, "uma", "operator")
    with pytest.raises(NotPermitted):
        plan = _plan(watchlist, grace_video(tmp_path))
        plan_deployment(db, user=untrained, plan=plan, sources=file_sources(tmp_path / "vigil-data"), now=NOW)
    refused = db.execute(select(AuditEntry).where(AuditEntry.actor == "uma")).scalars().all()
    assert [(e.action, e.outcome) for e in refused] == [("fr.deployment.plan", "refused")]


def test_live_alerts_are_decided_and_the_end_deletes_the_watchlist_embeddings(
    db: Session, settings: Settings, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    user = operator(db)
    deployment = planned_deployment(db, user, enrolled_watchlist(db, settings, recognizer, user), grace_video(tmp_path))
    with pytest.raises(InvalidInput, match="within its planned window"):
        start_deployment(db, user=user, deployment_id=deployment.id, now=NOW - timedelta(hours=2))
    live, vectors = start_deployment(db, user=user, deployment_id=deployment.id, now=NOW)
    assert live.status == "live" and len(vectors) == 1 and live.watchlist is not None and live.watchlist.frozen_at
    with pytest.raises(Conflict):
        start_deployment(db, user=user, deployment_id=deployment.id, now=NOW)

    matcher = LiveMatcher(recognizer=recognizer, watchlist=vectors, threshold=0.5)
    frame = np.full((600, 900, 3), 100, np.uint8)
    portrait = grace_hopper()[::2, ::2]
    frame[50 : 50 + portrait.shape[0], 200 : 200 + portrait.shape[1]] = portrait
    [match] = matcher.process(frame, 1.0).matches
    alert = record_alert(
        db, deployment_id=deployment.id, match=match, camera="east", data_dir=settings.data_dir, at=NOW
    )
    assert alert.subject_id is not None and (settings.data_dir / str(alert.crop_path)).is_file()
    with pytest.raises(InvalidInput, match="outcome must be one of"):
        decide_alert(db, user=user, alert_id=alert.id, outcome="arrested")
    decide_alert(db, user=user, alert_id=alert.id, outcome="engaged", note="Arrested on warrant", case_ref="CUM-2026-7")
    assert alert.case_id == db.execute(select(Case.id).where(Case.reference == "CUM-2026-7")).scalar_one()

    ended = end_deployment(
        db, actor=user.username, deployment_id=deployment.id, faces_seen=4, now=NOW + timedelta(hours=1)
    )
    assert ended.status == "ended" and ended.faces_seen == 4
    assert ended.watchlist is not None and all(e.embedding is None for e in ended.watchlist.entries)
    results = results_of(db, ended)
    assert (results.alerts, results.engaged, results.confirmed, results.pending) == (1, 1, 0, 0)
    assert results.outcomes == ("Arrested on warrant",)
    actions = [e.action for e in db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    for action in (
        "fr.deployment.plan",
        "fr.deployment.start",
        "fr.alert.raise",
        "fr.alert.decide",
        "fr.deployment.end",
    ):
        assert action in actions


def _alert(db: Session, deployment: Deployment, data_dir: Path, outcome: str) -> Alert:
    crop = Path("fr") / "alerts" / str(deployment.id) / f"{outcome}-{db.query(Alert).count()}.jpg"
    (data_dir / crop).parent.mkdir(parents=True, exist_ok=True)
    (data_dir / crop).write_bytes(b"\xff\xd8 a face crop")
    alert = Alert(deployment_id=deployment.id, score=0.7, at=NOW, camera="east", crop_path=str(crop), outcome=outcome)
    db.add(alert)
    db.flush()
    return alert


def test_alerts_go_24_hours_after_the_end_unless_linked_to_a_case_and_the_results_survive(
    db: Session, settings: Settings, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    user = operator(db)
    deployment = planned_deployment(db, user, enrolled_watchlist(db, settings, recognizer, user), grace_video(tmp_path))
    start_deployment(db, user=user, deployment_id=deployment.id, now=NOW)
    confirmed = _alert(db, deployment, settings.data_dir, "confirmed")
    dismissed = _alert(db, deployment, settings.data_dir, "dismissed")
    kept = _alert(db, deployment, settings.data_dir, "engaged")
    decide_alert(db, user=user, alert_id=kept.id, outcome="engaged", note="Arrest", case_ref="CUM-2026-9")
    end_deployment(db, actor="olive", deployment_id=deployment.id, now=NOW + timedelta(hours=6))
    db.commit()
    rule = LiveAlertRule(data_dir=settings.data_dir, hours=settings.retention.live_fr_alert_hours)

    run_retention(db, rules=[rule], data_dir=settings.data_dir, now=NOW + timedelta(hours=29))
    assert db.query(Alert).count() == 3, "not yet 24 hours after the end"
    run_retention(db, rules=[rule], data_dir=settings.data_dir, now=NOW + timedelta(hours=30, minutes=1))
    db.expire_all()
    assert [a.id for a in db.query(Alert)] == [kept.id]
    for gone in (confirmed, dismissed):
        assert not (settings.data_dir / str(gone.crop_path)).exists()
    assert (settings.data_dir / str(kept.crop_path)).exists()
    results = results_of(db, db.get(Deployment, deployment.id))  # type: ignore[arg-type]
    assert (results.alerts, results.confirmed, results.dismissed, results.engaged) == (3, 1, 1, 1)
    assert json.loads(db.get(Deployment, deployment.id).results)["alerts"] == 2  # type: ignore[union-attr]


def test_the_public_register_hides_sensitive_plans_but_reports_every_result(
    db: Session, settings: Settings, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    supervisor = operator(db, "sam", "supervisor")
    video = grace_video(tmp_path)
    open_plan = planned_deployment(db, supervisor, enrolled_watchlist(db, settings, recognizer, supervisor), video)
    from vigil.faces.watchlists import add_subjects, create_watchlist

    create_watchlist(db, user=supervisor, name="second", kind="deployment", now=NOW)
    add_subjects(db, user=supervisor, watchlist_name="second", subject_refs=["WARRANT-0042"], now=NOW)
    secret = planned_deployment(db, supervisor, "second", video, sensitive=True, name="Covert op")
    assert db.execute(select(AuditEntry).where(AuditEntry.action == "fr.deployment.sensitive")).scalar_one()
    register = public_register(db, now=NOW)
    assert [d.id for d in register.upcoming] == [open_plan.id]
    start_deployment(db, user=supervisor, deployment_id=secret.id, now=NOW)
    end_deployment(db, actor="sam", deployment_id=secret.id, faces_seen=12, now=NOW + timedelta(hours=1))
    register = public_register(db, now=NOW + timedelta(hours=2))
    assert [(d.id, r.faces_seen) for d, r in register.reported] == [(secret.id, 12)]


def test_results_are_due_five_working_days_after_the_end_and_supervisors_are_reminded(
    db: Session, settings: Settings, recognizer: FaceRecognizer, tmp_path: Path
) -> None:
    assert add_working_days(date(2026, 11, 20), 5) == date(2026, 11, 27)  # Friday -> next Friday
    assert add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)  # Monday -> next Monday
    supervisor = operator(db, "sam", "supervisor")
    deployment = planned_deployment(
        db, supervisor, enrolled_watchlist(db, settings, recognizer, supervisor), grace_video(tmp_path)
    )
    start_deployment(db, user=supervisor, deployment_id=deployment.id, now=NOW)
    _alert(db, deployment, settings.data_dir, "pending")
    end_deployment(db, actor="sam", deployment_id=deployment.id, now=NOW + timedelta(hours=1))
    assert results_reminders(db, user=supervisor, now=NOW + timedelta(days=1)) == []
    [reminder] = results_reminders(db, user=supervisor, now=NOW + timedelta(days=5))
    assert (reminder.due, reminder.pending) == (date(2026, 11, 27), 1)
    assert results_reminders(db, user=operator(db), now=NOW + timedelta(days=5)) == []
