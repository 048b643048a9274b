"""The camera source register: only camera addresses pass, credentials are sealed with a key outside the database
and never shown, and only administrators and supervisors change it (issue 10, F4)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.support.builders import make_camera, make_user
from vigil.cli import app
from vigil.db.models import AuditEntry, CameraSource
from vigil.errors import InvalidInput, NotPermitted
from vigil.governance.camera_sources import (
    SourcePolicy,
    check_source,
    live_source,
    mask,
    set_source,
    source_key,
    source_policy,
)
from vigil.settings import Settings

SECRET_URL = "rtsp://viewer:hunter2@10.0.4.21:554/stream1?token=abc"


def _policy(tmp_path: Path, **changes: bool) -> SourcePolicy:
    return SourcePolicy(key=Fernet.generate_key(), data_dir=tmp_path / "data", **changes)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "give the camera's live source"),
        ("ftp://cam.example/1", "not ftp://"),
        ("gopher://10.0.0.1/", "not gopher://"),
        ("file:///etc/passwd", "local files are not live sources"),
        ("/srv/vigil-data/footage/abc.mp4", "local files are not live sources"),
        ("http://127.0.0.1:8000/internal", "on the vigil server itself"),
        ("http://localhost/admin", "on the vigil server itself"),
        ("rtsp://[::1]:554/x", "on the vigil server itself"),
        ("http://0.0.0.0/", "on the vigil server itself"),
        ("http://[::ffff:127.0.0.1]/", "on the vigil server itself"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("rtsp://user:pw@169.254.1.1/cam", "link-local"),
        ("rtsp://224.0.0.1/cam", "not a camera's address"),
        ("http:///no-host", "names no host"),
        ("rtsp://10.0.0.1:99999/x", "not a valid URL"),
        ("rtsp://10.0.0.1/a b", "without spaces"),
    ],
)
def test_anything_but_a_camera_address_is_refused(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        check_source(url, policy=_policy(tmp_path))
    assert ":pw@" not in refused.value.message, "credentials are never repeated"


def test_files_only_where_allowed_and_never_from_the_data_folder(tmp_path: Path) -> None:
    policy = _policy(tmp_path, allow_files=True)
    stored = policy.data_dir / "footage" / "abc.mp4"  # another case's stored footage
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"\0" * 100)
    demo = tmp_path / "demo.mp4"
    demo.write_bytes(b"\0" * 100)
    for url, message in (
        (str(stored), "data folder"),
        (f"file://{stored}", "data folder"),
        (f"{policy.data_dir}/../data/footage/abc.mp4", "data folder"),
        ("demo.mp4", "absolute path"),
        (str(tmp_path / "missing.mp4"), "not an existing video file"),
    ):
        with pytest.raises(InvalidInput, match=message):
            check_source(url, policy=policy)
    assert check_source(str(demo), policy=policy).kind == "file"


def test_private_addresses_and_local_relays_where_allowed(tmp_path: Path) -> None:
    assert check_source("rtsps://10.20.30.40/live", policy=_policy(tmp_path)).masked == "rtsps://10.20.30.40/live"
    relay = check_source("rtsp://127.0.0.1:8554/cam1", policy=_policy(tmp_path, allow_local_hosts=True))
    assert relay.kind == "network"


def test_the_mask_hides_credentials_and_query() -> None:
    assert mask(SECRET_URL) == "rtsp://***@10.0.4.21:554/stream1?***"
    assert mask("https://cams.example.org/feed") == "https://cams.example.org/feed"


def test_a_source_is_sealed_shown_masked_and_audited_without_credentials(db: Session, settings: Settings) -> None:
    admin = make_user(db, "adam", "admin")
    make_camera(db, "PEN-01")
    policy = source_policy(settings)
    source = set_source(db, user=admin, camera_code="pen-01", url=SECRET_URL, policy=policy)
    assert source.masked == "rtsp://***@10.0.4.21:554/stream1?***" and source.kind == "network"
    row = db.execute(select(CameraSource)).scalar_one()
    assert "hunter2" not in row.sealed and "viewer" not in row.sealed and "10.0.4.21" not in row.sealed
    assert live_source(db, camera_code="PEN-01", policy=policy).url == SECRET_URL
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "camera.source.set")).scalar_one()
    assert "hunter2" not in entry.details and json.loads(entry.details)["source"] == source.masked

    key_file = settings.data_dir / "source.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and source_key(settings) == policy.key
    other = SourcePolicy(key=Fernet.generate_key(), data_dir=settings.data_dir)
    with pytest.raises(InvalidInput, match="source key"):
        live_source(db, camera_code="PEN-01", policy=other)


def test_only_administrators_and_supervisors_set_sources(db: Session, settings: Settings) -> None:
    make_camera(db, "PEN-01")
    operator = make_user(db, "olive", "operator", trained_for=("live_fr",))
    with pytest.raises(NotPermitted):
        set_source(db, user=operator, camera_code="PEN-01", url="rtsp://10.0.0.9/x", policy=source_policy(settings))
    assert db.execute(select(CameraSource)).first() is None
    refused = db.execute(select(AuditEntry).where(AuditEntry.actor == "olive")).scalars().all()
    assert [(e.action, e.outcome) for e in refused] == [("camera.source.set", "refused")]
    supervisor = make_user(db, "sue", "supervisor")
    set_source(db, user=supervisor, camera_code="PEN-01", url="rtsp://10.0.0.9/x", policy=source_policy(settings))
    make_camera(db, "PEN-02")
    with pytest.raises(InvalidInput, match="no registered live source"):
        live_source(db, camera_code="PEN-02", policy=source_policy(settings))


def test_the_cli_takes_the_url_from_stdin_and_only_shows_it_masked(tmp_path: Path) -> None:
    env = {"VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_SECRET_KEY": "cli-test-secret"}
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env, input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run("location", "add", "Market Square", "--as", "admin")
    run("camera", "add", "pen-01", "--location", "Market Square", "--as", "admin")
    said = run("camera", "source", "set", "pen-01", "--stdin", "--as", "admin", stdin=SECRET_URL + "\n")
    assert "rtsp://***@10.0.4.21:554/stream1?***" in said and "hunter2" not in said
    listed = json.loads(run("camera", "source", "list", "--as", "admin", "--json"))
    assert [(s["camera"], s["source"]) for s in listed] == [("PEN-01", "rtsp://***@10.0.4.21:554/stream1?***")]
    refused = run("camera", "source", "set", "PEN-01", "--stdin", "--as", "admin", stdin="http://127.0.0.1/x\n", code=2)
    assert "on the vigil server itself" in refused
    assert "hunter2" not in run("config", "show")
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("vigil.db*"))
    assert b"hunter2" not in stored
    run("camera", "source", "clear", "PEN-01", "--as", "admin")
    assert json.loads(run("camera", "source", "list", "--as", "admin", "--json")) == []
