from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.footage.builders import make_video, truncate
from tests.support.builders import make_camera, make_user
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry, Case, CustodyEvent, Footage, User
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.footage.custody import footage_path, orphan_files, stale_partials, sweep_stale_files, verify_footage
from vigil.footage.ingest import (
    IngestResult,
    check_analysable,
    get_footage,
    ingest_footage,
    list_footage,
)
from vigil.footage.storage import STORED_MODE, footage_root, stored_files
from vigil.settings import Settings

TAG = datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC)
GIVEN = datetime(2026, 3, 1, 14, 5, tzinfo=UTC)


def _last_audit(db: Session) -> AuditEntry:
    return db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def _footage_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Footage)) or 0


def _stored(settings: Settings) -> list[Path]:
    return list(stored_files(footage_root(settings.data_dir)))


def _ingest(
    db: Session,
    settings: Settings,
    path: Path,
    *,
    user: User | None = None,
    camera_code: str | None = None,
    **kwargs: Any,
) -> IngestResult:
    """Ingest as a trained investigator; without ``camera_code``, to a new camera PEN-01 (given in lower case)."""
    if camera_code is None:
        make_camera(db, "PEN-01")
    user = user or make_user(db, "ivy", trained_for=("analytics",), cases=("CUM-2026-0001",))
    return ingest_footage(
        db, settings=settings, user=user, source_path=path, camera_code=camera_code or "pen-01", **kwargs
    )


def test_ingest_stores_the_original_read_only_with_custody_and_audit(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    source = make_video(tmp_path / "Market Sq 14.05.mp4", codec="libx264", creation_time=TAG)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    result = _ingest(db, settings, source, source="Penrith BID", case_ref="CUM-2026-0001")

    footage = result.footage
    assert not result.duplicate and result.warnings == ()
    assert footage.stored_path == f"footage/{sha[:2]}/{sha}.mp4"
    stored = settings.data_dir / footage.stored_path
    assert stored.read_bytes() == source.read_bytes()
    assert stored.stat().st_mode & 0o777 == STORED_MODE
    assert _stored(settings) == [stored]  # no partial file left behind
    assert (footage.sha256, footage.size_bytes) == (sha, source.stat().st_size)
    assert (footage.original_name, footage.source, footage.camera.code) == (
        "Market Sq 14.05.mp4",
        "Penrith BID",
        "PEN-01",
    )
    assert (footage.codec, footage.width, footage.height, footage.fps, footage.frame_count) == ("h264", 64, 48, 10, 20)
    assert footage.container.startswith("mov,mp4") and footage.duration_s == pytest.approx(2.0)
    assert (footage.start_time, footage.start_time_source) == (TAG, "metadata")
    assert footage.case is not None and footage.case.reference == "CUM-2026-0001"

    [event] = footage.custody
    assert (event.action, event.actor, event.sha256) == ("ingested", "ivy", sha)
    assert json.loads(event.details)["original_name"] == "Market Sq 14.05.mp4"
    entry = _last_audit(db)
    assert (entry.action, entry.outcome, entry.actor, entry.subject_id) == (
        "footage.ingest",
        "ok",
        "ivy",
        str(footage.id),
    )
    details = json.loads(entry.details)
    assert (details["camera"], details["sha256"], details["size_bytes"]) == ("PEN-01", sha, footage.size_bytes)
    assert details["duration_s"] == pytest.approx(2.0)

    db.expire_all()  # what the database holds, not the session's objects
    reread = get_footage(db, footage.id)
    assert reread.start_time == TAG and reread.start_time.tzinfo is not None


@pytest.mark.parametrize(
    ("tag", "given", "expected", "source", "warning"),
    [
        (TAG, None, TAG, "metadata", None),
        (None, GIVEN, GIVEN, "operator", None),
        (TAG, GIVEN, GIVEN, "operator", "creation_time tag says 2026-03-01T10:15:30"),
        (None, None, datetime(2026, 2, 27, 9, 0, tzinfo=UTC), "file mtime", "its modification time"),
        (datetime(1990, 6, 1, tzinfo=UTC), None, datetime(2026, 2, 27, 9, 0, tzinfo=UTC), "file mtime", "implausible"),
    ],
)
def test_start_time_comes_from_the_operator_then_the_file_tag_then_its_mtime(
    db: Session,
    settings: Settings,
    tmp_path: Path,
    tag: datetime | None,
    given: datetime | None,
    expected: datetime,
    source: str,
    warning: str | None,
) -> None:
    path = make_video(tmp_path / "clip.mp4", creation_time=tag)
    mtime = datetime(2026, 2, 27, 9, 0, tzinfo=UTC).timestamp()
    os.utime(path, (mtime, mtime))
    result = _ingest(db, settings, path, start=given)
    assert (result.footage.start_time, result.footage.start_time_source) == (expected, source)
    if warning is None:
        assert result.warnings == ()
    else:
        assert any(warning in text for text in result.warnings), result.warnings


@pytest.mark.parametrize(
    ("start", "error"),
    [
        (datetime(2026, 3, 1, 14, 5), "with its UTC offset"),  # naive: refused
        (utcnow() + timedelta(hours=2), "in the future"),
        (datetime(1, 1, 1, tzinfo=UTC), "before 1990"),  # F12: was accepted
        (datetime(1989, 12, 31, 23, 59, tzinfo=UTC), "before 1990"),
    ],
)
def test_bad_operator_start_is_refused(
    db: Session, settings: Settings, tmp_path: Path, start: datetime, error: str
) -> None:
    with pytest.raises(InvalidInput, match=error):
        _ingest(db, settings, make_video(tmp_path / "clip.avi"), start=start)
    assert _stored(settings) == []


def test_duplicate_is_linked_not_stored_twice(db: Session, settings: Settings, tmp_path: Path) -> None:
    source = make_video(tmp_path / "clip.avi")
    first = _ingest(db, settings, source).footage
    copy = tmp_path / "resent.avi"
    copy.write_bytes(source.read_bytes())
    other = make_user(db, "olu", "operator", trained_for=("analytics",), cases=("CUM-2026-0009",))
    second = ingest_footage(
        db,
        settings=settings,
        user=other,
        source_path=copy,
        camera_code="PEN-01",
        source="owner portal",
        case_ref="CUM-2026-0009",
    )
    assert second.duplicate and second.footage.id == first.id
    assert "already ingested as footage" in second.warnings[0]
    assert _footage_count(db) == 1 and len(_stored(settings)) == 1
    assert [(e.action, e.actor) for e in first.custody] == [("ingested", "ivy"), ("duplicate submitted", "olu")]
    assert json.loads(first.custody[1].details)["source"] == "owner portal"
    assert first.case is not None and first.case.reference == "CUM-2026-0009"  # now held for the case
    entry = _last_audit(db)
    assert (entry.action, entry.actor, entry.subject_id) == ("footage.ingest", "olu", str(first.id))
    assert json.loads(entry.details)["duplicate"] is True


def _text(path: Path) -> Path:
    path.write_text("PC 1234's statement, not a video\n" * 100)
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


REFUSED: list[tuple[str, Callable[[Path], Path], str]] = [
    ("empty.mp4", _empty, "'empty.mp4' is empty"),
    ("statement.mp4", _text, "'statement.mp4' is not a video file vigil can read"),
    ("cut.mp4", lambda p: truncate(make_video(p.with_name("w.mp4")), p, 0.3), "'cut.mp4' is not a video file"),
    (
        "cut.avi",
        lambda p: truncate(make_video(p.with_name("w.avi"), size=(160, 120)), p, 0.3),
        "'cut.avi' is truncated",
    ),
    ("folder.mp4", _folder, "'folder.mp4' is not a regular file"),
    ("missing.mp4", lambda p: p, "cannot read 'missing.mp4': No such file"),
]


@pytest.mark.parametrize(("name", "make", "error"), REFUSED, ids=[row[0] for row in REFUSED])
def test_what_is_not_decodable_video_is_refused_and_nothing_stored(
    db: Session, settings: Settings, tmp_path: Path, name: str, make: Callable[[Path], Path], error: str
) -> None:
    make_video(tmp_path / "good.avi")
    _ingest(db, settings, tmp_path / "good.avi")  # so that "nothing new" is checked against something
    before_rows, before_files = _footage_count(db), _stored(settings)
    user = make_user(db, "ned", trained_for=("analytics",))
    with pytest.raises(InvalidInput, match=error):
        ingest_footage(db, settings=settings, user=user, source_path=make(tmp_path / name), camera_code="PEN-01")
    assert (_footage_count(db), _stored(settings)) == (before_rows, before_files)


def test_image_is_refused(db: Session, settings: Settings, tmp_path: Path) -> None:
    photo = tmp_path / "suspect.jpg"
    assert cv2.imwrite(str(photo), np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(InvalidInput, match=r"'suspect\.jpg' is a JPEG image, not a video"):
        _ingest(db, settings, photo)
    assert (_footage_count(db), _stored(settings)) == (0, [])


def test_unknown_camera_is_refused(db: Session, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no camera with code 'NOPE-9'"):
        _ingest(db, settings, make_video(tmp_path / "clip.avi"), camera_code="NOPE-9")
    assert (_footage_count(db), _stored(settings)) == (0, [])


def test_untrained_user_is_refused_and_audited(db: Session, settings: Settings, tmp_path: Path) -> None:
    una = make_user(db, "una")
    with pytest.raises(NotPermitted, match="no current training record for analytics \\(searching footage\\)"):
        _ingest(db, settings, make_video(tmp_path / "clip.avi"), user=una)
    entry = _last_audit(db)
    assert (entry.actor, entry.action, entry.outcome) == ("una", "footage.ingest", "refused")
    assert (_footage_count(db), _stored(settings)) == (0, [])


def test_path_traversal_in_the_client_name_is_harmless(db: Session, settings: Settings, tmp_path: Path) -> None:
    upload = make_video(tmp_path / "upload.part", container_format="mp4")
    result = _ingest(db, settings, upload, original_name="../../etc/passwd.mp4")
    footage = result.footage
    assert footage.original_name == "passwd.mp4"
    assert footage.stored_path == f"footage/{footage.sha256[:2]}/{footage.sha256}.mp4"
    assert footage_path(settings, footage).is_relative_to(settings.data_dir)
    assert not (settings.data_dir.parent / "etc").exists() and not (tmp_path.parent / "etc" / "passwd.mp4").exists()


def test_extension_falls_back_to_the_detected_container(db: Session, settings: Settings, tmp_path: Path) -> None:
    result = _ingest(db, settings, make_video(tmp_path / "clip.mkv"), original_name="export from DVR")
    assert result.footage.stored_path.endswith(".mkv")


def test_invalid_case_reference_is_refused(db: Session, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="case reference must be"):
        _ingest(db, settings, make_video(tmp_path / "clip.avi"), case_ref="../etc")
    assert db.scalars(select(Case.reference)).all() == ["CUM-2026-0001"]  # only the one ivy is a member of


def test_verify_detects_a_changed_file(db: Session, settings: Settings, tmp_path: Path) -> None:
    footage = _ingest(db, settings, make_video(tmp_path / "clip.avi")).footage
    assert verify_footage(db, footage=footage, settings=settings, actor="ivy")
    stored = footage_path(settings, footage)
    stored.chmod(0o640)
    with stored.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01")
    assert not verify_footage(db, footage=footage, settings=settings)
    stored.unlink()
    assert not verify_footage(db, footage=footage, settings=settings)
    actions = [e.action for e in footage.custody]
    assert actions == ["ingested", "hash verified", "hash verification FAILED", "hash verification FAILED"]
    assert json.loads(footage.custody[-1].details)["problem"].startswith("the stored file cannot be read")
    assert _last_audit(db).outcome == "failed"


def test_analysis_needs_a_current_pia(db: Session, settings: Settings, tmp_path: Path) -> None:
    user = make_user(db, "ivy", trained_for=("analytics",))
    today = utcnow().date()
    make_camera(db, "PEN-01", pia_review=today + timedelta(days=30))
    make_camera(db, "PEN-02")
    covered = _ingest(db, settings, make_video(tmp_path / "a.avi"), user=user, camera_code="PEN-01").footage
    uncovered = _ingest(db, settings, make_video(tmp_path / "b.mp4"), user=user, camera_code="PEN-02").footage
    check_analysable(db, footage=covered, user=user, today=today)
    with pytest.raises(NotPermitted, match=r"camera PEN-02 .* no current Privacy Impact Assessment"):
        check_analysable(db, footage=uncovered, user=user, today=today)
    assert (_last_audit(db).action, _last_audit(db).outcome) == ("analysis.start", "refused")


def test_list_and_get_footage(db: Session, settings: Settings, tmp_path: Path) -> None:
    user = make_user(db, "ivy", trained_for=("analytics",))
    make_camera(db, "PEN-01")
    make_camera(db, "PEN-02")
    late = _ingest(db, settings, make_video(tmp_path / "a.avi"), user=user, camera_code="PEN-01", start=GIVEN)
    early = _ingest(db, settings, make_video(tmp_path / "b.mp4"), user=user, camera_code="PEN-02", start=TAG)
    assert [f.id for f in list_footage(db)] == [early.footage.id, late.footage.id]
    assert [f.id for f in list_footage(db, camera_code="pen-01")] == [late.footage.id]
    with pytest.raises(NotFound, match="no camera"):
        list_footage(db, camera_code="NOPE")
    with pytest.raises(NotFound, match="no footage with id 999999"):
        get_footage(db, 999999)


def test_orphan_files_lists_only_unreferenced_old_files(db: Session, settings: Settings, tmp_path: Path) -> None:
    footage = _ingest(db, settings, make_video(tmp_path / "clip.avi")).footage
    stray = footage_root(settings.data_dir) / "ff" / ("f" * 64 + ".mp4")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a rolled-back ingest")
    old = (utcnow() - timedelta(days=2)).timestamp()
    os.utime(stray, (old, old))
    os.utime(footage_path(settings, footage), (old, old))
    assert orphan_files(db, settings=settings) == [stray]
    assert db.scalar(select(func.count()).select_from(CustodyEvent)) == 1


def test_the_sweep_deletes_stale_partials_and_old_orphans_only_and_audits_it(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    """F11: a partial file a killed upload or copy left behind is deleted; live partials and footage are not."""
    footage = _ingest(db, settings, make_video(tmp_path / "clip.avi")).footage
    root = footage_root(settings.data_dir)
    old = (utcnow() - timedelta(hours=2)).timestamp()
    dead_upload, dead_copy, live_upload = root / ".upload-a1.part", root / ".partial-b2.part", root / ".upload-c3.part"
    for path in (dead_upload, dead_copy, live_upload):
        path.write_bytes(b"half a video")
    for path in (dead_upload, dead_copy, footage_path(settings, footage)):
        os.utime(path, (old, old))
    outside = settings.data_dir / ".upload-elsewhere.part"  # not in the footage folder: not ours to delete
    outside.write_bytes(b"x")
    os.utime(outside, (old, old))
    assert stale_partials(settings) == [dead_copy, dead_upload]
    assert sweep_stale_files(db, settings=settings) == [dead_copy, dead_upload]
    assert not dead_upload.exists() and not dead_copy.exists()
    assert live_upload.exists() and outside.exists() and footage_path(settings, footage).exists()
    entry = _last_audit(db)
    assert (entry.action, entry.actor) == ("footage.sweep", "system")
    assert json.loads(entry.details)["partial_files"] == 2
    assert sweep_stale_files(db, settings=settings) == [] and _last_audit(db).seq == entry.seq  # nothing: no entry
