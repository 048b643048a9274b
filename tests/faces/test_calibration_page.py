"""Face-match calibration from the browser: a labelled ZIP in, the TPIR/FPIR table out; bad archives and untrained
users are refused with nothing written."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings, shared_data_dir
from tests.faces.builders import KNN_TRAIN
from tests.support.api import last_entry
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, log_in, notices, page_csrf, seed
from vigil.web.app import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path / "data"))) as test_client:
        yield test_client


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def _post(client: TestClient, archive: bytes) -> list[str]:
    token = page_csrf(client, "/fr/calibration")
    response = client.post(
        "/fr/calibration", data={"csrf_token": token}, files={"photos": ("set.zip", archive, "application/zip")}
    )
    return notices(response.text)


def _sign_in(client: TestClient, **kwargs: object) -> None:
    seed(client.app, lambda db: make_user(db, "sue", "supervisor", **kwargs))  # type: ignore[arg-type]
    assert log_in(client, "sue", PASSWORD) == "/"


def _calibration_file(client: TestClient) -> Path:
    return Path(client.app.state.system.settings.data_dir) / "faces" / "calibration.json"  # type: ignore[attr-defined]


def test_an_untrained_user_is_refused_and_audited(client: TestClient) -> None:
    _sign_in(client)
    assert client.get("/fr/calibration").status_code == 403
    entry = last_entry(client, actor="sue", action_prefix="fr.calibration")
    assert entry.outcome == "refused"


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (b"not a zip at all", "not a readable ZIP"),
        (_zip({"../escape/photo.jpg": b"x"}), "unsafe path"),
        (_zip({"/etc/photo.jpg": b"x"}), "unsafe path"),
        (_zip({"notes.txt": b"x"}), "holds no photos"),
    ],
)
def test_bad_archives_are_refused_and_nothing_is_written(client: TestClient, archive: bytes, message: str) -> None:
    _sign_in(client, trained_for=("live_fr",))
    assert message in " ".join(_post(client, archive))
    assert not _calibration_file(client).exists()
    data_dir = Path(client.app.state.system.settings.data_dir)  # type: ignore[attr-defined]
    assert not (data_dir.parent / "escape").exists() and not list(data_dir.glob("calibration-*"))


@pytest.mark.data
def test_calibration_on_an_uploaded_labelled_set(client: TestClient) -> None:
    folder = shared_data_dir() / KNN_TRAIN
    if not folder.is_dir():
        pytest.skip(f"shared data absent: {folder}")
    files = {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}
    _sign_in(client, trained_for=("live_fr",))
    said = " ".join(_post(client, _zip(files)))
    assert "Calibrated mobilefacenet on" in said, said
    page = client.get("/fr/calibration").text
    assert "False alerts, 10,000 listed" in page and "<td>0.50</td>" in page
    assert _calibration_file(client).is_file()
    assert last_entry(client, actor="sue", action_prefix="fr.calibrate").outcome == "ok"
