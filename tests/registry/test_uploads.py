from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.footage.builders import make_video, truncate
from tests.registry.smtp import Mailbox
from tests.support.registry_requests import CONTEXT, officer, send_one
from tests.support.registry_uploads import send_file
from vigil.db.base import utcnow
from vigil.db.models import Footage
from vigil.db.registry_models import RequestUpload
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.footage.storage import UploadTooLarge
from vigil.governance.audit import AuditContext
from vigil.registry.requests import UPLOADED, LinkNotUsable, finish_request
from vigil.registry.uploads import (
    CONSENT_BASIS,
    RECEIVED_UNDER_REQUEST,
    REFUSED,
    STORED,
    append_chunk,
    begin_upload,
    complete_upload,
    partial_path,
)
from vigil.settings import Settings


def stored_files(settings: Settings) -> list[Path]:
    return [p for p in settings.data_dir.rglob("*") if p.is_file() and "vigil.db" not in p.name]


def footage_count(db: Session) -> int:
    return int(db.execute(select(func.count(Footage.id))).scalar_one())


def test_an_uploaded_video_becomes_evidence_for_the_case_with_custody_naming_the_request(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    video = make_video(tmp_path / "front door.mp4", seconds=3)
    stored = send_file(db, settings, sent.token, video)
    footage = stored.footage
    assert footage.case is not None and footage.case.reference == CONTEXT.case_ref
    assert footage.original_name == "front door.mp4" and footage.size_bytes == video.stat().st_size
    assert footage.camera.code == f"REG-{sent.request.owner_id}"
    custody = [(event.action, json.loads(event.details)) for event in footage.custody]
    assert custody[-1] == (
        RECEIVED_UNDER_REQUEST,
        {
            "request": sent.request.id,
            "registration": sent.request.owner_id,
            "case": CONTEXT.case_ref,
            "analysis_basis": CONSENT_BASIS,
        },
    )
    assert f"footage request {sent.request.id}" in footage.source
    assert (stored.upload.status, sent.request.status) == (STORED, UPLOADED)
    assert not partial_path(settings, stored.upload).exists()
    # several files until the owner says "finished"
    second = send_file(db, settings, sent.token, make_video(tmp_path / "garden.avi", seconds=2, container_format="avi"))
    assert second.footage.id != footage.id
    finish_request(db, token=sent.token)
    with pytest.raises(LinkNotUsable, match="finished"):
        send_file(db, settings, sent.token, video)


def test_an_interrupted_upload_resumes_from_where_it_stopped(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    data = make_video(tmp_path / "clip.mp4").read_bytes()
    upload = begin_upload(db, settings=settings, token=sent.token, name="clip.mp4", size_bytes=len(data))
    key = upload.upload_key
    append_chunk(db, settings=settings, token=sent.token, upload_key=key, offset=0, data=data[:1000])
    with pytest.raises(Conflict, match="expected the chunk at byte 1000"):  # a retried chunk after a lost reply
        append_chunk(db, settings=settings, token=sent.token, upload_key=key, offset=0, data=data[:1000])
    with pytest.raises(InvalidInput, match="incomplete: 1000 of"):
        complete_upload(db, settings=settings, token=sent.token, upload_key=key)
    db.commit()
    append_chunk(db, settings=settings, token=sent.token, upload_key=key, offset=1000, data=data[1000:])
    db.commit()
    stored = complete_upload(db, settings=settings, token=sent.token, upload_key=key)
    assert stored.footage.size_bytes == len(data)


def refused_and_nothing_stored(
    db: Session, settings: Settings, token: str, path: Path, message: str, *, name: str | None = None
) -> None:
    before_files, before_rows = stored_files(settings), footage_count(db)
    with pytest.raises(InvalidInput, match=message) as caught:
        send_file(db, settings, token, path, name=name)
    assert "Nothing was stored" in caught.value.message
    assert footage_count(db) == before_rows
    assert stored_files(settings) == before_files


def test_a_file_that_is_not_video_is_refused_and_nothing_stored(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video at all\n" * 200)
    refused_and_nothing_stored(db, settings, sent.token, text, "not a video file|not video")
    [upload] = db.execute(select(RequestUpload).where(RequestUpload.request_id == sent.request.id)).scalars()
    assert upload.status == REFUSED and upload.error


def test_a_truncated_video_is_refused_and_nothing_stored(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    whole = make_video(tmp_path / "whole.mp4", seconds=4, faststart=True)
    cut = truncate(whole, tmp_path / "cut.mp4", 0.6)
    refused_and_nothing_stored(db, settings, sent.token, cut, "truncated|damaged|cut short|incomplete|decode")


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..\\..\\windows\\system32\\x.mp4", "/etc/shadow", "clip\x00.mp4", "..", "a/b.mp4"],
)
def test_a_path_traversal_file_name_is_refused_and_nothing_stored(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path, name: str
) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    video = make_video(tmp_path / "clip.mp4")
    refused_and_nothing_stored(db, settings, sent.token, video, "must be a plain file name", name=name)
    assert db.execute(select(RequestUpload).where(RequestUpload.request_id == sent.request.id)).first() is None


def test_over_size_files_and_requests_are_refused_before_anything_is_received(
    db: Session, settings: Settings, mailbox: Mailbox
) -> None:
    limited = settings.model_copy(
        update={"registry": settings.registry.model_copy(update={"max_file_mb": 2, "max_request_mb": 3})}
    )
    sent = send_one(db, limited, mailbox, officer(db))
    with pytest.raises(UploadTooLarge, match="2 MiB limit per file"):
        begin_upload(db, settings=limited, token=sent.token, name="big.mp4", size_bytes=2 * 2**20 + 1)
    begin_upload(db, settings=limited, token=sent.token, name="one.mp4", size_bytes=2 * 2**20)
    with pytest.raises(UploadTooLarge, match="3 MiB limit"):
        begin_upload(db, settings=limited, token=sent.token, name="two.mp4", size_bytes=2 * 2**20)
    upload = begin_upload(db, settings=limited, token=sent.token, name="three.mp4", size_bytes=10)
    with pytest.raises(InvalidInput, match="more bytes arrived than the 10 announced"):
        append_chunk(db, settings=limited, token=sent.token, upload_key=upload.upload_key, offset=0, data=b"x" * 11)


def test_a_link_cannot_touch_another_request_s_upload(
    db: Session, settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    user = officer(db)
    ours = send_one(db, settings, mailbox, user)
    other_case = AuditContext("CUM-2026-000999", "a different case with its own footage request")
    theirs = send_one(db, settings, mailbox, user, other_case)
    upload = begin_upload(db, settings=settings, token=theirs.token, name="clip.mp4", size_bytes=100)
    with pytest.raises(NotFound, match="no such upload"):
        append_chunk(db, settings=settings, token=ours.token, upload_key=upload.upload_key, offset=0, data=b"x")
    with pytest.raises(NotFound, match="no such upload"):
        complete_upload(db, settings=settings, token=ours.token, upload_key=upload.upload_key)


def test_expired_and_revoked_links_take_no_files(db: Session, settings: Settings, mailbox: Mailbox) -> None:
    sent = send_one(db, settings, mailbox, officer(db))
    later = sent.request.expires_at + timedelta(minutes=1)
    with pytest.raises(LinkNotUsable, match="expired"):
        begin_upload(db, settings=settings, token=sent.token, name="clip.mp4", size_bytes=10, now=later)
    sent.request.revoked_at = utcnow()
    with pytest.raises(LinkNotUsable, match="withdrawn"):
        begin_upload(db, settings=settings, token=sent.token, name="clip.mp4", size_bytes=10)
