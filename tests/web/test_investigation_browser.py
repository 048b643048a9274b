"""The investigator-search journey end to end, in a real headless Chromium, on real footage analysed for real.

Intel's sample video of a pedestrian, a cyclist and cars (../shared/data) is ingested by the footage service and
analysed by vigil's own job runner with the configured (shipped) detector. An investigator then logs in, states a
case and purpose, searches by description for what the analysis found, watches a result's clip with its box drawn
over it, confirms it with a note, renders a synopsis of the results and plays it, creates and downloads an evidence
bundle, and ``vigil export verify`` accepts the bundle and rejects tampered copies. Screenshots go to
/tmp/vigil-e2e-*.png for a person to look at.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import make_settings, shared_data_dir
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.webapp import chromium, seed, serve
from vigil.analysis.jobs import JobStatus, start_analysis
from vigil.analysis.worker import make_runner
from vigil.cli import app as vigil_cli
from vigil.db.base import utcnow
from vigil.db.models import Track
from vigil.footage.ingest import ingest_footage
from vigil.governance.keys import secret_key
from vigil.search.export.verify import verify_bundle
from vigil.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

VIDEO = Path("intel-sample-videos") / "person-bicycle-car-detection.mp4"
CAMERA = "PEN-01"
RECORDED = datetime(2026, 3, 1, 14, 5, tzinfo=UTC)  # 1 March: GMT, so local and UTC times agree
CASE, PURPOSE = "CUM-2026-000912", "trace the pedestrian seen near the bank in the 1 March robbery"
NOTE = "same build and gait as the suspect on the bank's own camera"
SCREENSHOTS = Path("/tmp")
SYNOPSIS_TIMEOUT_MS = 120_000
# A yellow (#ffdd00) pixel on the review overlay: the track's box, drawn at the video's current time.
BOX_DRAWN = """() => {
  const c = document.getElementById('review-overlay');
  if (!c.width || !c.height) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 128 && d[i] > 200 && d[i + 1] > 170 && d[i + 2] < 90) return true;
  }
  return false;
}"""


@dataclass(frozen=True)
class Found:
    """What the analysis stored: the colour to search for, the person tracks wearing it, their moments."""

    colour: str
    track_ids: set[int]
    moments: dict[int, tuple[float, float]]  # track id -> (first observed t, middle of its observed span)


def analyse_real_footage(app: FastAPI, video: Path) -> None:
    """ivy (trained for analytics and export), camera PEN-01 with a current PIA, the video ingested and analysed."""
    settings = app.state.system.settings

    def ingest(db: Session) -> int:
        ivy = make_user(db, "ivy", trained_for=("analytics", "export"), cases=(CASE,))
        make_camera(db, CAMERA, pia_review=utcnow().date() + timedelta(days=200), location="Market Square, Penrith")
        stored = ingest_footage(
            db, settings=settings, user=ivy, source_path=video, camera_code=CAMERA, start=RECORDED, source="force CCTV"
        )
        return start_analysis(db, user=ivy, footage=stored.footage).id

    job = make_runner(app.state.system).run(seed(app, ingest))
    assert job.status == JobStatus.DONE, job.error


def what_was_found(app: FastAPI) -> Found:
    """The commonest top colour among the person tracks the analysis stored, and the tracks wearing it."""

    def read(db: Session) -> Found:
        people = list(db.execute(select(Track).where(Track.class_name == "person")).scalars())
        colours = Counter(c for t in people for c in t.upper_colours.split(",") if c)
        assert colours, f"the analysis found no person with a top colour: {[t.upper_colours for t in people]}"
        colour = colours.most_common(1)[0][0]
        wearing = [t for t in people if colour in t.upper_colours.split(",")]
        moments = {}
        for track in wearing:
            times = [o.t for o in track.observations]
            moments[track.id] = (min(times), (min(times) + max(times)) / 2)
        return Found(colour, {t.id for t in wearing}, moments)

    return seed(app, read)


@pytest.mark.browser
@pytest.mark.data
def test_search_review_synopsis_and_a_verified_export_of_real_analysed_footage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = shared_data_dir() / VIDEO
    if not video.exists():
        pytest.skip(f"{video} is not available")
    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    analyse_real_footage(app, video)
    found = what_was_found(app)
    with serve(app) as base, chromium() as browser:
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(30_000)  # actions and waits, for a busy machine
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        log_in_for_the_case(page, base)
        results_url, track_id = search_by_description(page, found)
        review_and_confirm(page, track_id, found.moments[track_id])
        render_the_synopsis(page, results_url, track_id, found)
        bundle = download_the_bundle(page, tmp_path, track_id)
        context.close()
    assert problems == [], problems
    check_the_bundle_verifies(bundle, settings.data_dir, monkeypatch)
    check_tampered_copies_are_rejected(bundle, tmp_path, secret_key(settings))


def log_in_for_the_case(page: Page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Case reference").select_option(CASE)
    page.get_by_label("Purpose").fill(PURPOSE)
    page.get_by_role("button", name="Continue").click()


def search_by_description(page: Page, found: Found) -> tuple[str, int]:
    """Describe, check what was understood, run; the results page's URL and the first result's track id."""
    from playwright.sync_api import expect

    page.get_by_label("Description").fill(f"person in a {found.colour} top on {CAMERA} on 1 March 2026")
    page.get_by_role("button", name="Understand").click()
    understood = page.locator("#understood")
    expect(understood).to_contain_text(f"top: {found.colour}")
    expect(understood).to_contain_text("class: person")
    expect(understood).to_contain_text(f"cameras {CAMERA}")
    expect(understood).to_contain_text("Sun 01 Mar 2026 00:00")
    expect(page.locator('input[name="upper"]:checked')).to_have_count(1)
    expect(page.locator(f'input[name="upper"][value="{found.colour}"]')).to_be_checked()
    page.get_by_role("button", name="Run the search").click()

    results = page.locator("#results")
    count = len(found.track_ids)
    expect(results.locator("#results-title")).to_have_text(f"{count} candidate{'' if count == 1 else 's'}")
    cards = results.locator(".track-card")
    expect(cards).to_have_count(count)
    shown = {int(card.get_attribute("data-track-id") or 0) for card in cards.all()}
    assert shown == found.track_ids  # exactly the stored person tracks in that top, none else
    expect(cards.filter(has=page.locator(f".chip-{found.colour}"))).to_have_count(count)
    first = cards.first
    first.locator("img").scroll_into_view_if_needed()
    page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=first.locator("img").element_handle()
    )
    page.screenshot(path=str(SCREENSHOTS / "vigil-e2e-search.png"), full_page=True)
    return page.url, int(first.get_attribute("data-track-id") or 0)


def review_and_confirm(page: Page, track_id: int, moments: tuple[float, float]) -> None:
    """Open the result's clip: it plays from the moment, the box is drawn over it; confirm it with a note."""
    from playwright.sync_api import expect

    first_t, middle_t = moments
    page.locator(f"#track-{track_id}").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name=re.compile(f"Review track {track_id}"))).to_be_visible()
    moment = float(re.search(r"[?&]t=([0-9.]+)", page.url)[1])  # type: ignore[index]
    assert abs(moment - first_t) < 0.01, (moment, first_t)  # the card links to the track's first sighting
    page.wait_for_function(
        "t => { const v = document.getElementById('review-video'); return v.readyState >= 2 && v.currentTime > t; }",
        arg=moment + 0.3,
        timeout=30_000,
    )
    page.evaluate(
        """t => new Promise(resolve => {
            const v = document.getElementById('review-video');
            v.pause();
            v.addEventListener('seeked', resolve, { once: true });
            v.currentTime = t;
        })""",
        middle_t,
    )
    page.wait_for_function(BOX_DRAWN, timeout=15_000)
    page.screenshot(path=str(SCREENSHOTS / "vigil-e2e-review.png"), full_page=True)
    page.get_by_label("confirmed").check()
    page.get_by_label("Note (why; kept with the case)").fill(NOTE)
    page.get_by_role("button", name="Save the verdict").click()
    expect(page.locator(".notice-ok")).to_contain_text(f"Track {track_id} marked confirmed for case {CASE}")
    expect(page.locator("#current-verdict")).to_have_text("confirmed")
    expect(page.locator("#marks-history")).to_contain_text(NOTE)


def render_the_synopsis(page: Page, results_url: str, track_id: int, found: Found) -> None:
    """Back to the results (the confirmed card shows it), then a synopsis of them, rendered and playing."""
    from playwright.sync_api import expect

    page.goto(results_url)
    expect(page.locator(f"#track-{track_id} .verdict-badge")).to_have_text("confirmed")
    page.get_by_role("link", name=f"Synopsis of these results ({CAMERA})").click()
    expect(page.get_by_label("Camera")).to_have_value(CAMERA)
    tracks = page.get_by_label("Only these tracks (optional)").input_value()
    assert {int(t) for t in tracks.split(",")} == found.track_ids
    page.get_by_role("button", name="Make the synopsis").click()
    expect(page).to_have_url(re.compile(r"/synopsis/[0-9a-f]{32}\?case="), timeout=SYNOPSIS_TIMEOUT_MS)
    expect(page.locator(".synopsis-tracks tbody tr")).to_have_count(len(found.track_ids))
    page.locator("#synopsis-video").evaluate("v => v.play()")
    page.wait_for_function(
        "() => { const v = document.getElementById('synopsis-video');"
        " return v.readyState >= 2 && v.currentTime > 0.5 && v.videoWidth > 0 && v.dataset.ready === '1'; }",
        timeout=30_000,
    )
    page.screenshot(path=str(SCREENSHOTS / "vigil-e2e-synopsis.png"), full_page=True)


def download_the_bundle(page: Page, tmp_path: Path, track_id: int) -> Path:
    """Exports: the confirmed track is offered; create the bundle and download it."""
    from playwright.sync_api import expect

    page.locator(".mainnav summary", has_text="Analysis").click()  # the menu groups pages by area
    page.get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", name="Confirmed tracks (1)")).to_be_visible()
    expect(page.get_by_label(f"Include track {track_id}")).to_be_checked()
    page.get_by_role("button", name="Create bundle").click()
    expect(page.locator(".notice-ok")).to_contain_text("The evidence bundle was created", timeout=60_000)
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download").click()
    download = waiting.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    page.screenshot(path=str(SCREENSHOTS / "vigil-e2e-exports.png"), full_page=True)
    assert saved.name == f"{CASE}-export-1.zip"
    return saved


def verify_cli(bundle: Path, *, code: int) -> str:
    result = CliRunner().invoke(vigil_cli, ["export", "verify", str(bundle)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def check_the_bundle_verifies(bundle: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`vigil export verify` on this system (its data folder and secret): intact, made here, matching the log."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VIGIL_SECRET_KEY", secret_key(make_settings(data_dir)))
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    monkeypatch.delenv("VIGIL_USER", raising=False)
    output = verify_cli(bundle, code=0)
    assert f"{bundle.name}: intact" in output and "HMAC checked" in output and "NOT" not in output
    assert "the audit entries match this system's audit log" in output
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    assert any(n.startswith("clips/") for n in names) and any(n.startswith("stills/") for n in names), names


def check_tampered_copies_are_rejected(bundle: Path, tmp_path: Path, secret: str) -> None:
    """One byte changed in the clip, then in the manifest: each copy fails, naming what was changed."""
    report = verify_bundle(bundle, secret=secret)
    assert report.ok and report.origin_checked, report.problems
    with zipfile.ZipFile(bundle) as archive:
        clip = next(n for n in archive.namelist() if n.startswith("clips/"))
    forged_clip = tampered(bundle, tmp_path / "forged-clip.zip", clip)
    report = verify_bundle(forged_clip, secret=secret)
    assert report.problems == [f"file {clip} does not match its SHA-256 (it was changed)"]
    output = verify_cli(forged_clip, code=1)
    assert "NOT intact (1 problems)" in output and f"file {clip} does not match its SHA-256" in output

    forged_manifest = tampered(bundle, tmp_path / "forged-manifest.zip", "manifest.json")
    report = verify_bundle(forged_manifest, secret=secret)
    assert not report.ok and any("the manifest was changed" in p for p in report.problems), report.problems
    output = verify_cli(forged_manifest, code=1)
    assert "NOT intact" in output and "manifest.json does not match" in output


def tampered(bundle: Path, copy: Path, member: str) -> Path:
    """A copy of the bundle with one byte of ``member`` changed (in its middle), everything else as it was."""
    with zipfile.ZipFile(bundle) as original, zipfile.ZipFile(copy, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == member:
                middle = len(data) // 2
                data = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
            out.writestr(info, data)
    return copy
