"""Checking an evidence bundle: every file present with its SHA-256 and size, nothing added, the manifest's digest,
its HMAC (when the system secret is at hand), and the included audit entries' hash links.

The zip is opened defensively: members with absolute paths, ``..`` parts or backslashes are refused, and the total
declared size, each member's compression ratio and the bytes actually read are capped, so a crafted zip cannot
fill the disk or memory. Nothing is extracted to disk; every member is hashed as it streams.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.models import AuditEntry
from vigil.governance.audit import entry_hash
from vigil.search.export.manifest import (
    FORMAT,
    MANIFEST_DIGEST,
    MANIFEST_HMAC,
    MANIFEST_JSON,
    PROOF_FILES,
    digest_line,
    hmac_matches,
)

MAX_TOTAL_BYTES = 64 * 2**30  # all members together, uncompressed
MAX_MANIFEST_BYTES = 64 * 2**20
MAX_MEMBERS = 10_000
MAX_RATIO = 200  # uncompressed / compressed, for members over 1 MiB
CHUNK = 1 << 20
# What reading a damaged, encrypted or oddly compressed member raises (CRC mismatch, bad deflate data, ...).
UNREADABLE = (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError)


@dataclass
class VerifyReport:
    """What ``vigil export verify`` found: ``ok`` only when there are no problems at all."""

    path: Path
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    audit_entries: int = 0
    origin_checked: bool = False
    case_ref: str = ""
    export_id: int | None = None
    audit_hashes: dict[int, str] = field(default_factory=dict)  # seq -> hash of the included audit entries
    chain_checked: bool = False  # compared with this system's audit log (see compare_with_chain)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> list[str]:
        if not self.ok:
            return [f"{self.path.name}: NOT intact ({len(self.problems)} problems)", *self.problems]
        origin = (
            "made by this vigil system (HMAC checked)"
            if self.origin_checked
            else "origin not checked (no system secret available)"
        )
        chain = "; the audit entries match this system's audit log" if self.chain_checked else ""
        return [
            f"{self.path.name}: intact: {self.files_checked} files match their SHA-256, "
            f"{self.audit_entries} audit entries chain correctly; {origin}{chain}"
        ]


def _unsafe_name(name: str) -> str | None:
    path = PurePosixPath(name)
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute or Windows path"
    if any(part in ("..", "") for part in name.rstrip("/").split("/")) or path.is_absolute():
        return "a '..' or empty path part"
    return None


def _members(archive: zipfile.ZipFile, report: VerifyReport, max_total: int) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        report.problems.append(f"the zip has {len(infos)} members (more than {MAX_MEMBERS}): refused")
        return {}
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        reason = _unsafe_name(info.filename)
        if reason:
            report.problems.append(f"unsafe member name {info.filename!r} ({reason}): refused")
            continue
        if info.is_dir():
            continue
        if info.filename in members:
            report.problems.append(f"member {info.filename!r} appears more than once")
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > CHUNK and ratio > MAX_RATIO:
            report.problems.append(f"member {info.filename!r} expands {ratio:.0f}-fold (a zip bomb?): refused")
            continue
        total += info.file_size
        members[info.filename] = info
    if total > max_total:
        report.problems.append(f"the zip would expand to {total} bytes (more than {max_total}): refused")
        return {}
    return members


def _hash_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    """SHA-256 and length of a member's content, reading no more than its declared size (+1 to notice more)."""
    digest, size = hashlib.sha256(), 0
    with archive.open(info) as handle:
        while size <= info.file_size:
            chunk = handle.read(min(CHUNK, info.file_size + 1 - size))
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _read_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_MANIFEST_BYTES:
        raise ValueError(f"{info.filename} is {info.file_size} bytes (more than {MAX_MANIFEST_BYTES})")
    with archive.open(info) as handle:
        return handle.read(MAX_MANIFEST_BYTES + 1)


def verify_bundle(path: Path, *, secret: str | None = None, max_total_bytes: int = MAX_TOTAL_BYTES) -> VerifyReport:
    """Check an evidence bundle; the report lists every problem found (none means intact)."""
    report = VerifyReport(path=path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive, report, max_total_bytes)
            if members:
                _check_contents(archive, members, report, secret)
    except (*UNREADABLE, zipfile.LargeZipFile, ValueError) as exc:
        report.problems.append(f"the bundle cannot be read as a zip: {exc}")
    return report


def _check_contents(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], report: VerifyReport, secret: str | None
) -> None:
    if MANIFEST_JSON not in members:
        report.problems.append(f"{MANIFEST_JSON} is missing: nothing can be checked")
        return
    raw = _read_small(archive, members[MANIFEST_JSON])
    _check_proofs(archive, members, raw, report, secret)
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        report.problems.append(f"{MANIFEST_JSON} is not valid JSON: {exc}")
        return
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        report.problems.append(f"{MANIFEST_JSON} is not a {FORMAT} manifest")
        return
    report.case_ref = str(manifest.get("case_ref", ""))
    export_id = manifest.get("export_id")
    report.export_id = export_id if isinstance(export_id, int) else None
    _check_files(archive, members, manifest.get("files"), report)
    _check_audit(manifest.get("audit"), report)


def _check_proofs(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], raw: bytes, report: VerifyReport, secret: str | None
) -> None:
    if MANIFEST_DIGEST not in members:
        report.problems.append(f"{MANIFEST_DIGEST} is missing")
    elif _read_small(archive, members[MANIFEST_DIGEST]) != digest_line(raw):
        report.problems.append(f"{MANIFEST_JSON} does not match {MANIFEST_DIGEST} (the manifest was changed)")
    if secret is None:
        return
    if MANIFEST_HMAC not in members:
        report.problems.append(f"{MANIFEST_HMAC} is missing, so the bundle's origin cannot be proved")
    elif not hmac_matches(raw, _read_small(archive, members[MANIFEST_HMAC]), secret):
        report.problems.append(
            f"{MANIFEST_HMAC} does not match: the manifest was changed, or the bundle was not made by this system"
        )
    else:
        report.origin_checked = True


def _check_files(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], files: Any, report: VerifyReport
) -> None:
    if not isinstance(files, list):
        report.problems.append(f"{MANIFEST_JSON} has no list of files")
        return
    listed: set[str] = set()
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            report.problems.append(f"a file entry of {MANIFEST_JSON} is malformed: {item!r}")
            continue
        name = item["path"]
        listed.add(name)
        info = members.get(name)
        if info is None:
            report.problems.append(f"listed file {name} is missing from the bundle")
            continue
        try:
            digest, size = _hash_member(archive, info)
        except UNREADABLE as exc:
            report.problems.append(f"file {name} cannot be read from the zip ({exc}): it was changed or damaged")
            continue
        if size != item.get("size"):
            report.problems.append(f"file {name} is {size} bytes; the manifest says {item.get('size')}")
        if digest != item.get("sha256"):
            report.problems.append(f"file {name} does not match its SHA-256 (it was changed)")
        report.files_checked += 1
    for name in sorted(set(members) - listed - set(PROOF_FILES)):
        report.problems.append(f"file {name} is in the bundle but not in the manifest (added)")


def _entry_of(row: dict[str, Any]) -> AuditEntry:
    """A detached AuditEntry from an exported row, to recompute its hash with the audit log's own function."""
    at = datetime.strptime(str(row["at"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    fields = ("seq", "actor", "action", "outcome", "capability", "case_ref", "purpose", "subject_type")
    entry = AuditEntry(at=at, **{name: row[name] for name in fields})
    entry.subject_id, entry.details, entry.prev_hash = row["subject_id"], row["details"], row["prev_hash"]
    return entry


def _check_audit(audit: Any, report: VerifyReport) -> None:
    """Each included entry matches its hash; consecutive entries link; the sequence rises to the head."""
    if not isinstance(audit, dict) or not isinstance(audit.get("entries"), list):
        report.problems.append(f"{MANIFEST_JSON} has no audit entries section")
        return
    previous: dict[str, Any] | None = None
    for row in audit["entries"]:
        try:
            entry = _entry_of(row)
        except (KeyError, TypeError, ValueError):
            report.problems.append(f"audit entry {row.get('seq') if isinstance(row, dict) else row!r} is malformed")
            continue
        seq = row["seq"]
        if entry_hash(entry) != row.get("hash"):
            report.problems.append(f"audit entry {seq} does not match its hash (edited)")
        if previous is not None:
            if not isinstance(seq, int) or seq <= previous["seq"]:
                report.problems.append(f"audit entry {seq} is out of order")
            elif seq == previous["seq"] + 1 and row["prev_hash"] != previous["hash"]:
                report.problems.append(f"audit entry {seq} does not link to entry {previous['seq']}")
        previous = row
        report.audit_entries += 1
        if isinstance(seq, int) and isinstance(row.get("hash"), str):
            report.audit_hashes[seq] = row["hash"]
    head = audit.get("chain_head")
    head_seq = head.get("seq") if isinstance(head, dict) else None
    if previous is not None and isinstance(head_seq, int) and head_seq < previous["seq"]:
        report.problems.append("the audit chain head is older than the newest included entry")


def compare_with_chain(db: Session, report: VerifyReport) -> None:
    """Check the bundle's audit entries against this system's audit log: each must be there with the same hash
    (``vigil audit verify`` proves the log itself unbroken). Adds a problem for each that is not."""
    seqs = sorted(report.audit_hashes)
    live: dict[int, str] = {}
    for start in range(0, len(seqs), 500):
        stmt = select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(seqs[start : start + 500]))
        live.update({int(seq): str(digest) for seq, digest in db.execute(stmt)})
    for seq in seqs:
        if seq not in live:
            report.problems.append(f"audit entry {seq} is not in this system's audit log")
        elif live[seq] != report.audit_hashes[seq]:
            report.problems.append(f"audit entry {seq} differs from this system's audit log")
    report.chain_checked = True
