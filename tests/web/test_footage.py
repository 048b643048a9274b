"""The footage pages: upload streamed to disk, analysis run by a real executor, tracks and video as audited views."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.footage.builders import damaged_header_avi, make_video, truncate, zipped_video
from tests.support.builders import PASSWORD, make_user
from tests.support.footage_web import (
    CASE,
    PURPOSE,
    entries,
    footage_client,
    footage_rows,
    put_upload,
    signed_in,
    small_video,
    stored_files,
    wait_for_job,
)
from tests.support.webapp import TestClient, log_in, page_csrf, seed
from vigil.analysis.liveness import process_identity
from vigil.analysis.store import store_tracks
from vigil.analysis.worker import ThreadExecutor
from vigil.db.base import utcnow
from vigil.db.models import AnalysisJob, CustodyEvent, Footage, Track, User
from vigil.domain.tracks import FinishedTrack, TrackObservations, TrackSummary
from vigil.web.app import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with footage_client(tmp_path) as test_client:
        yield test_client


def test_upload_is_stored_with_custody_and_audit_and_analysed_by_a_real_executor(
    client: TestClient, tmp_path: Path
) -> None:
    signed_in(client)
    video = small_video(tmp_path)
    reply = put_upload(client, video, start="2026-03-01T14:05:00", case=CASE)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["duplicate"] is False and data["analysis_refused"] is None
    assert "market-square.mp4 stored as footage 1 (64×48, 2.0 s, camera PEN-01)" in data["message"]
    [footage] = footage_rows(client)
    assert footage.sha256 == hashlib.sha256(video).hexdigest() and footage.size_bytes == len(video)
    assert footage.start_time.isoformat() == "2026-03-01T14:05:00+00:00"  # local force time: GMT on 1 March
    assert footage.start_time_source == "operator" and footage.source == "web upload"
    assert stored_files(client) == [client.app.state.system.settings.data_dir / footage.stored_path]  # type: ignore[attr-defined]
    custody = seed(client.app, lambda db: db.execute(select(CustodyEvent)).scalars().one())  # type: ignore[arg-type]
    assert (custody.action, custody.actor, custody.sha256) == ("ingested", "ivy", footage.sha256)
    job = wait_for_job(client, data["analysis"]["id"])
    assert job["status"] == "done", job["error"]
    assert job["progress_frames"] == job["total_frames"] == 20 and job["percent"] == 100
    actions = [(e.actor, e.action, e.outcome) for e in entries(client, action_prefix="") if e.subject_type == "footage"]
    assert actions == [
        ("ivy", "footage.ingest", "ok"),
        ("ivy", "analysis.start", "ok"),
        ("system", "analysis.run", "ok"),
        ("system", "analysis.complete", "ok"),
    ]
    page = client.get("/footage").text
    assert "market-square.mp4" in page and "analysed" in page and footage.sha256[:12] in page
    again = put_upload(client, video).json()
    assert again["duplicate"] is True and "already ingested as footage 1" in again["warnings"][0]
    assert again["analysis"]["status"] == "done" and len(footage_rows(client)) == 1


@pytest.mark.parametrize(
    ("body", "params", "status", "message"),
    [
        ("text", {}, 422, "not a video"),
        ("truncated", {}, 422, "market-square.mp4"),
        ("empty", {}, 422, "is empty"),
        ("video", {"camera": "NOPE-9"}, 404, "no camera with code 'NOPE-9'"),
        ("video", {"camera": ""}, 422, "choose the camera"),
        ("video", {"start": "yesterday"}, 422, "Recording start must be a date"),
        ("video", {"start": "2999-01-01T00:00"}, 422, "the start time is in the future"),
        ("video", {"case": "../etc"}, 422, "case reference must be"),
        ("video", {"start": "0001-01-01T00:00"}, 422, "before 1990"),
        ("damaged-avi", {"name": "cam1.avi"}, 422, "'cam1.avi' has no video container that vigil can read"),
        ("zip", {"name": "export.zip"}, 422, "'export.zip' is a ZIP archive, not a video"),
    ],
    ids=[
        "text",
        "truncated",
        "empty",
        "unknown-camera",
        "no-camera",
        "bad-start",
        "future-start",
        "bad-case",
        "year-one-start",
        "damaged-avi",
        "zip",
    ],
)
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_is_stored(
    client: TestClient, tmp_path: Path, body: str, params: dict[str, str], status: int, message: str
) -> None:
    signed_in(client)
    video = make_video(tmp_path / "clip.mp4", size=(64, 48), seconds=2)
    content = {
        "text": b"Statement of PC 1234: at 14:05 I saw...\n" * 50,
        "truncated": truncate(video, tmp_path / "cut.mp4", 0.4).read_bytes(),
        "empty": b"",
        "video": video.read_bytes(),
        "damaged-avi": damaged_header_avi(tmp_path / "cam1.avi").read_bytes() if body == "damaged-avi" else b"",
        "zip": zipped_video(tmp_path / "export.zip").read_bytes() if body == "zip" else b"",
    }[body]
    reply = put_upload(client, content, **params)
    assert reply.status_code == status
    assert message in reply.json()["detail"]
    assert footage_rows(client) == [] and stored_files(client) == []


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_kept(tmp_path: Path, streamed: bool) -> None:
    with footage_client(tmp_path, web={"max_upload_mb": 1}) as client:
        signed_in(client)
        big = b"\0" * (1024 * 1024 + 1)
        body: bytes | Iterator[bytes] = iter([big[:65536]] * 17) if streamed else big
        reply = put_upload(client, body)
        assert reply.status_code == 413
        assert reply.json() == {"detail": "the file is larger than the 1 MiB limit for uploads"}
        assert footage_rows(client) == [] and stored_files(client) == []


def test_users_without_analytics_training_are_refused_and_the_refusal_is_audited(
    client: TestClient, tmp_path: Path
) -> None:
    signed_in(client, "ned")
    assert 'href="/footage"' in client.get("/").text  # the role may analyse once trained
    page = client.get("/footage")
    assert page.status_code == 403 and "no current training record for analytics (searching footage)" in page.text
    reply = put_upload(client, small_video(tmp_path))
    assert reply.status_code == 403 and "no current training record" in reply.json()["detail"]
    refused = [(e.action, e.outcome) for e in entries(client, actor="ned", action_prefix="footage.")]
    assert refused == [("footage.list", "refused"), ("footage.ingest", "refused")]
    assert footage_rows(client) == []


def test_administrators_have_no_footage_link(client: TestClient) -> None:
    seed(client.app, lambda db: make_user(db, "ada", "admin"))  # type: ignore[arg-type]
    assert log_in(client, "ada", PASSWORD) == "/"
    assert 'href="/footage"' not in client.get("/").text
    assert client.get("/footage").status_code == 403


def test_footage_from_a_camera_without_a_pia_is_kept_but_not_analysed(client: TestClient, tmp_path: Path) -> None:
    signed_in(client)
    data = put_upload(client, small_video(tmp_path), camera="KES-02").json()
    assert data["analysis"] is None and data["footage_id"] == 1
    assert data["analysis_refused"].startswith(
        "Analysis refused: camera KES-02 at 'Site of KES-02' has no current Privacy Impact Assessment"
    )
    assert [e.outcome for e in entries(client, action_prefix="analysis.start")] == ["refused"]
    assert len(footage_rows(client)) == 1
    page = client.get("/footage").text
    assert "no current PIA" in page and "cannot be analysed until an administrator records one" in page


def make_finished_track(no: int, class_name: str, start_s: float, **attributes: Any) -> FinishedTrack:
    """A track as the pipeline finishes it: three observations a second apart and a thumbnail."""
    frames = np.array([0, 10, 20], dtype=np.int64) + round(start_s * 10)
    boxes = np.array([[10, 5, 20, 40], [14, 5, 24, 40], [18, 5, 28, 40]], dtype=np.float32)
    observations = TrackObservations(frames, frames / 10.0, boxes, np.full(3, 0.8, dtype=np.float32))
    thumbnail = np.full((35, 10, 3), (40, 40, 200), dtype=np.uint8)
    summary = TrackSummary(
        class_name=class_name,
        thumbnail=thumbnail,
        height_px=35.0,
        speed_px_s=4.0,
        heading="right",
        score=0.8,
        **attributes,
    )
    return FinishedTrack(no, observations, summary)


def analysed_footage(client: TestClient, tmp_path: Path) -> Footage:
    """Footage 1, analysed, with a person and a bicycle track stored as the job runner stores them."""
    signed_in(client)
    job = wait_for_job(client, put_upload(client, small_video(tmp_path)).json()["analysis"]["id"])
    settings = client.app.state.system.settings  # type: ignore[attr-defined]

    def add_tracks(db: Session) -> Footage:
        footage = db.get(Footage, 1)
        assert footage is not None
        person = make_finished_track(
            1, "person", 0.0, upper_colours=("red",), lower_colours=("blue", "black"), carried=("backpack",)
        )
        bicycle = make_finished_track(2, "bicycle", 0.5, body_colours=("green",))
        store_tracks(db, footage=footage, job_id=job["id"], tracks=[person, bicycle], data_dir=settings.data_dir)
        return footage

    return seed(client.app, add_tracks)  # type: ignore[arg-type]


def state_context(client: TestClient, detour: httpx.Response) -> httpx.Response:
    assert detour.status_code == 303 and urlsplit(detour.headers["location"]).path == "/context"
    next_url = parse_qs(urlsplit(detour.headers["location"]).query)["next"][0]
    return client.post(
        "/context",
        data={"case_ref": CASE, "purpose": PURPOSE, "next": next_url, "csrf_token": page_csrf(client, "/context")},
    )


def test_the_tracks_page_needs_a_case_and_purpose_and_is_audited_with_them(client: TestClient, tmp_path: Path) -> None:
    analysed_footage(client, tmp_path)
    page = state_context(client, client.get("/footage/1/tracks", follow_redirects=False))
    assert page.status_code == 200 and page.url.path == "/footage/1/tracks"
    html = page.text
    assert "2 tracks" in html and html.count('class="track-card"') == 2
    assert 'class="chip chip-red">red<' in html and 'class="chip chip-green">green<' in html and "backpack" in html
    [view] = entries(client, action_prefix="tracks.view")
    assert (view.actor, view.case_ref, view.purpose, view.subject_id) == ("ivy", CASE, PURPOSE, "1")
    only_people = client.get("/footage/1/tracks", params={"class": "person"}).text
    assert only_people.count('class="track-card"') == 1 and "1 track of class person" in only_people
    thumbnail = client.get("/footage/1/tracks/1/thumbnail", params={"case": CASE})
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
    assert len(entries(client, action_prefix="tracks.view")) == 2  # the pages, not the thumbnails
    assert client.get("/footage/1/tracks/9/thumbnail", params={"case": CASE}).status_code == 404
    seed(client.app, lambda db: db.execute(update(Track).values(thumbnail_path="../../../etc/passwd")))  # type: ignore[arg-type]
    assert client.get("/footage/1/tracks/1/thumbnail", params={"case": CASE}).status_code == 404


def test_a_footage_with_many_tracks_lists_them_a_page_at_a_time(client: TestClient, tmp_path: Path) -> None:
    footage = analysed_footage(client, tmp_path)
    settings = client.app.state.system.settings  # type: ignore[attr-defined]
    more = [make_finished_track(no, "person", no * 0.1) for no in range(3, 131)]  # 130 tracks, 129 people
    seed(
        client.app,
        lambda db: store_tracks(
            db, footage=db.get(Footage, footage.id), job_id=1, tracks=more, data_dir=settings.data_dir
        ),
    )  # type: ignore[arg-type]
    first = state_context(client, client.get("/footage/1/tracks", follow_redirects=False)).text
    assert "130 tracks" in first and "1-60 shown" in first and first.count('class="track-card"') == 60
    assert "Page 1 of 3" in first and f'href="/footage/1/tracks?case={CASE}&amp;page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    last = client.get("/footage/1/tracks", params={"case": CASE, "page": 3}).text
    assert last.count('class="track-card"') == 10 and "121-130 shown" in last and 'rel="next"' not in last
    people = client.get("/footage/1/tracks", params={"case": CASE, "class": "person", "page": 2}).text
    assert "129 tracks of class person" in people and f"case={CASE}&amp;class=person&amp;page=3" in people
    beyond = client.get("/footage/1/tracks", params={"case": CASE, "page": 9})
    assert beyond.status_code == 200 and "There are only 3 pages of tracks" in beyond.text
    assert client.get("/footage/1/tracks", params={"case": CASE, "page": 0}).status_code == 422
    pages = [e.details for e in entries(client, action_prefix="tracks.view")]
    assert [json.loads(d)["page"] for d in pages] == [1, 3, 2, 9]  # every page view audited with its page


def test_the_video_streams_with_range_requests_and_is_audited_once_per_page(client: TestClient, tmp_path: Path) -> None:
    footage = analysed_footage(client, tmp_path)
    assert urlsplit(client.get("/footage/1/media", follow_redirects=False).headers["location"]).path == "/context"
    page = state_context(client, client.get("/footage/1/video", params={"t": "1.5"}, follow_redirects=False))
    assert page.status_code == 200 and f'src="/footage/1/media?case={CASE}#t=1.50"' in page.text
    stored = (client.app.state.system.settings.data_dir / footage.stored_path).read_bytes()  # type: ignore[attr-defined]
    part = client.get("/footage/1/media", params={"case": CASE}, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == stored[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(stored)}"
    assert part.headers["content-type"] == "video/mp4"
    whole = client.get("/footage/1/media", params={"case": CASE})
    assert whole.status_code == 200 and whole.content == stored and whole.headers["accept-ranges"] == "bytes"
    [view] = entries(client, action_prefix="footage.view")
    assert (view.actor, view.case_ref, view.outcome) == ("ivy", CASE, "ok")


def test_analysis_started_with_the_button_and_refused_without_a_pia(client: TestClient, tmp_path: Path) -> None:
    signed_in(client)
    assert put_upload(client, small_video(tmp_path), analyse="0").json()["analysis"] is None
    page = client.get("/footage").text
    assert 'action="/footage/1/analyse"' in page and "Analyse</button>" in page
    started = client.post("/footage/1/analyse", data={"csrf_token": page_csrf(client, "/")})
    assert started.url.path == "/footage" and "Analysis of footage 1 started." in started.text
    assert wait_for_job(client, 1)["status"] == "done"
    other = make_video(tmp_path / "other.avi", size=(64, 48), seconds=1)
    assert put_upload(client, other.read_bytes(), camera="KES-02", analyse="0").json()["footage_id"] == 2
    refused = client.post("/footage/2/analyse", data={"csrf_token": page_csrf(client, "/")})
    assert "camera KES-02 at &#39;Site of KES-02&#39; has no current Privacy Impact Assessment" in refused.text


def test_jobs_left_queued_are_resumed_when_the_app_starts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    client = TestClient(create_app(settings, executor=ThreadExecutor(settings)))  # no lifespan yet: no executor
    signed_in(client)
    data = put_upload(client, small_video(tmp_path)).json()
    assert data["analysis"]["status"] == "queued"
    assert client.app.state.web.executor is None  # type: ignore[attr-defined]  # nothing could have started it
    assert client.get("/footage/jobs/1").json()["status"] == "queued"
    with client:  # starting the app resumes it
        job = wait_for_job(client, 1)
    assert job["status"] == "done" and job["progress_frames"] == 20


def test_footage_pages_have_no_inline_script_or_style(client: TestClient, tmp_path: Path) -> None:
    analysed_footage(client, tmp_path)
    state_context(client, client.get("/footage/1/tracks", follow_redirects=False))
    for path in ("/footage", "/footage/1/tracks", "/footage/1/video"):
        html = client.get(path).text
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
        assert " on" + "click=" not in html and "javascript:" not in html, path
        assert '<script src="/static/footage.js' in html or path.endswith("/tracks"), path


def test_an_upload_without_the_csrf_header_is_refused(client: TestClient, tmp_path: Path) -> None:
    signed_in(client)
    for headers in ({}, {"x-csrf-token": "forged"}):
        reply = client.put(
            "/footage/upload",
            params={"camera": "PEN-01"},
            content=small_video(tmp_path),
            headers={"content-type": "application/octet-stream", **headers},
        )
        assert reply.status_code == 403
    assert footage_rows(client) == [] and stored_files(client) == []


def test_the_senders_file_time_is_the_start_when_the_file_records_none(client: TestClient, tmp_path: Path) -> None:
    signed_in(client)
    avi = make_video(tmp_path / "export.avi", size=(64, 48), seconds=1).read_bytes()  # AVI: no creation_time tag
    reply = put_upload(client, avi, name="export.avi", modified="1772373900000", analyse="0").json()
    [footage] = footage_rows(client)
    assert footage.start_time.isoformat() == "2026-03-01T14:05:00+00:00" and footage.start_time_source == "file mtime"
    assert "its modification time (2026-03-01T14:05:00+00:00) was used" in reply["warnings"][0]


def test_a_restart_removes_a_killed_upload_s_partial_file_and_resumes_a_dead_server_s_job(tmp_path: Path) -> None:
    """F11: the server was killed (kill -9) mid-upload and mid-analysis, then restarted within a minute."""
    with footage_client(tmp_path) as client:
        signed_in(client)
        reply = put_upload(client, small_video(tmp_path), analyse="0")
        footage_id = reply.json()["footage_id"]
    data_dir = tmp_path / "data"
    partial = data_dir / "footage" / ".upload-killed0000.part"
    partial.write_bytes(b"\0" * 4096)  # what receive_upload_stream had written when the process died
    old = (utcnow() - timedelta(hours=2)).timestamp()
    os.utime(partial, (old, old))
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead_server = process_identity(child.pid)
    child.kill()
    child.wait()

    def running_job(db: Session) -> int:
        ivy = db.execute(select(User).where(User.username == "ivy")).scalar_one()
        job = AnalysisJob(
            footage_id=footage_id,
            status="running",
            total_frames=20,
            created_by_id=ivy.id,
            owner=dead_server,
            heartbeat_at=utcnow(),  # fresh: the old rule took it for alive and never resumed it
        )
        db.add(job)
        db.flush()
        return job.id

    with footage_client(tmp_path) as restarted:
        job_id = seed(restarted.app, running_job)  # type: ignore[arg-type]
        assert not partial.exists()
    with footage_client(tmp_path) as restarted:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            job = seed(restarted.app, lambda db: db.get(AnalysisJob, job_id))  # type: ignore[arg-type]
            if job.status in ("done", "failed"):
                break
            time.sleep(0.2)
        assert (job.status, job.error, job.progress_frames) == ("done", None, 20)
        assert job.owner != dead_server
    [sweep] = entries(restarted, action_prefix="footage.sweep")
    assert json.loads(sweep.details)["removed"] == ["footage/.upload-killed0000.part"]


def test_an_uploaded_avi_gets_a_playable_copy_served_only_to_those_who_may_watch_it(
    client: TestClient, tmp_path: Path
) -> None:
    """Item 2: the copy is made after the upload; the pages point at it once ready; the original is unchanged."""
    signed_in(client)
    video = make_video(tmp_path / "cam1.avi", codec="libx264", size=(64, 48), seconds=2, fps=10).read_bytes()
    reply = put_upload(client, video, name="cam1.avi", analyse="0")
    assert reply.status_code == 200, reply.text
    assert "a playable copy is being prepared" in reply.json()["message"]
    detour = client.get("/footage/1/playable", follow_redirects=False)
    assert urlsplit(detour.headers["location"]).path == "/context"  # like the footage itself: case and purpose
    state_context(client, client.get("/footage/1/video", follow_redirects=False))
    deadline = time.monotonic() + 60
    state = client.get("/footage/1/playable", params={"case": CASE}).json()
    while state["status"] in ("queued", "preparing") and time.monotonic() < deadline:
        time.sleep(0.2)
        state = client.get("/footage/1/playable", params={"case": CASE}).json()
    assert state == {"status": "ready", "percent": 100, "url": f"/footage/1/playable.mp4?case={CASE}", "error": None}
    page = client.get("/footage/1/video", params={"case": CASE}).text
    assert f'src="/footage/1/playable.mp4?case={CASE}"' in page and "preparing a playable copy" not in page
    part = client.get("/footage/1/playable.mp4", params={"case": CASE}, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.headers["content-type"] == "video/mp4" and part.content[4:8] == b"ftyp"
    original = client.get("/footage/1/media", params={"case": CASE})
    assert original.content == video  # the evidence is served and stored unchanged
    assert [e.action for e in entries(client, action_prefix="footage.playable_copy")] == ["footage.playable_copy"]
    assert log_in(client, "ned", PASSWORD) == "/"  # untrained: may not watch footage, nor its copy
    refused = state_context(
        client, client.get("/footage/1/playable.mp4", params={"case": CASE}, follow_redirects=False)
    )
    assert refused.status_code == 403 and b"ftyp" not in refused.content
    assert [(e.actor, e.outcome) for e in entries(client, action_prefix="footage.view")][-1] == ("ned", "refused")
