"""F10: every image input reads the picture's size from its header and refuses a pixel bomb before decoding it."""

from __future__ import annotations

import functools
import json
import resource
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import make_settings
from tests.faces.builders import PURPOSE, encode, hopper
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, csrf_of, log_in, notices, seed
from vigil.errors import InvalidInput
from vigil.faces.images import decode_photo, read_photo
from vigil.vision.image_files import ImageHeader, decode_image, read_header
from vigil.web.app import create_app

CASE = "CUM-2026-0010"
BOMB_SIDE = 20_000
MIB = 1 << 20


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """A valid PNG of side×side black pixels (1-bit grey) that compresses to a few tens of kB:
    decoded to BGR it needs side² × 3 bytes (1.2 GB for 20,000 px)."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    rows = (b"\0" * (1 + (side + 7) // 8)) * side
    chunks = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def webp_vp8x(width: int, height: int) -> bytes:
    body = b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(body)) + b"WEBP" + b"VP8X" + struct.pack("<I", len(body)) + body


def bmp_header(width: int, height: int) -> bytes:
    dib = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(dib), 0, 0, 14 + len(dib)) + dib


def gif_header(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def tiff_header(width: int, height: int) -> bytes:
    entries = struct.pack("<HHII", 256, 4, 1, width) + struct.pack("<HHII", 257, 4, 1, height)
    return b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 2) + entries + b"\0\0\0\0"


SMALL = np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".bmp", ".tiff"])
def test_the_header_of_real_images_gives_their_size(ext: str) -> None:
    data = cv2.imencode(ext, SMALL)[1].tobytes()
    header = read_header(data)
    assert header is not None and (header.width, header.height) == (64, 48)
    assert decode_image(data, label="photo", max_pixels=64 * 48).shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("PNG", lambda w, h: png_bomb(w)),
        ("JPEG", jpeg_header),
        ("WebP", webp_vp8x),
        ("BMP", bmp_header),
        ("GIF", gif_header),
        ("TIFF", tiff_header),
    ],
)
def test_a_pixel_bomb_of_every_format_is_refused_before_decoding(
    kind: str, make: Callable[[int, int], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_decodes(monkeypatch)
    data = make(BOMB_SIDE, BOMB_SIDE)
    assert read_header(data) == ImageHeader(kind, BOMB_SIDE, BOMB_SIDE)
    with pytest.raises(InvalidInput, match=r"bomb\.img: the picture is 20000×20000 pixels \(400 megapixels\)"):
        decode_image(data, label="bomb.img", max_pixels=40_000_000)
    assert calls == []


def test_unknown_formats_and_damaged_headers_are_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_decodes(monkeypatch)
    for data in (b"%PDF-1.4", b"\xff\xd8\xff\xda\0\0", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", b"BM" + b"\0" * 40):
        with pytest.raises(InvalidInput, match=r"not an image vigil can read|declares no picture size"):
            decode_image(data, label="x", max_pixels=40_000_000)
    assert calls == []


def test_the_limit_is_the_configured_one() -> None:
    data = cv2.imencode(".png", SMALL)[1].tobytes()
    with pytest.raises(InvalidInput, match=r"the limit is 0\.003 megapixels"):
        decode_photo(data, label="p.png", max_mb=20, max_pixels=3000)
    assert make_settings(Path("/tmp/x"), vision={"max_image_megapixels": 0.003}).vision.max_image_pixels == 3000


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = cv2.imdecode

    def spy(buffer: np.ndarray, flags: int) -> np.ndarray | None:
        calls.append(len(buffer))
        return real(buffer, flags)

    monkeypatch.setattr(cv2, "imdecode", spy)
    return calls


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path / "data"))
    seed(
        app,
        lambda db: make_user(
            db, "sue", "supervisor", trained_for=("live_fr", "retrospective_fr", "analytics"), cases=(CASE,)
        ),
    )
    with TestClient(app) as test_client:
        assert log_in(test_client, "sue", PASSWORD) == "/"
        yield test_client


def _post(client: TestClient, url: str, page: str, files: dict[str, tuple[str, bytes]], **fields: str) -> str:
    data = {"csrf_token": csrf_of(client.get(page).text), **fields}
    return client.post(url, data=data, files=files).text


def test_a_20000_px_png_posted_to_every_photo_input_is_refused_without_decoding_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: a 1 MB PNG declaring 20,000×20,000 px took the server from 915 MB to 3 GB."""
    bomb = png_bomb()
    assert len(bomb) < MIB
    calls = _count_decodes(monkeypatch)
    before = _peak_rss_mib()
    refusal = "bomb.png: the picture is 20000×20000 pixels (400 megapixels); the limit is 40 megapixels"
    page = "/fr/watchlists"
    _post(client, "/fr/subjects", page, {}, reference="W-1", category="wanted", reason="Warrant for robbery",
          authority="Warrant 2026/1", expires="2099-01-01")  # fmt: skip
    enrol = _post(client, "/fr/subjects/enrol", page, {"image": ("bomb.png", bomb)}, subject="W-1", watchlist="")
    assert any(refusal in n for n in notices(enrol)), notices(enrol)
    _post(client, "/context", "/context", {}, case_ref=CASE, purpose=PURPOSE, next="/")
    retro = f"/fr/retro?case={CASE}"
    probe = _post(client, retro, retro, {"probe": ("bomb.png", bomb)})
    assert any(refusal in n for n in notices(probe)), notices(probe)
    similar = f"/similar?case={CASE}"
    reply = client.post(similar, data={"csrf_token": csrf_of(client.get(similar).text)}, files={"photo": ("b", bomb)})
    assert reply.status_code == 422
    assert "the uploaded file: the picture is 20000×20000 pixels" in reply.text
    assert calls == []
    assert _peak_rss_mib() - before < 400  # decoding it would have needed 1.2 GB


def test_describe_and_the_face_commands_refuse_the_bomb_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.cli import app

    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIL_SECRET_KEY", "cli-test-secret")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb())
    calls = _count_decodes(monkeypatch)
    result = CliRunner().invoke(app, ["describe", str(bomb), "--json"])
    assert result.exit_code == 2
    assert "'bomb.png': the picture is 20000×20000 pixels" in json.loads(result.stdout)[0]["error"]
    with pytest.raises(InvalidInput, match=r"bomb\.png: the picture is 20000×20000 pixels"):
        read_photo(bomb, max_mb=20)  # `vigil fr enrol`, `identify` and `retro` read their photos with it
    assert calls == []
    good = tmp_path / "face.jpg"
    good.write_bytes(encode(hopper()))
    assert read_photo(good, max_mb=20).image.shape[:2] == hopper().shape[:2]
