"""A full disk stops a camera's recording and tells the supervisors: one email each per episode through the mail
outbox (a real SMTP server receives them), an audit entry, and a notice in the app for supervisors until recording
resumes; nothing half-written is ever stored. The disk is a real 8 MiB tmpfs filled with ballast (mounting needs
root: skipped elsewhere), the camera a real RTSP stream, the worker a real process run by the web app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.live.conftest import RECORDER, live_settings
from tests.registry.smtp import body_of, smtp_server
from tests.support.builders import PASSWORD, make_camera, make_user
from tests.support.live import health_of, spooled_video
from tests.support.rtsp import rtsp_server, wait_for
from tests.support.webapp import chromium, seed, serve
from vigil.db.models import AuditEntry, Footage, User
from vigil.db.session import session_scope
from vigil.errors import InvalidInput, NotPermitted
from vigil.footage.custody import footage_path
from vigil.footage.storage import sha256_of
from vigil.governance.accounts import set_email
from vigil.live.recording_notice import RECORDING_FAILED, RECORDING_RESUMED
from vigil.live.store import list_gaps, list_segments
from vigil.settings import MailSettings
from vigil.system import System
from vigil.web.app import create_app

CODE = "CAM-FULL"
FREE = 96 * 1024  # less than one segment
WAIT_MS = 30_000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB filesystem (tmpfs); skipped where mounting is not permitted."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)]).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk: Path) -> None:
    """Leave less than a segment free (the ballast takes the rest)."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    (disk / "ballast").write_bytes(b"\0" * max(free - FREE, 0))


def _world(db: Session) -> None:
    make_user(db, RECORDER, "operator", trained_for=("analytics",))
    for name, role, email in (
        ("sue", "supervisor", "sue@force.example"),
        ("sam", "supervisor", "sam@force.example"),
        ("sid", "supervisor", ""),  # no address: told by the notice only, and the audit says so
        ("olga", "operator", "olga@force.example"),  # not a supervisor: never emailed, never shown
    ):
        make_user(db, name, role, trained_for=("analytics",)).email = email
    make_camera(db, CODE)


def audited(system: System, action: str) -> list[dict[str, object]]:
    with session_scope(system.sessions) as db:
        rows = db.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars()
        return [json.loads(row.details) for row in rows]


def failing(system: System) -> bool:
    row = health_of(system, CODE)
    return row is not None and row.state == "error" and "no space left" in row.reason.lower()


@pytest.mark.data
@pytest.mark.browser
def test_a_full_disk_emails_each_supervisor_once_per_episode_and_shows_them_a_notice_until_recording_resumes(
    pets_clip: Path, tmp_path: Path, small_disk: Path
) -> None:
    from playwright.sync_api import expect

    fill(small_disk)
    with rtsp_server({"pets": pets_clip}) as server, smtp_server() as box:
        settings = live_settings(
            tmp_path / "data",
            {CODE: server.url("pets")},
            enabled=True,
            spool_dir=str(small_disk),
            segment_seconds=4,
            recording_retry_seconds=2,
        )
        settings = settings.model_copy(update={"mail": MailSettings(port=box.port, retry_seconds=1)})
        app = create_app(settings)
        system: System = app.state.system
        seed(app, _world)
        with serve(app) as base, chromium() as browser:
            wait_for(lambda: failing(system), timeout=90, what="recording stopped: no space left")
            # Killed and restarted, the camera's worker fails again: the same episode, no second email.
            pid = system.live.workers()[CODE]
            assert isinstance(pid, int)
            os.kill(pid, signal.SIGKILL)
            wait_for(
                lambda: (row := health_of(system, CODE)) is not None and row.restarts >= 1 and failing(system),
                timeout=90,
                what="the restarted worker failing again",
            )
            for address in ("sue@force.example", "sam@force.example"):  # delivered by the web app's outbox loop
                [message] = box.wait_for(address, timeout_s=30)
                assert message["Subject"] == f"vigil: camera {CODE} stopped recording"
                assert "no space left" in body_of(message).lower()
            [opened] = audited(system, RECORDING_FAILED)
            assert opened["emailed"] == ["sam", "sue"] and opened["without_email"] == ["sid"]
            assert not box.to("olga@force.example")

            page = browser.new_page()
            log_in(page, base, "sue")
            notice = page.locator("#recording-notice")
            expect(notice).to_contain_text(CODE, timeout=WAIT_MS)
            expect(notice).to_contain_text("No space left", timeout=WAIT_MS)
            page.goto(base + "/live/wall")  # the camera wall shows it too
            expect(page.locator("#recording-notice")).to_contain_text(CODE, timeout=WAIT_MS)
            other = browser.new_page()
            log_in(other, base, "olga")
            expect(other.get_by_role("heading", name="Welcome, Olga")).to_be_visible(timeout=WAIT_MS)
            assert other.locator("#recording-notice").count() == 0

            # Space is freed: the next try records a whole segment, which closes the episode and the notice.
            with session_scope(system.sessions) as db:
                assert not db.execute(select(Footage)).first()  # nothing was stored while the disk was full
            (small_disk / "ballast").unlink()
            wait_for(lambda: segments(system) >= 1, timeout=90, what="a segment stored after space was freed")
            wait_for(
                lambda: (row := health_of(system, CODE)) is not None and row.state == "online",
                timeout=30,
                what="online",
            )
            assert health_of(system, CODE).recording_failed_at is None  # type: ignore[union-attr]
            [resumed] = audited(system, RECORDING_RESUMED)
            assert "no space left" in str(resumed["reason"]).lower()
            page.goto(base + "/")
            expect(page.get_by_role("heading", name="Welcome, Sue")).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#recording-notice")).to_have_count(0, timeout=WAIT_MS)

            # Full again after it recovered: a new episode, a new email to each supervisor.
            fill(small_disk)
            wait_for(lambda: len(audited(system, RECORDING_FAILED)) == 2, timeout=90, what="the second episode")
            for address in ("sue@force.example", "sam@force.example"):
                assert len(box.wait_for(address, count=2, timeout_s=30)) == 2
            page.goto(base + "/")
            expect(page.locator("#recording-notice")).to_contain_text(CODE, timeout=WAIT_MS)
            page.close()
            other.close()
    with session_scope(system.sessions) as db:  # every stored segment is whole: its bytes are what was hashed
        stored = list_segments(db, CODE)
        assert stored
        for segment in stored:
            footage = db.get(Footage, segment.footage_id)
            assert footage is not None and sha256_of(footage_path(system.settings, footage)) == footage.sha256
        gaps = list_gaps(db, CODE)
        assert gaps[0].ended_at is not None and "no space left" in gaps[0].reason.lower()  # the first episode
    assert not list(small_disk.glob(f"{CODE}/.partial-*.mp4"))  # no partial segment left behind
    assert spooled_video(small_disk / CODE) == []


def segments(system: System) -> int:
    with session_scope(system.sessions) as db:
        return len(list_segments(db, CODE))


def log_in(page: object, base: str, username: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base + "/", timeout=WAIT_MS)


def test_only_an_administrator_sets_an_address_and_a_bad_one_is_refused_unchanged(tmp_path: Path) -> None:
    from tests.conftest import make_settings
    from vigil.system import open_system, prepare

    system = open_system(make_settings(tmp_path / "data"))
    prepare(system)
    try:
        with session_scope(system.sessions) as db:
            admin = make_user(db, "ada", "admin")
            make_user(db, "sue", "supervisor")
            olga = make_user(db, "olga", "operator")
            set_email(db, actor=admin, username="sue", email=" sue@force.example ")
            with pytest.raises(NotPermitted):
                set_email(db, actor=olga, username="sue", email="olga@evil.example")
            for bad in ("not an address", "a@b", "x@y.example, z@w.example", "a" * 250 + "@force.example"):
                with pytest.raises(InvalidInput):
                    set_email(db, actor=admin, username="sue", email=bad)
        with session_scope(system.sessions) as db:
            sue = db.execute(select(User).where(User.username == "sue")).scalar_one()
            assert sue.email == "sue@force.example"
            changes = db.execute(select(AuditEntry).where(AuditEntry.action == "user.email")).scalars().all()
            assert [(c.actor, c.outcome) for c in changes] == [("ada", "ok"), ("olga", "refused")]
    finally:
        system.close()
