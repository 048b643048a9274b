"""The synopsis page: the form (filled from a search link), the render, the audited result page, its video and
click map, and in a real browser a click on an object that opens the review of its original moment."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import SCENE_START, analysed_footage
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, chromium, log_in, notices, page_csrf, seed, serve
from vigil.db.models import AuditEntry, User
from vigil.errors import NotFound
from vigil.governance.audit import AuditContext
from vigil.search.synopsis.renders import SynopsisRenders
from vigil.search.synopsis.service import prepare_synopsis
from vigil.settings import Settings
from vigil.web.app import create_app

CASE, PURPOSE = "CUM-2026-000417", "identify the man in the red top seen near the market"
RENDER_TIMEOUT_S = 120
LINK = {"camera": "PEN-01", "from": "2024-05-01T14:00:00Z", "to": "2024-05-01T15:00:00Z"}


def seed_footage(app: object, settings: Settings) -> None:
    """ivy (trained) and the crossing scene analysed at 14:00 and 14:30 UTC on camera PEN-01."""

    def build(db: Session) -> None:
        make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
        analysed_footage(db, settings, start=SCENE_START)
        analysed_footage(db, settings, start=SCENE_START + timedelta(minutes=30), scene_frames=70)

    seed(app, build)  # type: ignore[arg-type]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed_footage(app, settings)
    test_client = TestClient(app)
    assert log_in(test_client, "ivy", PASSWORD) == "/"
    return test_client


def state_context(client: TestClient, detour: httpx.Response) -> httpx.Response:
    assert detour.status_code == 303 and urlsplit(detour.headers["location"]).path == "/context"
    next_url = parse_qs(urlsplit(detour.headers["location"]).query)["next"][0]
    return client.post(
        "/context",
        data={"case_ref": CASE, "purpose": PURPOSE, "next": next_url, "csrf_token": page_csrf(client, "/context")},
    )


def wait_for_render(client: TestClient, path: str) -> dict[str, str]:
    """Poll a render's status until it is finished; its last status."""
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while time.monotonic() < deadline:
        status: dict[str, str] = client.get(path + "/status", params={"case": CASE}).json()
        if status["status"] in ("done", "failed"):
            assert status["status"] == "done", status
            return status
        time.sleep(0.1)
    raise AssertionError(f"the render did not finish in {RENDER_TIMEOUT_S} s")


def audit_actions(client: TestClient) -> list[str]:
    def read(db: Session) -> list[str]:
        return [e.action for e in db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]

    return seed(client.app, read)  # type: ignore[arg-type]


def test_a_search_link_fills_the_form_in_local_time_and_the_render_shows_the_result(client: TestClient) -> None:
    form = state_context(client, client.get("/synopsis", params={**LINK, "tracks": "1,3"}, follow_redirects=False))
    assert form.status_code == 200 and form.url.path == "/synopsis"
    text = form.text
    assert '<option value="PEN-01" selected>' in text
    assert 'value="2024-05-01T15:00:00"' in text and 'value="2024-05-01T16:00:00"' in text  # Europe/London, BST
    assert 'name="tracks" value="1,3"' in text and "From (Europe/London)" in text
    token = page_csrf(client, "/synopsis")
    fields = {"camera": "PEN-01", "from": "2024-05-01T15:00:00", "to": "2024-05-01T16:00", "csrf_token": token}
    started = client.post("/synopsis", params={"case": CASE}, data=fields, follow_redirects=False)
    assert started.status_code == 303
    waiting = urlsplit(started.headers["location"])
    assert re.fullmatch(r"/synopsis/renders/[0-9a-f]{16}", waiting.path), waiting
    status = wait_for_render(client, waiting.path)
    location = urlsplit(status["url"])
    key = location.path.rsplit("/", 1)[1]
    assert re.fullmatch(r"/synopsis/[0-9a-f]{32}", location.path) and parse_qs(location.query) == {"case": [CASE]}
    done = client.get(started.headers["location"], follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == status["url"]
    again = client.post("/synopsis", params={"case": CASE}, data=fields, follow_redirects=False)
    assert again.headers["location"] == status["url"], "the same request reuses the render"
    page = client.get(done.headers["location"]).text
    assert f'src="/synopsis/{key}/video?case={CASE}"' in page and f'data-map="/synopsis/{key}/map?case={CASE}"' in page
    assert page.count('id="synopsis-track-') == 4 and '<script src="/static/synopsis.js' in page
    assert f'href="/tracks/1/review?t=1.00&amp;case={CASE}"' in page
    assert audit_actions(client)[-3:] == ["synopsis.render", "synopsis.render", "synopsis.view"]
    click_map = client.get(f"/synopsis/{key}/map", params={"case": CASE}).json()
    assert click_map["camera"] == "PEN-01" and len(click_map["boxes"]) == click_map["frames"]
    stored = client.get(f"/synopsis/{key}/video", params={"case": CASE})
    assert stored.status_code == 200 and stored.headers["content-type"] == "video/mp4"
    part = client.get(f"/synopsis/{key}/video", params={"case": CASE}, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == stored.content[:100]
    assert audit_actions(client)[-1] == "synopsis.view", "media requests are not audited one by one"
    only = client.post("/synopsis", params={"case": CASE}, data={**fields, "tracks": "1,3"}, follow_redirects=False)
    result = client.get(wait_for_render(client, urlsplit(only.headers["location"]).path)["url"]).text
    assert result.count('id="synopsis-track-') == 2
    assert client.get("/synopsis/renders/0123456789abcdef/status", params={"case": CASE}).status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"from": "last tuesday"}, "From: 'last tuesday' is not a date/time"),
        ({"to": "2024-05-01T14:00"}, "the end of the range must be after its start"),
        ({"camera": "NOPE-9"}, "no camera 'NOPE-9'"),
        ({"from": "2024-06-01T15:00", "to": "2024-06-01T16:00"}, "nothing to show"),
        ({"tracks": "1;2"}, "tracks: '1;2' is not a list of track ids"),
    ],
)
def test_a_bad_request_returns_to_the_filled_form_with_the_reason(
    client: TestClient, change: dict[str, str], message: str
) -> None:
    state_context(client, client.get("/synopsis", follow_redirects=False))
    fields = {
        "camera": "PEN-01",
        "from": "2024-05-01T15:00",
        "to": "2024-05-01T16:00",
        "csrf_token": page_csrf(client, "/synopsis"),
    }
    back = client.post("/synopsis", params={"case": CASE}, data={**fields, **change})
    assert back.url.path == "/synopsis"
    assert any(message in html.unescape(text) for text in notices(back.text)), notices(back.text)
    assert "synopsis.render" not in audit_actions(client)


def test_the_result_needs_a_context_and_an_existing_synopsis(client: TestClient) -> None:
    key = "0" * 32
    assert urlsplit(client.get(f"/synopsis/{key}", follow_redirects=False).headers["location"]).path == "/context"
    state_context(client, client.get("/synopsis", follow_redirects=False))
    for path in (f"/synopsis/{key}", f"/synopsis/{key}/video", f"/synopsis/{key}/map"):
        assert client.get(path, params={"case": CASE}).status_code == 404, path
    assert client.get("/synopsis/not-a-key", params={"case": CASE}).status_code in (404, 422)
    form = client.get("/synopsis").text
    assert "<script>" not in form and " style=" not in form and 'href="/synopsis" aria-current="page"' in form


@pytest.mark.browser
def test_clicking_an_object_in_the_playing_synopsis_opens_its_review(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    seed_footage(app, settings)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill("ivy")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(base + "/synopsis?" + urlencode(LINK))
        page.get_by_label("Case reference").select_option(CASE)
        page.get_by_label("Purpose").fill(PURPOSE)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_label("From (Europe/London)")).to_have_value(re.compile(r"^2024-05-01T15:00(:00)?$"))
        page.get_by_role("button", name="Make the synopsis").click()
        expect(page).to_have_url(re.compile(r"/synopsis/[0-9a-f]{32}\?case="))
        video = page.locator("#synopsis-video")
        video.evaluate("v => v.play()")
        page.wait_for_function(
            "() => { const v = document.getElementById('synopsis-video');"
            " return v.readyState >= 2 && v.currentTime > 1 && v.dataset.ready === '1'; }",
            timeout=30_000,
        )
        target = page.evaluate(FIND_AND_SEEK)
        page.wait_for_function("() => document.getElementById('synopsis-video').seeking === false")
        page.screenshot(path="/tmp/vigil-synopsis.png", full_page=True)  # for a person to look at
        box = video.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + target["x"] * box["width"] / 320, box["y"] + target["y"] * box["height"] / 240)
        expect(page).to_have_url(re.compile(rf"/tracks/{target['track']}/review\?t=\d+\.\d\d&case="))
        t = float(parse_qs(urlsplit(page.url).query)["t"][0])
        assert abs(t - target["source_t"]) <= 0.11  # within a frame of the clicked moment
        assert problems == [], problems


# Pause, then seek to the middle of the next frame (from the playing position) that shows an object; return the
# object's centre in video pixels, its track and its source time.
FIND_AND_SEEK = """async () => {
  const video = document.getElementById('synopsis-video');
  video.pause();
  const map = await (await fetch(video.dataset.map)).json();
  let index = Math.floor(video.currentTime * map.fps);
  while (index < map.boxes.length && map.boxes[index].length === 0) { index += 1; }
  if (index >= map.boxes.length) { index = map.boxes.findIndex(frame => frame.length > 0); }
  const [track, x0, y0, x1, y1, source_t] = map.boxes[index][map.boxes[index].length - 1];
  await new Promise(resolve => {
    video.addEventListener('seeked', resolve, { once: true });
    video.currentTime = (index + 0.5) / map.fps;
  });
  return { track, x: (x0 + x1) / 2, y: (y0 + y1) / 2, source_t };
}"""


def test_a_render_that_fails_in_the_background_reports_why(db: Session, settings: Settings) -> None:
    make_user(db, "ivy", trained_for=("analytics",), cases=(CASE,))
    footage = analysed_footage(db, settings, start=SCENE_START)
    user = db.execute(select(User).where(User.username == "ivy")).scalar_one()
    context = AuditContext(case_ref=CASE, purpose=PURPOSE)
    end = SCENE_START + timedelta(hours=1)
    prepared = prepare_synopsis(
        db=db, user=user, context=context, settings=settings, camera_code="PEN-01", start=SCENE_START, end=end
    )
    (settings.data_dir / footage.stored_path).write_bytes(b"damaged after the request was checked")
    renders = SynopsisRenders()
    job_id = renders.start(prepared, owner=user.id)
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while renders.get(job_id, owner=user.id).status in ("waiting", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
    job = renders.get(job_id, owner=user.id)
    assert job.status == "failed" and job.key == "" and "the render failed unexpectedly" in job.error
    with pytest.raises(NotFound):
        renders.get(job_id, owner=user.id + 1)
    assert not list((settings.data_dir / "derived" / "synopses").glob("*.mp4"))
