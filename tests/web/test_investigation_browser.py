"""The investigator-search journey end to end, in a real headless Chromium, on real footage analysed for real.

Intel's sample video of a pedestrian, a cyclist and cars (../shared/data) is ingested by the footage service and
analysed by vigil's own job runner with the configured (shipped) detector. An investigator then logs in, states a
case and purpose, searches by description for what the analysis found, watches a result's clip with its box drawn
over it, confirms it with a note, renders a synopsis of the results and plays it, creates and downloads an evidence
bundle, and ``vigil export verify`` accepts the bundle and rejects tampered copies. Screenshots go to
/tmp/vigil-e2e-*.png for a person to look at.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.conftest import make_settings, shared_data_dir
from tests.support.investigation import (
    analyse_real_footage,
    check_the_bundle_verifies,
    download_the_bundle,
    log_in_for_the_case,
    render_the_synopsis,
    review_and_confirm,
    search_by_description,
    verify_cli,
    what_was_found,
)
from tests.support.webapp import chromium, serve
from vigil.governance.keys import secret_key
from vigil.search.export.verify import verify_bundle
from vigil.web.app import create_app

VIDEO = Path("intel-sample-videos") / "person-bicycle-car-detection.mp4"


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
