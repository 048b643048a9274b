"""Content-addressed storage of original files: ``<data_dir>/footage/<sha256[:2]>/<sha256>.<ext>``.

Files are copied byte for byte (hashed while copying, in constant memory) into a partial file in the
footage folder, fsynced, made read-only, then renamed into place, so a stored file is always complete.
The client's file name is kept for display only and never becomes part of a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import AsyncIterable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vigil.errors import InvalidInput, VigilError

CHUNK_BYTES = 1 << 20
MIB = 1 << 20
STORED_MODE = 0o440
PARTIAL_PREFIX = ".partial-"
UPLOAD_PREFIX = ".upload-"
FOOTAGE_FOLDER = "footage"
_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")
_SEPARATORS = re.compile(r"[\\/]")


class UploadTooLarge(InvalidInput):
    status_code = 413


@dataclass(frozen=True)
class StagedFile:
    """A complete, hashed copy waiting to be placed (or discarded)."""

    path: Path
    sha256: str
    size_bytes: int
    source_mtime: float  # the original's modification time (POSIX seconds)


def footage_root(data_dir: Path) -> Path:
    return data_dir / FOOTAGE_FOLDER


def safe_name(name: str) -> str:
    """The last component of a client-supplied name, printable characters only (for display, never a path)."""
    base = _SEPARATORS.split(name)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return "unnamed" if base in ("", ".", "..") else base[:255]


def safe_extension(name: str) -> str:
    """The lower-case extension of a name if it is 1-8 letters or digits, else ''."""
    _, dot, ext = safe_name(name).rpartition(".")
    ext = ext.lower()
    return ext if dot and _EXTENSION.match(ext) else ""


def stored_relative_path(sha256: str, ext: str) -> str:
    """Where a file with this hash is kept, relative to the data folder (``footage/ab/abcd….mp4``)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256) or not _EXTENSION.match(ext):
        raise ValueError("stored paths are built from a SHA-256 hex digest and a checked extension")
    return f"{FOOTAGE_FOLDER}/{sha256[:2]}/{sha256}.{ext}"


def _new_partial(folder: Path, prefix: str = PARTIAL_PREFIX) -> tuple[int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".part")
    return fd, Path(name)


def discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed + 64 * MIB:
        raise VigilError(
            f"not enough disk space in {folder} to store this file ({needed / MIB:.0f} MiB needed, "
            f"{free / MIB:.0f} MiB free)"
        )


def stage_copy(source: Path, *, root: Path, name: str) -> StagedFile:
    """Copy ``source`` into a partial file under ``root``, hashing while copying; fsynced, read-only."""
    try:
        facts = source.stat()
        if not stat.S_ISREG(facts.st_mode):  # checked before opening: a FIFO or device could block forever
            raise InvalidInput(f"{name!r} is not a regular file")
        reader = source.open("rb")
    except OSError as exc:
        raise InvalidInput(f"cannot read {name!r}: {exc.strerror or exc}") from None
    with reader:
        if facts.st_size == 0:
            raise InvalidInput(f"{name!r} is empty (0 bytes)")
        root.mkdir(parents=True, exist_ok=True)
        _check_space(root, facts.st_size)
        fd, partial = _new_partial(root)
        try:
            digest, written = _copy_hashing(reader, fd)
        except BaseException as exc:
            discard(partial)
            if isinstance(exc, OSError):
                raise VigilError(f"could not copy {name!r} into {root}: {exc.strerror or exc}") from None
            raise
    return StagedFile(partial, digest, written, facts.st_mtime)


def _copy_hashing(reader: BinaryIO, fd: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    written = 0
    with os.fdopen(fd, "wb") as writer:
        while chunk := reader.read(CHUNK_BYTES):
            digest.update(chunk)
            writer.write(chunk)
            written += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
        os.fchmod(writer.fileno(), STORED_MODE)
    return digest.hexdigest(), written


def place(staged: StagedFile, *, data_dir: Path, relative_path: str) -> Path:
    """Rename a staged file to its final place (atomic on one file system) and sync the folder."""
    final = data_dir / relative_path
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged.path, final)
    _fsync_dir(final.parent)
    return final


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def receive_upload(chunks: Iterable[bytes], *, dest_dir: Path, max_bytes: int) -> Path:
    """Write an upload's chunks to a new file in ``dest_dir``; refuse as soon as it passes ``max_bytes``.

    The partial file is deleted on refusal or any error (e.g. the client disconnecting). The caller ingests
    the returned file and then deletes it.
    """
    fd, path = _new_partial(dest_dir, prefix=UPLOAD_PREFIX)
    try:
        with os.fdopen(fd, "wb") as writer:
            received = 0
            for chunk in chunks:
                received = _check_size(received + len(chunk), max_bytes)
                writer.write(chunk)
    except BaseException:
        discard(path)
        raise
    return path


async def receive_upload_stream(chunks: AsyncIterable[bytes], *, dest_dir: Path, max_bytes: int) -> Path:
    """:func:`receive_upload` for an async body stream (a web request's), with the same limit and clean-up.

    The chunks are written as they arrive (a write to the page cache takes microseconds, so the event loop
    is not held up); the file is not fsynced, since it is only read back by the ingest that copies it.
    """
    fd, path = _new_partial(dest_dir, prefix=UPLOAD_PREFIX)
    try:
        with os.fdopen(fd, "wb") as writer:
            received = 0
            async for chunk in chunks:
                received = _check_size(received + len(chunk), max_bytes)
                writer.write(chunk)
    except BaseException:
        discard(path)
        raise
    return path


def check_upload_size(size_bytes: int, max_bytes: int) -> None:
    """Refuse an upload whose declared size (Content-Length) is over the limit before receiving it."""
    _check_size(size_bytes, max_bytes)


def _check_size(received: int, max_bytes: int) -> int:
    if received > max_bytes:
        raise UploadTooLarge(f"the file is larger than the {max_bytes / MIB:g} MiB limit for uploads")
    return received


def stored_files(root: Path) -> Iterator[Path]:
    """Every file under the footage folder, including partial files of copies in progress."""
    if root.is_dir():
        yield from (path for path in root.rglob("*") if path.is_file())
