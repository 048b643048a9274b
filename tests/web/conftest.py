"""The web app on a fresh SQLite file per test, driven through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.support.webapp import TestClient
from vigil.web.app import create_app


def client_for(tmp_path: Path, **overrides: object) -> TestClient:
    """A client of a new app on its own data folder (use as a context manager to run the lifespan)."""
    return TestClient(create_app(make_settings(tmp_path / "data", **overrides)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as test_client:
        yield test_client
