"""Evidence export bundles on really analysed footage: made, verified, and every kind of tampering refused."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.analysed import analysed_footage
from tests.support.builders import make_user
from vigil.db.models import AuditEntry, Case, EvidenceExport, Footage, Track, User
from vigil.errors import InvalidInput, NotFound, NotPermitted
from vigil.footage.custody import add_custody_event, footage_path
from vigil.governance.audit import AuditContext
from vigil.governance.keys import secret_key
from vigil.governance.retention import run_retention
from vigil.search.export.clips import BOX_COLOUR
from vigil.search.export.manifest import MANIFEST_DIGEST, MANIFEST_HMAC, MANIFEST_JSON
from vigil.search.export.retention import ExportRule
from vigil.search.export.service import create_export, download_export, export_candidates
from vigil.search.export.verify import compare_with_chain, verify_bundle
from vigil.search.review.marks import mark_track
from vigil.settings import Settings
from vigil.system import default_rules

CASE = AuditContext(case_ref="CUM-2026-000777", purpose="identify the suspect of the market square assault")


def _investigator(db: Session) -> User:
    return make_user(db, "investigator", trained_for=("analytics", "export"), cases=(CASE.case_ref, "CUM-2026-000999"))


def _confirmed_footage(db: Session, settings: Settings, user: User) -> tuple[Footage, list[Track]]:
    """Analysed footage whose two tracks the investigator confirmed (first) and rejected (second) for CASE."""
    footage = analysed_footage(db, settings, user=user)
    tracks = list(db.execute(select(Track).where(Track.footage_id == footage.id).order_by(Track.id)).scalars())
    assert len(tracks) == 2
    mark_track(db=db, user=user, context=CASE, track_id=tracks[0].id, verdict="confirmed", note="matches CAD 12")
    mark_track(db=db, user=user, context=CASE, track_id=tracks[1].id, verdict="rejected", note="wrong colours")
    add_custody_event(
        db,
        footage=footage,
        actor="investigator",
        action="hash verified",
        sha256=footage.sha256,
        details={},
        at=footage.ingested_at + timedelta(minutes=5),
    )
    return footage, tracks


@pytest.fixture
def exported(db: Session, settings: Settings) -> tuple[EvidenceExport, Path, list[Track], Footage]:
    user = _investigator(db)
    footage, tracks = _confirmed_footage(db, settings, user)
    row = create_export(db=db, user=user, context=CASE, settings=settings)
    return row, settings.data_dir / row.stored_path, tracks, footage


def _manifest(bundle: Path) -> dict[str, object]:
    with zipfile.ZipFile(bundle) as archive:
        data: dict[str, object] = json.loads(archive.read(MANIFEST_JSON))
    return data


def test_bundle_is_made_for_confirmed_tracks_and_verifies_intact(db: Session, settings: Settings, exported) -> None:
    row, bundle, tracks, _ = exported
    assert bundle.is_file() and bundle.parent == settings.data_dir / "exports" / CASE.case_ref
    assert bundle.name == f"{row.id}.zip" and row.track_count == 1 and row.size_bytes == bundle.stat().st_size
    assert not list(bundle.parent.glob("*.partial")) and not list(bundle.parent.glob(".work-*"))
    report = verify_bundle(bundle, secret=secret_key(settings))
    assert report.ok, report.problems
    assert report.origin_checked and report.files_checked == 3 and report.case_ref == CASE.case_ref
    without_key = verify_bundle(bundle)
    assert without_key.ok and not without_key.origin_checked
    assert "origin not checked" in without_key.describe()[0]
    manifest = _manifest(bundle)
    assert [t["track_id"] for t in manifest["tracks"]] == [tracks[0].id]  # the rejected track stays out
    entry = manifest["tracks"][0]
    assert entry["verdict"]["verdict"] == "confirmed" and entry["verdict"]["marked_by"] == "investigator"
    assert entry["verdict"]["note"] == "matches CAD 12"
    assert entry["attributes"]["upper_colours"] == tracks[0].upper_colours.split(",")
    assert entry["camera"]["code"] == "PEN-01" and entry["location"]["name"] == "Site of PEN-01"
    assert entry["first_seen"]["local"].startswith("2024-05-01T15:")  # BST, UTC+1
    exports = db.execute(select(AuditEntry).where(AuditEntry.action == "export.create")).scalars().all()
    assert len(exports) == 1 and json.loads(exports[0].details)["tracks"] == [tracks[0].id]
    assert json.loads(exports[0].details)["sha256"] == row.sha256


def test_manifest_has_custody_and_the_cases_audit_entries(db: Session, exported) -> None:
    _, bundle, _, footage = exported
    manifest = _manifest(bundle)
    source = manifest["footage"][0]
    assert source["sha256"] == footage.sha256 and source["original_name"] == footage.original_name
    assert source["ingested_by"] == "investigator"
    assert [e["action"] for e in source["custody"]] == [e.action for e in footage.custody] == ["hash verified"]
    audit = manifest["audit"]
    marks = [e for e in audit["entries"] if e["action"] == "review.mark"]
    assert len(marks) == 2 and all(e["case_ref"] == CASE.case_ref for e in audit["entries"])
    stored = {e.seq: e.hash for e in db.execute(select(AuditEntry)).scalars()}
    assert all(stored[e["seq"]] == e["hash"] for e in audit["entries"])  # the same hashes as the live chain
    assert audit["chain_head"]["seq"] >= max(e["seq"] for e in audit["entries"])
    with zipfile.ZipFile(bundle) as archive:
        html = archive.read("manifest.html").decode()
    assert CASE.case_ref in html and footage.sha256 in html and "http" not in html.split("<body>")[0]


def test_clip_is_a_stream_copy_covering_the_track(settings: Settings, exported, tmp_path: Path) -> None:
    _, bundle, tracks, footage = exported
    entry = _manifest(bundle)["tracks"][0]
    clip = entry["clip"]
    assert clip["method"] == "stream copy" and clip["codec"] == "h264"
    first = (tracks[0].first_seen - footage.start_time).total_seconds()
    last = (tracks[0].last_seen - footage.start_time).total_seconds()
    assert clip["start_s"] <= first and clip["end_s"] >= last
    with zipfile.ZipFile(bundle) as archive:
        archive.extract(clip["path"], tmp_path)
    copied = _packets(tmp_path / clip["path"])
    original = _packets(footage_path(settings, footage))
    start = next(i for i, p in enumerate(original) if p == copied[0])
    assert original[start : start + len(copied)] == copied  # byte-for-byte the original's packets
    with av.open(str(tmp_path / clip["path"])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (footage.width, footage.height)
        assert sum(1 for _ in container.decode(stream)) == len(copied)


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def test_still_shows_the_box_of_the_best_observation(exported, tmp_path: Path) -> None:
    _, bundle, tracks, _ = exported
    still = _manifest(bundle)["tracks"][0]["still"]
    with zipfile.ZipFile(bundle) as archive:
        image = cv2.imdecode(np.frombuffer(archive.read(still["path"]), np.uint8), cv2.IMREAD_COLOR)
    x0, y0, x1, _ = (round(v) for v in still["box"])
    assert image.shape[1] == 320 and image.shape[0] > 240  # the picture plus a label band below it
    edge = image[y0, x0 : x1 + 1].astype(int)
    assert (np.abs(edge - np.array(BOX_COLOUR)).sum(axis=1) < 60).mean() > 0.8  # the box's top edge is drawn red
    assert still["frame_index"] in {o.frame_index for o in tracks[0].observations}


Tamper = Callable[[dict[str, bytes]], None]


def _set_json(data: dict[str, bytes], change: Callable[[dict[str, object]], None]) -> None:
    manifest = json.loads(data[MANIFEST_JSON])
    change(manifest)
    data[MANIFEST_JSON] = json.dumps(manifest).encode()


def _flip_clip_byte(data: dict[str, bytes]) -> None:
    name = next(n for n in data if n.startswith("clips/"))
    clip = bytearray(data[name])
    clip[len(clip) // 2] ^= 0xFF
    data[name] = bytes(clip)


def _rename_still(data: dict[str, bytes]) -> None:
    name = next(n for n in data if n.startswith("stills/"))
    data["stills/other.png"] = data.pop(name)


TAMPERS: list[tuple[str, Tamper, str]] = [
    ("changed clip byte", _flip_clip_byte, "does not match its SHA-256"),
    ("changed manifest field", lambda d: _set_json(d, lambda m: m.update(case_ref="CUM-OTHER")), "MANIFEST.sha256"),
    ("added file", lambda d: d.update({"clips/extra.mp4": b"not evidence"}), "not in the manifest (added)"),
    ("removed file", lambda d: d.pop(next(n for n in d if n.startswith("stills/"))), "is missing from the bundle"),
    ("renamed member", _rename_still, "stills/other.png is in the bundle but not in the manifest"),
    ("parent-path member", lambda d: d.update({"../evil.sh": b"rm -rf /"}), "unsafe member name '../evil.sh'"),
    ("absolute member", lambda d: d.update({"/etc/passwd": b"x"}), "unsafe member name '/etc/passwd'"),
]


@pytest.mark.parametrize(("tamper", "problem"), [(t, p) for _, t, p in TAMPERS], ids=[n for n, _, _ in TAMPERS])
def test_tampered_bundle_is_refused(settings: Settings, exported, tmp_path: Path, tamper: Tamper, problem: str) -> None:
    _, bundle, _, _ = exported
    with zipfile.ZipFile(bundle) as archive:
        data = {name: archive.read(name) for name in archive.namelist()}
    tamper(data)
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, content in data.items():
            archive.writestr(zipfile.ZipInfo(name), content)
    report = verify_bundle(forged, secret=secret_key(settings))
    assert not report.ok
    assert any(problem in line for line in report.problems), report.problems
    assert "NOT intact" in report.describe()[0]


def test_manifest_rehashed_by_a_forger_fails_the_hmac(settings: Settings, exported, tmp_path: Path) -> None:
    """Editing the manifest and recomputing MANIFEST.sha256 passes the hash check but not the HMAC."""
    _, bundle, _, _ = exported
    with zipfile.ZipFile(bundle) as archive:
        data = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(data[MANIFEST_JSON])
    manifest["tracks"][0]["verdict"]["marked_by"] = "someone-else"
    data[MANIFEST_JSON] = json.dumps(manifest).encode()
    from vigil.search.export.manifest import digest_line

    data[MANIFEST_DIGEST] = digest_line(data[MANIFEST_JSON])
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, content in data.items():
            archive.writestr(name, content)
    assert verify_bundle(forged).ok  # without the key only the recomputable hashes can be checked
    report = verify_bundle(forged, secret=secret_key(settings))
    assert report.problems == [
        f"{MANIFEST_HMAC} does not match: the manifest was changed, or the bundle was not made by this system"
    ]


def test_edited_audit_entry_in_the_manifest_is_found(exported, tmp_path: Path) -> None:
    _, bundle, _, _ = exported
    with zipfile.ZipFile(bundle) as archive:
        data = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(data[MANIFEST_JSON])
    manifest["audit"]["entries"][0]["actor"] = "nobody"
    data[MANIFEST_JSON] = json.dumps(manifest).encode()
    from vigil.search.export.manifest import digest_line

    data[MANIFEST_DIGEST] = digest_line(data[MANIFEST_JSON])
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, content in data.items():
            archive.writestr(name, content)
    seq = manifest["audit"]["entries"][0]["seq"]
    assert verify_bundle(forged).problems == [f"audit entry {seq} does not match its hash (edited)"]


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_JSON, b"\0" * (64 * 2**20))
    report = verify_bundle(bomb)
    assert not report.ok and "zip bomb" in report.problems[0]
    assert "refused" in verify_bundle(bomb, max_total_bytes=1000).problems[0]


def test_not_a_zip_is_a_clear_problem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip")
    assert verify_bundle(junk).problems[0].startswith("the bundle cannot be read as a zip")


def test_unconfirmed_track_is_refused(db: Session, settings: Settings) -> None:
    user = _investigator(db)
    _, tracks = _confirmed_footage(db, settings, user)
    with pytest.raises(InvalidInput, match=f"track {tracks[1].id} is not confirmed for case {CASE.case_ref}"):
        create_export(db=db, user=user, context=CASE, settings=settings, track_ids=[tracks[0].id, tracks[1].id])
    assert db.execute(select(EvidenceExport)).scalars().all() == []


def test_case_with_nothing_confirmed_is_refused(db: Session, settings: Settings) -> None:
    user = _investigator(db)
    _confirmed_footage(db, settings, user)
    other = AuditContext(case_ref="CUM-2026-000999", purpose="a different investigation entirely")
    with pytest.raises(InvalidInput, match="no track is confirmed for case CUM-2026-000999"):
        create_export(db=db, user=user, context=other, settings=settings)


def test_untrained_user_is_refused_and_audited(db: Session, settings: Settings) -> None:
    user = _investigator(db)
    _confirmed_footage(db, settings, user)
    untrained = make_user(db, "newcomer", trained_for=("analytics",))
    with pytest.raises(NotPermitted, match="no current training record for evidence export"):
        create_export(db=db, user=untrained, context=CASE, settings=settings)
    refusal = db.execute(select(AuditEntry).where(AuditEntry.actor == "newcomer")).scalars().one()
    assert (refusal.action, refusal.outcome, refusal.case_ref) == ("export.create", "refused", CASE.case_ref)
    assert not (settings.data_dir / "exports").exists() or not any((settings.data_dir / "exports").rglob("*.zip"))


def test_failure_midway_leaves_no_zip_and_no_row(db: Session, settings: Settings) -> None:
    user = _investigator(db)
    footage, _ = _confirmed_footage(db, settings, user)
    source = footage_path(settings, footage)
    source.chmod(0o600)
    source.unlink()
    before = db.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    with pytest.raises(NotFound, match=f"the stored file of footage {footage.id} is missing"):
        create_export(db=db, user=user, context=CASE, settings=settings)
    assert db.execute(select(EvidenceExport)).scalars().all() == []
    [failed] = db.execute(select(AuditEntry).where(AuditEntry.action == "export.create")).scalars().all()
    assert (
        failed.outcome == "failed"
        and failed.seq == before + 1
        and "is missing" in json.loads(failed.details)["problem"]
    )
    left = [p for p in (settings.data_dir / "exports").rglob("*")] if (settings.data_dir / "exports").exists() else []
    assert [p for p in left if p.is_file()] == []


def test_download_is_reauthorised_and_audited(db: Session, settings: Settings, exported) -> None:
    row, bundle, _, _ = exported
    user = db.execute(select(User).where(User.username == "investigator")).scalar_one()
    got, path = download_export(db, user=user, context=CASE, settings=settings, export_id=row.id)
    assert got.id == row.id and path == bundle.resolve()
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "export.download")).scalars().one()
    assert entry.subject_id == str(row.id) and json.loads(entry.details)["sha256"] == row.sha256
    other = AuditContext(case_ref="CUM-2026-000999", purpose="a different investigation entirely")
    with pytest.raises(NotFound):
        download_export(db, user=user, context=other, settings=settings, export_id=row.id)
    listing = export_candidates(db, user=user, context=CASE)
    assert [e.id for e in listing.exports] == [row.id] and len(listing.tracks) == 1


def test_bundle_copied_elsewhere_still_verifies(settings: Settings, exported, tmp_path: Path) -> None:
    _, bundle, _, _ = exported
    copy = tmp_path / "handed-to-cps.zip"
    shutil.copyfile(bundle, copy)
    assert verify_bundle(copy, secret=secret_key(settings)).ok
    assert not verify_bundle(copy, secret="another system's secret").ok


def test_bundles_follow_their_case_under_retention(db: Session, settings: Settings, exported) -> None:
    row, bundle, _, _ = exported
    now = row.created_at + timedelta(days=400)
    kept = run_retention(db, rules=[ExportRule(settings.data_dir, days=31)], data_dir=settings.data_dir, now=now)
    assert kept.results[0].rows == 0 and bundle.is_file()  # the case is still open
    case = db.execute(select(Case).where(Case.reference == CASE.case_ref)).scalar_one()
    case.closed_at, case.retain_until = row.created_at, (row.created_at + timedelta(days=365)).date()
    db.flush()
    held = run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir, now=row.created_at)
    assert {r.data_class: r.rows for r in held.results}["evidence_exports"] == 0  # retained until next year
    gone = run_retention(db, rules=[ExportRule(settings.data_dir, days=31)], data_dir=settings.data_dir, now=now)
    assert (gone.results[0].rows, gone.results[0].files) == (1, 1) and not gone.file_errors
    assert not bundle.exists() and db.get(EvidenceExport, row.id) is None


def test_a_byte_flipped_inside_the_zip_file_is_found(exported, tmp_path: Path) -> None:
    """Damage to the zip file itself (not a re-zipped bundle) is caught by the member's CRC and reported."""
    _, bundle, _, _ = exported
    with zipfile.ZipFile(bundle) as archive:
        info = next(i for i in archive.infolist() if i.filename.startswith("clips/"))
    damaged = tmp_path / "damaged.zip"
    content = bytearray(bundle.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", content, info.header_offset + 26)  # the local file header
    content[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0x01
    damaged.write_bytes(bytes(content))
    report = verify_bundle(damaged)
    assert report.problems == [
        f"file {info.filename} cannot be read from the zip (Bad CRC-32 for file "
        f"'{info.filename}'): it was changed or damaged"
    ]


def test_audit_entries_are_compared_with_the_live_chain(db: Session, settings: Settings, exported) -> None:
    _, bundle, _, _ = exported
    report = verify_bundle(bundle, secret=secret_key(settings))
    compare_with_chain(db, report)
    assert report.ok and report.chain_checked and len(report.audit_hashes) == 2
    assert "match this system's audit log" in report.describe()[0]
    elsewhere = verify_bundle(bundle)
    elsewhere.audit_hashes[10**9] = "0" * 64  # as if the bundle named an entry this system never wrote
    compare_with_chain(db, elsewhere)
    assert elsewhere.problems == [f"audit entry {10**9} is not in this system's audit log"]
