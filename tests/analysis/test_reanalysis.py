"""A forced re-analysis never destroys evidence (issue 10, F2): it needs the analytics capability, a case and a
purpose; it is a new run; the earlier run's marked (and so exported) tracks keep their ids, flagged superseded."""

from __future__ import annotations

import functools
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.support.analysed import analysed_footage
from tests.support.builders import make_camera, make_user
from tests.support.scenes import BlobDetector, crossing_scene, write_video
from vigil.analysis.jobs import JobRunner, JobStatus, start_analysis
from vigil.analysis.pipeline import build_analyser, frames
from vigil.cli import app
from vigil.db.models import AnalysisJob, AuditEntry, Footage, ReviewMark, Track, User
from vigil.errors import Conflict, NotPermitted
from vigil.governance.audit import AuditContext
from vigil.governance.keys import secret_key
from vigil.search.export.service import create_export, export_candidates
from vigil.search.export.verify import verify_bundle
from vigil.search.query.service import run_search
from vigil.search.query.track_query import TrackQuery
from vigil.search.review.marks import mark_track
from vigil.settings import Settings

CASE_A = AuditContext(case_ref="CUM-2026-000777", purpose="identify the suspect of the market square assault")
CASE_B = AuditContext(case_ref="CUM-2026-000900", purpose="re-run analysis after the detector update for case B")


def _run(db: Session, settings: Settings, job_id: int) -> AnalysisJob:
    db.commit()
    connection = db.connection()

    def sessions() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    runner = JobRunner(
        sessions=sessions,
        data_dir=settings.data_dir,
        make_analyser=functools.partial(build_analyser, settings, detector=BlobDetector()),
        frames=frames,
        checkpoint_seconds=60.0,
    )
    job = runner.run(job_id)
    db.expire_all()
    return job


def _state(db: Session, footage: Footage) -> tuple[list[tuple[int, int, bool]], int, int]:
    tracks = db.execute(
        select(Track.id, Track.job_id, Track.superseded).where(Track.footage_id == footage.id).order_by(Track.id)
    ).all()
    jobs = db.execute(select(func.count(AnalysisJob.id)).where(AnalysisJob.footage_id == footage.id)).scalar_one()
    marks = db.execute(select(func.count(ReviewMark.id))).scalar_one()
    return [(int(i), int(j), bool(s)) for i, j, s in tracks], int(jobs), int(marks)


def test_a_forced_reanalysis_keeps_another_cases_confirmed_and_exported_track(db: Session, settings: Settings) -> None:
    ivy = make_user(db, "ivy", trained_for=("analytics", "export"), cases=(CASE_A.case_ref,))
    make_camera(db, "PEN-01", pia_review=date.today() + timedelta(days=200))
    footage = analysed_footage(db, settings, user=ivy)
    first_job = db.execute(select(AnalysisJob.id).where(AnalysisJob.footage_id == footage.id)).scalar_one()
    confirmed, rejected = db.execute(select(Track).where(Track.footage_id == footage.id).order_by(Track.id)).scalars()
    confirmed_id, rejected_id, confirmed_no = confirmed.id, rejected.id, confirmed.track_no
    mark_track(db=db, user=ivy, context=CASE_A, track_id=confirmed_id, verdict="confirmed", note="matches CAD 12")
    export = create_export(db=db, user=ivy, context=CASE_A, settings=settings)
    bundle = settings.data_dir / export.stored_path
    db.commit()
    before = _state(db, footage)

    # An operator with analytics training but no case and purpose: refused, audited, nothing changed.
    otto = make_user(db, "otto", "operator", trained_for=("analytics",))
    with pytest.raises(NotPermitted, match="purpose and case"):
        start_analysis(db, user=otto, footage=footage, force=True)
    db.rollback()
    assert _state(db, footage) == before
    refused = db.execute(select(AuditEntry).where(AuditEntry.actor == "otto")).scalars().all()
    assert [(e.action, e.outcome) for e in refused] == [("analysis.reanalyse", "refused")]
    # Someone without analytics at all is refused even with a case and purpose.
    ned = make_user(db, "ned", cases=(CASE_B.case_ref,))
    with pytest.raises(NotPermitted, match="training"):
        start_analysis(db, user=ned, footage=footage, force=True, context=CASE_B)
    db.rollback()
    assert _state(db, footage) == before

    # An authorised user re-analyses for case B with a purpose: a new run.
    sue = make_user(db, "sue", "supervisor", trained_for=("analytics",), cases=(CASE_B.case_ref,))
    job = start_analysis(db, user=sue, footage=footage, force=True, context=CASE_B)
    assert job.id != first_job
    assert _run(db, settings, job.id).status == JobStatus.DONE

    kept = db.get(Track, confirmed_id)
    assert kept is not None and kept.superseded and kept.job_id == first_job and kept.track_no == confirmed_no
    old = db.get(Track, rejected_id)
    assert old is not None and old.superseded and old.job_id == first_job, "no id is freed for reuse"
    assert kept.thumbnail_path and (settings.data_dir / kept.thumbnail_path).is_file()
    current = db.execute(select(Track).where(Track.job_id == job.id)).scalars().all()
    assert len(current) == 2 and not any(t.superseded for t in current)
    assert min(t.id for t in current) > rejected_id, "the new run's tracks get new ids"
    assert {t.track_no for t in current} >= {confirmed_no}, "track numbers restart per run without a clash"
    assert kept.thumbnail_path not in {t.thumbnail_path for t in current}
    mark = db.execute(select(ReviewMark).where(ReviewMark.track_id == confirmed_id)).scalar_one()
    assert mark.verdict == "confirmed" and mark.note == "matches CAD 12"

    # Case A's export still lists the track and its bundle still verifies; a new export still carries it.
    assert [t.id for t in export_candidates(db, user=ivy, context=CASE_A).tracks] == [confirmed_id]
    assert verify_bundle(bundle, secret=secret_key(settings)).ok
    again = create_export(db=db, user=ivy, context=CASE_A, settings=settings)
    assert verify_bundle(settings.data_dir / again.stored_path, secret=secret_key(settings)).ok
    assert again.track_count == 1

    # Searches show the current run by default; the kept track is still reachable by its id.
    found = run_search(db=db, user=ivy, context=CASE_A, query=TrackQuery(cameras=["PEN-01"]))
    assert sorted(card.track_id for card in found.cards) == sorted(t.id for t in current)
    by_id = run_search(db=db, user=ivy, context=CASE_A, query=TrackQuery(track_ids=[confirmed_id]))
    assert [card.track_id for card in by_id.cards] == [confirmed_id]

    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "analysis.reanalyse")).scalars().all()[-1]
    assert entry.actor == "sue" and entry.case_ref == CASE_B.case_ref and entry.outcome == "ok"
    expected = {"tracks_superseded": 2, "tracks_with_marks": 1, "superseded_job": first_job}
    assert expected.items() <= json.loads(entry.details).items()

    # A second re-analysis keeps the same evidence again.
    job3 = start_analysis(db, user=sue, footage=footage, force=True, context=CASE_B)
    assert _run(db, settings, job3.id).status == JobStatus.DONE
    assert db.get(Track, confirmed_id) is not None
    assert [t.id for t in export_candidates(db, user=ivy, context=CASE_A).tracks] == [confirmed_id]


def test_a_reanalysis_waits_for_an_unfinished_run(db: Session, settings: Settings) -> None:
    sue = make_user(db, "sue", "supervisor", trained_for=("analytics",), cases=(CASE_B.case_ref,))
    make_camera(db, "PEN-01", pia_review=date.today() + timedelta(days=200))
    footage = analysed_footage(db, settings, user=sue)
    db.execute(select(AnalysisJob).where(AnalysisJob.footage_id == footage.id)).scalar_one().status = "running"
    before = _state(db, footage)
    with pytest.raises(Conflict, match="has not finished"):
        start_analysis(db, user=sue, footage=footage, force=True, context=CASE_B)
    db.rollback()
    assert _state(db, footage)[1:] == before[1:]


def test_vigil_analyse_force_needs_a_case_and_purpose(tmp_path: Path) -> None:
    from tests.support.analysis_cli import pets_cli_environment, set_up_pets_camera

    env = pets_cli_environment(tmp_path / "data")
    env["VIGIL_ANALYSIS__CHECKPOINT_SECONDS"] = "10"
    set_up_pets_camera(env)
    video = write_video(crossing_scene(30), tmp_path / "scene.mp4")
    runner = CliRunner()
    args = ["analyse", str(video), "--camera", "PETS-01", "--as", "ivy", "--start", "2024-05-01T14:00:00Z"]
    assert runner.invoke(app, [*args, "--json"], env=env).exit_code == 0
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0 and "--force --case C --purpose P" in again.output
    refused = runner.invoke(app, [*args, "--force"], env=env)
    assert refused.exit_code == 2 and "purpose and case reference are required" in refused.output

    def jobs() -> list[tuple[int, str | None]]:
        with sqlite3.connect(tmp_path / "data" / "vigil.db") as connection:
            return connection.execute("SELECT id, superseded_at FROM analysis_jobs ORDER BY id").fetchall()

    assert [job_id for job_id, _ in jobs()] == [1], "the refused re-analysis changed nothing"
    for step in (
        ["case", "open", "CUM-2026-000900", "--title", "Detector update"],
        ["case", "add-member", "CUM-2026-000900", "ivy"],
    ):
        assert runner.invoke(app, [*step, "--as", "tess"], env=env).exit_code == 0
    context = ["--case", "CUM-2026-000900", "--purpose", "re-run after the detector update"]
    done = runner.invoke(app, [*args, "--force", *context, "--json"], env=env)
    assert done.exit_code == 0, done.output
    (first, superseded), (second, current) = jobs()
    assert (first, second) == (1, 2) and superseded is not None and current is None


def test_the_web_route_refuses_a_forced_reanalysis_without_case_and_purpose(tmp_path: Path) -> None:
    from tests.support.builders import PASSWORD
    from tests.support.webapp import csrf_of, log_in, notices, seed
    from tests.web.conftest import client_for

    with client_for(tmp_path) as client:
        settings = client.app.state.system.settings  # type: ignore[attr-defined]

        def build(db: Session) -> int:
            ivy = make_user(db, "ivy", trained_for=("analytics", "export"), cases=(CASE_A.case_ref,))
            make_user(db, "otto", "operator", trained_for=("analytics",), cases=(CASE_B.case_ref,))
            make_camera(db, "PEN-01", pia_review=date.today() + timedelta(days=200))
            footage = analysed_footage(db, settings, user=ivy)
            track = db.execute(select(Track.id).where(Track.footage_id == footage.id)).scalars().first()
            assert track is not None
            mark_track(db=db, user=ivy, context=CASE_A, track_id=track, verdict="confirmed", note="matches CAD 12")
            create_export(db=db, user=ivy, context=CASE_A, settings=settings)
            return track

        track_id = seed(client.app, build)  # type: ignore[arg-type]

        def state() -> tuple[list[tuple[int, int, bool]], int, int]:
            with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
                footage = db.get(Footage, 1)
                assert footage is not None
                return _state(db, footage)

        before = state()
        assert log_in(client, "otto", PASSWORD) == "/"
        csrf = csrf_of(client.get("/footage").text)
        refused = client.post("/footage/1/analyse", data={"csrf_token": csrf, "force": "1"})
        assert any("purpose and case reference are required" in n for n in notices(refused.text))
        assert state() == before
        data = {"csrf_token": csrf, "force": "1", "case": CASE_B.case_ref, "purpose": CASE_B.purpose}
        started = client.post("/footage/1/analyse", data=data)
        assert "Analysis of footage 1 started." in notices(started.text)
        tracks, jobs, marks = state()
        assert jobs == 2 and marks == before[2] and (track_id, 1, True) in tracks
        with client.app.state.system.sessions() as db:  # type: ignore[attr-defined]
            ivy = db.execute(select(User).where(User.username == "ivy")).scalar_one()
            assert [t.id for t in export_candidates(db, user=ivy, context=CASE_A).tracks] == [track_id]
