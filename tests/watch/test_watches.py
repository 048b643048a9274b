"""Appearance and similar-appearance watches: live rules that are searches, run over the stored live tracks.

Live-like tracks are written by the real live track store (provisional rows replaced at each refresh, then the
final row), and the real evaluator pass raises the alerts: a matching track alerts once, however often it is
rewritten, and a non-matching one never. Attacks are replayed against the real service: refused, audited where
it matters, and nothing stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import make_camera, make_case, make_user
from tests.support.rtsp import free_port, wait_for
from tests.support.scenes import BlobDetector, crossing_scene
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, Case, Footage, Track
from vigil.db.rule_models import LiveRule, LiveRuleAlert
from vigil.db.session import session_scope
from vigil.domain.tracks import FinishedTrack, TrackObservations, TrackSummary
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.users import get_user
from vigil.live.rules.service import active_specs
from vigil.live.tracks import LiveTrackStore, OpenSegment
from vigil.system import System, open_system, prepare
from vigil.watch.evaluator import run_pass, similarity
from vigil.watch.runner import WatchRunner
from vigil.watch.service import PhotoInput, create_watch, parse_watch

CASE, OTHER = "CUM-2026-000810", "CUM-2026-000820"
PURPOSE = "watch the square for the reported robber in a red top"
LONDON = ZoneInfo("Europe/London")


def vector(seed: int, *, near: np.ndarray | None = None, noise: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=128) if near is None else near + noise * rng.normal(size=128)
    return np.asarray(base / np.linalg.norm(base), dtype=np.float32)


def person(track_no: int, *, start: float, top: str, carried: tuple[str, ...] = (), look: np.ndarray) -> FinishedTrack:
    t = np.array([start, start + 0.2, start + 0.4])
    boxes = np.array([[10, 20, 30, 80], [12, 20, 32, 80], [14, 20, 34, 80]], dtype=np.float32)
    observations = TrackObservations(np.arange(3, dtype=np.int64), t, boxes, np.full(3, 0.9, dtype=np.float32))
    summary = TrackSummary(
        class_name="person",
        upper_colours=(top,),
        carried=carried,
        height_px=60.0,
        path=((start, 20.0, 80.0), (start + 0.4, 24.0, 80.0)),
        appearance=look,
        thumbnail=np.full((60, 20, 3), 128, dtype=np.uint8),
    )
    return FinishedTrack(track_no, observations, summary)


def build(tmp_path: Path) -> tuple[System, LiveTrackStore]:
    system = open_system(make_settings(tmp_path / "data"))
    prepare(system)
    with session_scope(system.sessions) as db:
        make_user(db, "recorder", "operator", trained_for=("analytics",))
        olive = make_user(db, "olive", "operator", trained_for=("analytics",))
        ollie = make_user(db, "ollie", "operator", trained_for=("analytics",))
        una = make_user(db, "una", "operator")  # not trained
        make_case(db, CASE, members=[olive, una])
        make_case(db, OTHER, members=[ollie])
        make_camera(db, "CAM-T", pia_review=date.today() + timedelta(days=100))
    store = LiveTrackStore("CAM-T", "recorder", {}, system.settings.data_dir, LONDON, scale=1.0)
    return system, store


def watch(db: Session, user: str, **fields: object) -> LiveRule:
    data = {"name": "Robber", "kind": "appearance_watch", "cameras": ["CAM-T"], "days": 3} | fields
    return create_watch(
        db=db, user=get_user(db, user), request=parse_watch(data), case=CASE, purpose=PURPOSE, zone=LONDON
    )


def alerts(system: System) -> list[LiveRuleAlert]:
    with session_scope(system.sessions) as db:
        return list(db.execute(select(LiveRuleAlert).order_by(LiveRuleAlert.id)).scalars())


def count(db: Session, table: type[LiveRule] | type[LiveRuleAlert]) -> int:
    return db.execute(select(func.count()).select_from(table)).scalar_one()


def test_similarity_is_the_cosine_and_unusable_vectors_never_match() -> None:
    example = vector(1)
    assert similarity(example, example * 3) == pytest.approx(1.0, abs=1e-6)
    assert similarity(example, -example) == pytest.approx(-1.0, abs=1e-6)
    assert similarity(example, None) is None
    assert similarity(example, np.zeros(128, dtype=np.float32)) is None
    assert similarity(example, np.ones(64, dtype=np.float32)) is None


def test_an_appearance_watch_alerts_once_for_a_matching_live_track_and_never_for_another(tmp_path: Path) -> None:
    system, store = build(tmp_path)
    with session_scope(system.sessions) as db:
        rule = watch(db, "olive", description="red top and a backpack")
        rule_id = rule.id
        assert active_specs(db, camera_code="CAM-T", now=utcnow(), zone="UTC") == []  # not for the camera worker
    origin = utcnow()
    segment = OpenSegment(origin, 960, 720, 25.0, "h264")
    red = person(1, start=1.0, top="red", carried=("backpack",), look=vector(1))
    blue = person(2, start=1.5, top="blue", carried=("backpack",), look=vector(2))
    with session_scope(system.sessions) as db:
        store.write(db, origin=origin, final=[], provisional=[red, blue], segment=segment)
    assert run_pass(system.sessions, data_dir=system.settings.data_dir) == 1
    for final in ([], [red, blue]):  # rewritten at the next refresh, then written final: the same track
        with session_scope(system.sessions) as db:
            store.write(db, origin=origin, final=final, provisional=[] if final else [red, blue], segment=segment)
        assert run_pass(system.sessions, data_dir=system.settings.data_dir) == 0
    [alert] = alerts(system)
    with session_scope(system.sessions) as db:
        track = db.get(Track, alert.track_id)
        assert alert.rule_id == rule_id and alert.camera_code == "CAM-T" and alert.clip_state == "pending"
        assert track is None or track.upper_colours.startswith("red")  # the provisional row may be replaced
        assert alert.at == origin + timedelta(seconds=1.0) and "red top and a backpack" in alert.summary
        assert alert.snapshot_path and (system.settings.data_dir / alert.snapshot_path).is_file()
        searches = db.execute(select(AuditEntry).where(AuditEntry.action == "search.run")).scalars().all()
        assert [(e.actor, e.case_ref) for e in searches] == [("olive", CASE), ("system", CASE)]  # created, fired
        assert json.loads(searches[1].details)["watch"] == rule_id


def test_a_similar_appearance_watch_alerts_above_its_threshold_only(tmp_path: Path) -> None:
    system, store = build(tmp_path)
    look = vector(5)
    earlier = utcnow() - timedelta(minutes=10)
    with session_scope(system.sessions) as db:
        store.write(
            db,
            origin=earlier,
            final=[person(1, start=1.0, top="red", look=look)],
            provisional=[],
            segment=OpenSegment(earlier, 960, 720, 25.0, "h264"),
        )
        example = db.execute(select(Track)).scalar_one().id
        rule_id = watch(db, "olive", kind="similar_watch", track=example, threshold=0.8).id
    origin = utcnow()
    alike = person(2, start=1.0, top="grey", look=vector(6, near=look, noise=0.02))
    other = person(3, start=2.0, top="red", look=vector(7))
    with session_scope(system.sessions) as db:
        store.write(
            db, origin=origin, final=[], provisional=[alike, other], segment=OpenSegment(origin, 960, 720, 25.0, "h264")
        )
    assert run_pass(system.sessions, data_dir=system.settings.data_dir) == 1
    assert run_pass(system.sessions, data_dir=system.settings.data_dir) == 0
    [alert] = alerts(system)
    assert alert.rule_id == rule_id and alert.at == origin + timedelta(seconds=1.0)
    with session_scope(system.sessions) as db:
        fired = db.execute(select(AuditEntry).where(AuditEntry.action == "search.similar")).scalars().all()
        assert [(e.actor, json.loads(e.details)["track"]) for e in fired] == [("olive", example), ("system", example)]


def test_another_cases_track_as_example_is_refused_audited_and_nothing_is_stored(tmp_path: Path) -> None:
    system, store = build(tmp_path)
    origin = utcnow()
    with session_scope(system.sessions) as db:
        store.write(
            db,
            origin=origin,
            final=[person(1, start=1.0, top="red", look=vector(1))],
            provisional=[],
            segment=OpenSegment(origin, 960, 720, 25.0, "h264"),
        )
        track = db.execute(select(Track)).scalar_one()
        footage = db.get(Footage, track.footage_id)
        assert footage is not None
        footage.case_id = db.execute(select(Case.id).where(Case.reference == OTHER)).scalar_one()
        example = track.id
    with session_scope(system.sessions) as db, pytest.raises(NotPermitted, match="held for another case"):
        watch(db, "olive", kind="similar_watch", track=example)
    with session_scope(system.sessions) as db:
        assert count(db, LiveRule) == 0
        refused = db.execute(select(AuditEntry).where(AuditEntry.outcome == "refused")).scalars().all()
        assert [(e.actor, e.action, e.case_ref) for e in refused] == [("olive", "live_rule.create", CASE)]


def test_an_untrained_user_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    system, _store = build(tmp_path)
    with session_scope(system.sessions) as db, pytest.raises(NotPermitted, match="no current training"):
        watch(db, "una", description="red top")
    with session_scope(system.sessions) as db:
        assert count(db, LiveRule) == 0
        refused = db.execute(select(AuditEntry).where(AuditEntry.outcome == "refused")).scalars().all()
        assert [(e.actor, e.action) for e in refused] == [("una", "live_rule.create")]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": "xyzzy plugh frobnicate"}, "found nothing to look for"),
        ({"description": "   "}, "needs a description"),
        ({"description": "red top yesterday"}, "leave the date out"),
        ({"kind": "similar_watch"}, "needs an example: a track number or a photo"),
        ({"description": "red top", "days": 40}, "within 31 days"),
        ({"description": "red top", "cameras": []}, "at least 1"),
    ],
)
def test_a_watch_that_says_nothing_usable_is_refused_clearly_and_nothing_is_stored(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    system, _store = build(tmp_path)
    with session_scope(system.sessions) as db, pytest.raises(InvalidInput, match=message):
        watch(db, "olive", **fields)
    with session_scope(system.sessions) as db:
        assert count(db, LiveRule) == 0 and count(db, LiveRuleAlert) == 0


def test_a_similar_appearance_watch_from_a_photo_keeps_only_its_hash_and_alerts_on_a_look_alike(
    tmp_path: Path,
) -> None:
    system, store = build(tmp_path)
    shot = next(s for s in crossing_scene(60) if s.boxes[0] is not None and s.boxes[1] is None)
    x0, y0, x1, y1 = (round(v) for v in shot.boxes[0])  # the red-topped figure, alone in view
    photo = cv2.imencode(".png", shot.frame.image[max(0, y0 - 15) : y1 + 15, max(0, x0 - 15) : x1 + 15])[1].tobytes()
    sha256 = hashlib.sha256(photo).hexdigest()
    with session_scope(system.sessions) as db:
        data = {"name": "Photo", "kind": "similar_watch", "cameras": ["CAM-T"], "threshold": 0.9, "days": 1}
        rule = create_watch(
            db=db,
            user=get_user(db, "olive"),
            request=parse_watch(data),
            case=CASE,
            purpose=PURPOSE,
            zone=LONDON,
            photo=PhotoInput(photo, BlobDetector()),
        )
        params = json.loads(rule.params)
        assert (params["photo"], params["class"], params["track"]) == (sha256, "person", None)
    example = np.frombuffer(base64.b64decode(params["vector"]), dtype="<f4")
    origin = utcnow()
    alike = person(1, start=1.0, top="red", look=vector(8, near=example, noise=0.01))
    other = person(2, start=2.0, top="red", look=vector(9))
    with session_scope(system.sessions) as db:
        store.write(
            db, origin=origin, final=[], provisional=[alike, other], segment=OpenSegment(origin, 960, 720, 25.0, "h264")
        )
    assert run_pass(system.sessions, data_dir=system.settings.data_dir) == 1
    [alert] = alerts(system)
    assert alert.at == origin + timedelta(seconds=1.0) and "looks like the photo" in alert.summary
    with session_scope(system.sessions) as db:
        fired = db.execute(select(AuditEntry).where(AuditEntry.action == "search.similar")).scalars().all()
        assert [(e.actor, json.loads(e.details)["sha256"]) for e in fired] == [("olive", sha256), ("system", sha256)]


def write_red_person(system: System, store: LiveTrackStore) -> None:
    origin = utcnow()
    with session_scope(system.sessions) as db:
        store.write(db, origin=origin, final=[], provisional=[person(1, start=1.0, top="red", look=vector(1))],
                    segment=OpenSegment(origin, 960, 720, 25.0, "h264"))  # fmt: skip


def test_the_watches_run_with_the_live_cameras_not_with_a_web_app_that_leaves_them_to_another_process(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from vigil.web.app import create_app

    system, store = build(tmp_path)
    [runner] = system.live.companions
    assert isinstance(runner, WatchRunner)
    with session_scope(system.sessions) as db:
        watch(db, "olive", description="red top")
    with TestClient(create_app(system.settings, system=system)):  # live cameras off: `vigil live run` has them
        assert not runner.running
    system.live.start()
    assert runner.running
    system.live.start()  # a second start runs no second pass alongside
    write_red_person(system, store)
    wait_for(lambda: len(alerts(system)) == 1, timeout=30, what="the watch's alert")
    system.live.stop()
    assert not runner.running
    assert len(alerts(system)) == 1


def test_vigil_live_run_as_its_own_process_runs_the_watches(tmp_path: Path) -> None:
    system, store = build(tmp_path)
    with session_scope(system.sessions) as db:
        watch(db, "olive", description="red top")
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(system.settings.data_dir),
        "VIGIL_SECRET_KEY": "test-secret-key-0123456789",
        # The camera is unreachable (it reconnects meanwhile) and records nothing: the watches run regardless.
        "VIGIL_LIVE__CAMERAS": json.dumps(
            [{"code": "CAM-T", "url": f"rtsp://127.0.0.1:{free_port()}/x", "recording": "off", "analysis": False}]
        ),
    }
    run = subprocess.Popen([sys.executable, "-m", "vigil.cli", "live", "run"], env=env, stderr=subprocess.PIPE)
    try:
        write_red_person(system, store)
        wait_for(lambda: len(alerts(system)) == 1, timeout=90, what="the alert raised by `vigil live run`")
        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.kill()
    [alert] = alerts(system)
    assert alert.camera_code == "CAM-T" and "red top" in alert.summary
    with session_scope(system.sessions) as db:
        fired = db.execute(select(AuditEntry).where(AuditEntry.action == "search.run", AuditEntry.actor == "system"))
        assert len(fired.scalars().all()) == 1  # the firing is audited as the search it is


def test_candidates_are_matched_in_chunks_and_every_match_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil.watch import evaluator

    monkeypatch.setattr(evaluator, "CHUNK", 1)
    system, store = build(tmp_path)
    with session_scope(system.sessions) as db:
        watch(db, "olive", description="red top")
    origin = utcnow()
    people = [person(n, start=float(n), top=top, look=vector(n)) for n, top in ((1, "red"), (2, "blue"), (3, "red"))]
    with session_scope(system.sessions) as db:
        store.write(
            db, origin=origin, final=[], provisional=people, segment=OpenSegment(origin, 960, 720, 25.0, "h264")
        )
    assert run_pass(system.sessions, data_dir=system.settings.data_dir) == 2
    assert sorted(a.at for a in alerts(system)) == [origin + timedelta(seconds=1), origin + timedelta(seconds=3)]
