"""Signed checkpoints that anchor the audit chain outside the database.

The hash chain alone shows an edit only to someone who cannot rewrite the chain: a database owner can delete
the tail and move the head, or re-hash every later entry, and the chain verifies again. A checkpoint records
the newest entry's sequence number and hash, how many entries the chain held and when, signed with an Ed25519
key kept in a file outside the database, and is appended to a file (and optionally syslog) outside it too.
``verify_anchors`` checks every checkpoint's signature and that the database chain still holds each
checkpointed (sequence, hash) with the same count, and that no entry dated before a checkpoint was added
after it. Each checkpoint also links to the previous line of the file, so a removed line shows.

A checkpoint is written only after the entries since the previous checkpoint have been re-verified, so a
chain tampered with since then is reported instead of being signed.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import syslog
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.errors import VigilError
from vigil.governance.audit import GENESIS_HASH, entry_hash
from vigil.settings import Settings

FORMAT = 1
PUBLIC_KEY_PREFIX = "ed25519:"
# An entry appended after a checkpoint but dated this much before the checkpoint's newest entry was forged. Some
# services date an entry when their work began (an export's clips, an ingest's hashing), so slow work legitimately
# lands a little "in the past"; an hour leaves room for that and still catches an entry back-dated to matter.
BACKDATE_GRACE = timedelta(hours=1)
MAX_PROBLEMS = 50


class AnchorError(VigilError):
    """The signing key or the checkpoint file cannot be used; the message says which and what to do."""

    status_code = 500


@dataclass(frozen=True)
class Checkpoint:
    n: int  # position in the checkpoint file, from 1
    seq: int  # the newest entry's sequence number (0: an empty chain)
    hash: str  # and its hash
    count: int  # entries in the chain up to and including ``seq``
    newest_at: str | None  # the newest entry's own time (UTC, ISO)
    written_at: str  # when the checkpoint was written (UTC, ISO)
    key: str  # id of the signing key (first 16 hex digits of SHA-256 of the public key)
    prev: str  # SHA-256 of the previous line of the file ("" for the first)
    v: int = FORMAT
    sig: str = field(default="", compare=False)

    def payload(self) -> bytes:
        data = {name: value for name, value in asdict(self).items() if name != "sig"}
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


# --- the signing key ---------------------------------------------------------------------------------------


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        raise AnchorError(
            f"the audit signing key {path} is missing: audit checkpoints cannot be signed or checked. Restore the "
            "key from its backup (or give `vigil audit verify --public-key` the key printed by "
            "`vigil audit public-key`)."
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise AnchorError(f"the audit signing key {path} cannot be read ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AnchorError(f"the audit signing key {path} is not an Ed25519 private key")
    return key


def ensure_signing_key(*, key_file: Path, checkpoint_file: Path) -> Ed25519PrivateKey:
    """The signing key, created (mode 0600) on first start; never silently replaced once checkpoints exist."""
    if key_file.exists():
        return load_signing_key(key_file)
    if checkpoint_file.exists() and checkpoint_file.stat().st_size > 0:
        load_signing_key(key_file)  # raises: a new key would make every existing checkpoint unverifiable
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as one line (``ed25519:<base64>``) to hand to third parties who check the checkpoints."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    body = text.strip().removeprefix(PUBLIC_KEY_PREFIX)
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(body, validate=True))
    except ValueError:
        raise AnchorError(f"not an Ed25519 public key (expected {PUBLIC_KEY_PREFIX}<base64>): {text[:80]!r}") from None


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_text(public).encode("ascii")).hexdigest()[:16]


# --- writing checkpoints -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked_file(path: Path) -> Iterator[TextIO]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # the web server and the CLI may both append
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _last_line(handle: TextIO) -> str:
    handle.seek(0)
    last = ""
    for line in handle:
        if line.strip():
            last = line.strip()
    return last


def write_checkpoint(
    db: Session,
    *,
    key: Ed25519PrivateKey,
    checkpoint_file: Path,
    to_syslog: bool = False,
    now: datetime | None = None,
) -> Checkpoint | None:
    """Sign and append a checkpoint of the chain's newest entry; None if nothing was added since the last one.

    Raises AnchorError (and writes nothing) when the chain no longer continues the last checkpoint.
    """
    with _locked_file(checkpoint_file) as handle:
        last_line = _last_line(handle)
        last = _parse_line(last_line) if last_line else None
        newest = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one_or_none()
        seq, hash_ = (newest.seq, newest.hash) if newest else (0, GENESIS_HASH)
        # counted up to the newest entry read, so an append committed meanwhile cannot skew the count
        count = int(db.execute(select(func.count(AuditEntry.id)).where(AuditEntry.seq <= seq)).scalar_one())
        if last is not None:
            _check_continues(db, last, seq=seq, count=count)
            if (last.seq, last.hash, last.count) == (seq, hash_, count):
                return None
        public = key.public_key()
        checkpoint = Checkpoint(
            n=(last.n + 1) if last else 1,
            seq=seq,
            hash=hash_,
            count=count,
            newest_at=_iso(newest.at) if newest else None,
            written_at=_iso(now or utcnow()),
            key=key_id(public),
            prev=hashlib.sha256(last_line.encode("utf-8")).hexdigest() if last_line else "",
        )
        signature = base64.b64encode(key.sign(checkpoint.payload())).decode("ascii")
        signed = Checkpoint(**{**asdict(checkpoint), "sig": signature})
        handle.seek(0, os.SEEK_END)
        handle.write(signed.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if to_syslog:
        syslog.openlog("vigil-audit", 0, syslog.LOG_AUTH)
        syslog.syslog(syslog.LOG_NOTICE, "checkpoint " + signed.line())
    return signed


def _check_continues(db: Session, last: Checkpoint, *, seq: int, count: int) -> None:
    """The chain still holds the last checkpoint's entry, and every entry after it links on correctly."""
    problem = ""
    if seq < last.seq or count < last.count:
        problem = f"the chain now ends at entry {seq} with {count} entries, below the last checkpoint's {last.seq}"
    elif last.seq:
        at_last = db.execute(select(AuditEntry.hash).where(AuditEntry.seq == last.seq)).scalar_one_or_none()
        if at_last != last.hash:
            problem = f"entry {last.seq} no longer has the hash the last checkpoint recorded"
    if not problem:
        expected, prev = last.seq + 1, last.hash
        since_last = select(AuditEntry).where(AuditEntry.seq > last.seq, AuditEntry.seq <= seq)
        rows = db.execute(since_last.order_by(AuditEntry.seq))
        for entry in rows.scalars():
            if entry.seq != expected or entry.prev_hash != prev or entry_hash(entry) != entry.hash:
                problem = f"the chain is broken at entry {expected} since the last checkpoint"
                break
            expected, prev = expected + 1, entry.hash
        if not problem and count - last.count != seq - last.seq:
            problem = "entries were added or removed before the last checkpoint"
    if problem:
        raise AnchorError(f"audit checkpoint NOT written: {problem}; run `vigil audit verify`")


def _parse_line(line: str) -> Checkpoint:
    data: dict[str, Any] = json.loads(line)
    if not isinstance(data, dict) or data.get("v") != FORMAT:
        raise ValueError("not a checkpoint")
    return Checkpoint(**data)


# --- verifying against the checkpoints ---------------------------------------------------------------------


@dataclass
class AnchorReport:
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    last: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def describe(self) -> str:
        if not self.checkpoints and self.ok:
            return "no audit checkpoints yet (the chain is not yet anchored outside the database)"
        if self.ok and self.last is not None:
            return (
                f"audit chain matches all {self.checkpoints} signed checkpoints "
                f"(newest: entry {self.last.seq}, written {self.last.written_at})"
            )
        return "audit chain does NOT match its signed checkpoints:\n  " + "\n  ".join(self.problems)


def read_checkpoints(checkpoint_file: Path, public: Ed25519PublicKey, report: AnchorReport) -> list[Checkpoint]:
    """The checkpoints whose signature verifies; each bad, unsigned or unlinked line is a problem."""
    if not checkpoint_file.exists():
        return []
    valid: list[Checkpoint] = []
    prev_line, prev_ok = "", True
    for number, raw in enumerate(checkpoint_file.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        checkpoint = _signed_checkpoint(line, public, number=number, path=checkpoint_file, report=report)
        if checkpoint is not None:
            expected_prev = hashlib.sha256(prev_line.encode("utf-8")).hexdigest() if prev_line else ""
            if prev_ok and checkpoint.prev != expected_prev:
                report.add(f"CHECKPOINT FILE: line {number} does not follow the line before it (a line was removed)")
            valid.append(checkpoint)
        prev_line, prev_ok = line, checkpoint is not None
    return valid


def _signed_checkpoint(
    line: str, public: Ed25519PublicKey, *, number: int, path: Path, report: AnchorReport
) -> Checkpoint | None:
    try:
        checkpoint = _parse_line(line)
        signature = base64.b64decode(checkpoint.sig, validate=True)
    except (ValueError, TypeError):
        report.add(f"TAMPERED CHECKPOINT: line {number} of {path} is not a readable checkpoint")
        return None
    try:
        public.verify(signature, checkpoint.payload())
    except InvalidSignature:
        signer = "this installation's key" if checkpoint.key == key_id(public) else "another key"
        report.add(
            f"TAMPERED CHECKPOINT: the signature of line {number} of {path} does not verify "
            f"(the line was altered, or it was not signed by {signer})"
        )
        return None
    return checkpoint


def verify_anchors(db: Session, *, checkpoint_file: Path, public: Ed25519PublicKey) -> AnchorReport:
    """Check every checkpoint's signature and that the database chain still agrees with each of them."""
    report = AnchorReport()
    checkpoints = sorted(read_checkpoints(checkpoint_file, public, report), key=lambda c: c.seq)
    report.checkpoints, report.last = len(checkpoints), (checkpoints[-1] if checkpoints else None)
    pending = iter(checkpoints)
    current = next(pending, None)
    counted, max_seq, floor = 0, 0, None  # floor: newest time any passed checkpoint vouched for
    rows = db.execute(
        select(AuditEntry.seq, AuditEntry.hash, AuditEntry.at)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=5000)
    )
    for seq, hash_, at in rows:
        while current is not None and current.seq < seq:
            _compare(report, current, found=None, counted=counted)
            floor = _later(floor, current)
            current = next(pending, None)
        counted, max_seq = counted + 1, seq
        if floor is not None and at < floor - BACKDATE_GRACE:
            report.add(
                f"FORGED ENTRY: entry {seq} is dated {_iso(at)}, before an entry a checkpoint already covered "
                f"({_iso(floor)}), but was not in that checkpoint: it was inserted after the fact"
            )
        while current is not None and current.seq == seq:
            _compare(report, current, found=hash_, counted=counted)
            floor = _later(floor, current)
            current = next(pending, None)
    while current is not None:
        if current.seq > max_seq:
            report.add(
                f"TRUNCATED: checkpoint {current.n} ({current.written_at}) recorded entry {current.seq} "
                f"({current.count} entries), but the chain now ends at entry {max_seq}: "
                f"entries {max_seq + 1}-{current.seq} or more were deleted"
            )
        else:
            _compare(report, current, found=None, counted=counted)
        current = next(pending, None)
    return report


def _later(floor: datetime | None, checkpoint: Checkpoint) -> datetime | None:
    if checkpoint.newest_at is None:
        return floor
    at = datetime.strptime(checkpoint.newest_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return at if floor is None or at > floor else floor


def _compare(report: AnchorReport, checkpoint: Checkpoint, *, found: str | None, counted: int) -> None:
    if checkpoint.seq == 0:
        return
    if found is None:
        report.add(f"DELETED: entry {checkpoint.seq}, recorded by checkpoint {checkpoint.n}, is missing")
    elif found != checkpoint.hash:
        report.add(
            f"RE-CHAINED: entry {checkpoint.seq} has a different hash from the one checkpoint {checkpoint.n} "
            f"({checkpoint.written_at}) recorded: the chain was rewritten at or before entry {checkpoint.seq}"
        )
    if found is not None and counted != checkpoint.count:
        kind = "inserted" if counted > checkpoint.count else "deleted"
        report.add(
            f"FORGED ENTRY: the chain holds {counted} entries up to entry {checkpoint.seq}, checkpoint "
            f"{checkpoint.n} recorded {checkpoint.count}: entries were {kind} before it"
        )


# --- the configured installation ---------------------------------------------------------------------------


def checkpoint_now(db: Session, *, settings: Settings, now: datetime | None = None) -> Checkpoint | None:
    """Write a checkpoint with the configured key, file and syslog setting (the key is made on first use)."""
    key = ensure_signing_key(key_file=settings.audit_signing_key_file, checkpoint_file=settings.audit_checkpoint_file)
    return write_checkpoint(
        db, key=key, checkpoint_file=settings.audit_checkpoint_file, to_syslog=settings.audit.syslog, now=now
    )


def check_anchors(db: Session, *, settings: Settings, public_key: str | None = None) -> AnchorReport:
    """Verify the configured checkpoint file, with the given public key or the installation's own key."""
    checkpoints = settings.audit_checkpoint_file
    if public_key:
        public = parse_public_key(public_key)
    elif not settings.audit_signing_key_file.exists() and not (checkpoints.exists() and checkpoints.stat().st_size):
        return AnchorReport()  # a new installation: nothing signed yet, nothing to check
    else:
        public = load_signing_key(settings.audit_signing_key_file).public_key()
    return verify_anchors(db, checkpoint_file=checkpoints, public=public)


def newest_checkpoint(settings: Settings) -> tuple[str | None, Checkpoint | None]:
    """The public key and the newest checkpoint line (unchecked: ``check_anchors`` verifies), for pages."""
    key_file, checkpoints = settings.audit_signing_key_file, settings.audit_checkpoint_file
    try:
        public = public_key_text(load_signing_key(key_file)) if key_file.exists() else None
    except AnchorError:
        public = None
    if not checkpoints.exists():
        return public, None
    with checkpoints.open(encoding="utf-8") as handle:
        last = _last_line(handle)
    try:
        return public, _parse_line(last) if last else None
    except (ValueError, TypeError):
        return public, None
