"""The clip player and marks (TestClient and a real browser) and the search-by-example pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.builders import PASSWORD, make_user
from tests.support.scenes import BlobDetector, crossing_scene
from tests.support.webapp import TestClient, chromium, log_in, notices, page_csrf, seed, serve
from vigil.db.models import AuditEntry, ReviewMark, Track
from vigil.web.app import create_app

CASE, PURPOSE = "CUM-2026-000777", "trace the man in the red top seen at the cash machine"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path / "data"))) as test_client:
        yield test_client


def analysed(client: TestClient, copies: int = 1) -> list[list[int]]:
    """ivy (analytics) and una (untrained); ``copies`` analysed recordings of the crossing scene (track ids each)."""
    settings = client.app.state.system.settings  # type: ignore[attr-defined]

    def build(db: Session) -> list[list[int]]:
        ivy = make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        make_user(db, "una", cases=(CASE,))
        found = []
        for n in range(copies):
            footage = analysed_footage(
                db,
                settings,
                user=ivy,
                camera_code=f"PEN-0{n + 1}",
                start=SCENE_START + timedelta(hours=n),
                scene_frames=60 + 4 * n,
            )
            stmt = select(Track.id).where(Track.footage_id == footage.id).order_by(Track.id)
            found.append(list(db.execute(stmt).scalars()))
        return found

    return seed(client.app, build)  # type: ignore[arg-type]


def with_context(client: TestClient, path: str, username: str = "ivy") -> httpx.Response:
    """Log in and open ``path``, stating the case and purpose on the way; the page it lands on."""
    assert log_in(client, username, PASSWORD) == "/"
    detour = client.get(path, follow_redirects=False)
    assert detour.status_code == 303 and urlsplit(detour.headers["location"]).path == "/context"
    next_url = parse_qs(urlsplit(detour.headers["location"]).query)["next"][0]
    return client.post(
        "/context",
        data={"case_ref": CASE, "purpose": PURPOSE, "next": next_url, "csrf_token": page_csrf(client, "/context")},
    )


def audit_entries(client: TestClient, action: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return seed(client.app, lambda db: list(db.execute(stmt).scalars()))  # type: ignore[arg-type]


def marks(client: TestClient) -> list[tuple[int, str, str]]:
    stmt = select(ReviewMark.track_id, ReviewMark.verdict, ReviewMark.note).order_by(ReviewMark.id)
    return seed(client.app, lambda db: [tuple(row) for row in db.execute(stmt)])  # type: ignore[arg-type]


def test_the_review_page_is_audited_and_carries_the_player_data(client: TestClient) -> None:
    [ids] = analysed(client)
    page = with_context(client, f"/tracks/{ids[0]}/review?t=1.5")
    assert page.status_code == 200 and page.url.path == f"/tracks/{ids[0]}/review"
    video = re.search(r'<video id="review-video"[^>]*>', page.text)
    assert video is not None
    assert 'data-start="1.5"' in video.group(0) and "/footage/" in video.group(0)
    player = json.loads(unescape(re.search(r'data-player="([^"]*)"', video.group(0)).group(1)))  # type: ignore[union-attr]
    assert player["width"] == 320 and len(player["boxes"]) > 3 and len(player["path"]) > 1
    assert all(len(box) == 5 and box[1] < box[3] and box[2] < box[4] for box in player["boxes"])
    assert f'href="/similar?track_id={ids[0]}&amp;case={CASE}"' in page.text
    assert "<script>" not in page.text and 'src="/static/review.js' in page.text
    [entry] = audit_entries(client, "track.review")
    assert (entry.actor, entry.case_ref, entry.purpose, entry.subject_id) == ("ivy", CASE, PURPOSE, str(ids[0]))
    assert client.get("/static/review.js").status_code == 200


def test_a_mark_is_posted_shown_and_returns_to_next(client: TestClient) -> None:
    [ids] = analysed(client)
    with_context(client, f"/tracks/{ids[0]}/review")
    token = page_csrf(client, f"/tracks/{ids[0]}/review?case={CASE}")
    back = f"/similar?track_id={ids[1]}&case={CASE}"
    sent = client.post(
        f"/tracks/{ids[0]}/marks?case={CASE}",
        data={"verdict": "confirmed", "note": "same red top", "next": back, "csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == back
    assert marks(client) == [(ids[0], "confirmed", "same red top")]
    page = client.get(f"/tracks/{ids[0]}/review?case={CASE}")
    assert re.search(r'id="current-verdict">confirmed<', page.text)
    assert "same red top" in page.text and "Marks for this case (1)" in page.text
    [entry] = audit_entries(client, "review.mark")
    assert entry.case_ref == CASE and json.loads(entry.details)["verdict"] == "confirmed"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"verdict": "probably"}, "verdict must be one of confirmed, rejected, unsure"),
        ({"verdict": "confirmed", "note": "x" * 2001}, "a note is limited to 2000 characters"),
    ],
)
def test_a_bad_mark_is_refused_and_nothing_is_stored(client: TestClient, fields: dict[str, str], message: str) -> None:
    [ids] = analysed(client)
    with_context(client, f"/tracks/{ids[0]}/review")
    token = page_csrf(client, f"/tracks/{ids[0]}/review?case={CASE}")
    page = client.post(f"/tracks/{ids[0]}/marks?case={CASE}", data={**fields, "csrf_token": token})
    assert page.url.path == f"/tracks/{ids[0]}/review"
    assert any(message in text for text in notices(page.text)), notices(page.text)
    assert marks(client) == []


def test_next_must_be_a_local_path_and_unknown_tracks_are_not_found(client: TestClient) -> None:
    [ids] = analysed(client)
    with_context(client, f"/tracks/{ids[0]}/review")
    token = page_csrf(client, f"/tracks/{ids[0]}/review?case={CASE}")
    sent = client.post(
        f"/tracks/{ids[0]}/marks?case={CASE}",
        data={"verdict": "unsure", "next": "https://example.org/", "csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/"
    assert client.get(f"/tracks/999999/review?case={CASE}").status_code == 404
    missing = client.post(f"/tracks/999999/marks?case={CASE}", data={"verdict": "unsure", "csrf_token": token})
    assert any("no track 999999" in text for text in notices(missing.text))


def test_an_untrained_user_may_not_review(client: TestClient) -> None:
    [ids] = analysed(client)
    page = with_context(client, f"/tracks/{ids[0]}/review", username="una")
    assert page.status_code == 403 and "no current training record" in page.text
    [entry] = audit_entries(client, "track.review")
    assert (entry.actor, entry.outcome) == ("una", "refused")


def test_more_like_this_lists_the_other_recording_of_the_same_figure(client: TestClient) -> None:
    first, second = analysed(client, copies=2)
    page = with_context(client, f"/similar?track_id={first[0]}")
    assert page.status_code == 200
    ranked = re.findall(r'<li class="track-card result-card[^"]*" id="track-(\d+)"', page.text)
    assert int(ranked[0]) == first[0]  # the source card comes first
    assert ranked[1:] and int(ranked[1]) in second and first[0] not in map(int, ranked[1:])
    narrowed = client.get(f"/similar?track_id={first[0]}&camera=PEN-01&case={CASE}")
    others = re.findall(r'<li class="track-card result-card[^"]*" id="track-(\d+)"', narrowed.text)[1:]
    assert not set(map(int, others)) & set(second)
    entries = audit_entries(client, "search.similar")
    assert len(entries) == 2 and json.loads(entries[0].details)["track"] == first[0]


def test_photo_search_finds_the_figure_and_bad_photos_are_explained(client: TestClient) -> None:
    analysed(client)
    services = client.app.state.system.services  # type: ignore[attr-defined]
    services.photo_detector.put(BlobDetector())  # the scene's real detector
    form = with_context(client, "/similar")
    assert 'enctype="multipart/form-data"' in form.text
    token = page_csrf(client, f"/similar?case={CASE}")
    shot = next(s for s in crossing_scene(60) if s.boxes[0] is not None and s.boxes[1] is None)
    x0, y0, x1, y1 = (round(v) for v in shot.boxes[0])
    crop = shot.frame.image[max(0, y0 - 15) : y1 + 15, max(0, x0 - 15) : x1 + 15]
    photo = cv2.imencode(".jpg", crop)[1].tobytes()
    page = client.post(
        f"/similar?case={CASE}",
        data={"csrf_token": token, "top": "5"},
        files={"photo": ("red.jpg", photo, "image/jpeg")},
    )
    assert page.status_code == 200, page.text
    assert "searched with number 1 (person" in page.text
    cards = re.findall(r'id="track-(\d+)"', page.text)
    assert cards and "chip-red" in page.text.split(f'id="track-{cards[0]}"')[1].split("</li>")[0]
    bad = client.post(
        f"/similar?case={CASE}", data={"csrf_token": token}, files={"photo": ("notes.txt", b"hello", "text/plain")}
    )
    assert bad.status_code == 422 and "not an image vigil can read" in bad.text
    [entry] = audit_entries(client, "search.similar")
    assert json.loads(entry.details)["source"] == "photo"


@pytest.mark.browser
def test_the_clip_player_plays_from_the_moment_draws_the_track_and_takes_a_verdict(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path / "data"))
    with TestClient(app) as client:
        [ids] = analysed(client)
    moment = 2.0
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("ivy")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{base}/tracks/{ids[0]}/review?t={moment}")
        page.get_by_label("Case reference").select_option(CASE)
        page.get_by_label("Purpose").fill(PURPOSE)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name=re.compile(f"Review track {ids[0]}"))).to_be_visible()
        page.wait_for_function(
            "() => { const v = document.getElementById('review-video');"
            f" return v.readyState >= 2 && v.currentTime > {moment}; }}",
            timeout=30_000,
        )
        page.evaluate("() => document.getElementById('review-video').pause()")
        page.evaluate(f"() => {{ document.getElementById('review-video').currentTime = {moment + 0.5}; }}")
        page.wait_for_function(
            """() => {
                const c = document.getElementById('review-overlay');
                if (!c.width || !c.height) return false;
                const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) return true; }
                return false;
            }""",
            timeout=15_000,
        )
        page.get_by_label("confirmed").check()
        page.get_by_label("Note (why; kept with the case)").fill("red top, same walk")
        page.get_by_role("button", name="Save the verdict").click()
        expect(page.locator(".notice-ok")).to_contain_text(f"Track {ids[0]} marked confirmed")
        expect(page.locator("#current-verdict")).to_have_text("confirmed")
        expect(page.locator("#marks-history")).to_contain_text("red top, same walk")
        page.screenshot(path="/tmp/vigil-review.png", full_page=True)
        assert problems == []
