from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.errors import InvalidInput
from vigil.footage.storage import (
    MIB,
    STORED_MODE,
    receive_upload,
    safe_extension,
    safe_name,
    stage_copy,
    stored_relative_path,
)


@pytest.mark.parametrize(
    ("given", "name", "ext"),
    [
        ("clip.MP4", "clip.MP4", "mp4"),
        ("../../etc/passwd.mp4", "passwd.mp4", "mp4"),
        ("C:\\exports\\cam 3\\2026-03-01.avi", "2026-03-01.avi", "avi"),
        ("..", "unnamed", ""),
        ("", "unnamed", ""),
        ("bad\x00name\n.mkv", "badname.mkv", "mkv"),
        ("no-extension", "no-extension", ""),
        ("weird.mp4;rm -rf", "weird.mp4;rm -rf", ""),
        ("archive.tar.gz", "archive.tar.gz", "gz"),
        ("long." + "x" * 9, "long." + "x" * 9, ""),
        ("x" * 300 + ".mp4", "x" * 255, ""),
    ],
)
def test_client_names_are_never_paths(given: str, name: str, ext: str) -> None:
    assert safe_name(given) == name
    assert safe_extension(given) == ext


def test_stored_paths_are_built_only_from_a_digest_and_a_checked_extension() -> None:
    digest = "ab" + "0" * 62
    assert stored_relative_path(digest, "mp4") == f"footage/ab/{digest}.mp4"
    for bad_digest, bad_ext in [("../" + "0" * 61, "mp4"), (digest, "../x"), (digest.upper(), "mp4")]:
        with pytest.raises(ValueError, match="SHA-256"):
            stored_relative_path(bad_digest, bad_ext)


def test_stage_copy_hashes_while_copying_and_makes_the_copy_read_only(tmp_path: Path) -> None:
    source = tmp_path / "evidence.bin"
    source.write_bytes(bytes(range(256)) * 9000)  # > 2 MiB: several chunks
    staged = stage_copy(source, root=tmp_path / "footage", name="evidence.bin")
    assert staged.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert staged.size_bytes == source.stat().st_size
    assert staged.path.read_bytes() == source.read_bytes()
    assert staged.path.stat().st_mode & 0o777 == STORED_MODE


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"v" * min(size, total - start)


def test_upload_within_the_limit_is_written_whole(tmp_path: Path) -> None:
    path = receive_upload(_chunks(MIB), dest_dir=tmp_path / "uploads", max_bytes=MIB)
    assert path.parent == tmp_path / "uploads"
    assert path.read_bytes() == b"v" * MIB


def test_upload_over_the_limit_is_refused_and_the_partial_file_deleted(tmp_path: Path) -> None:
    consumed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        for chunk in _chunks(10 * MIB):
            consumed += len(chunk)
            yield chunk

    with pytest.raises(InvalidInput, match="file is larger than the 1 MiB limit"):
        receive_upload(chunks(), dest_dir=tmp_path / "uploads", max_bytes=MIB)
    assert consumed <= MIB + 64 * 1024  # refused as soon as the limit was passed, not after reading it all
    assert list((tmp_path / "uploads").iterdir()) == []


def test_upload_interrupted_by_the_client_leaves_nothing(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        receive_upload(chunks(), dest_dir=tmp_path / "uploads", max_bytes=MIB)
    assert list((tmp_path / "uploads").iterdir()) == []
