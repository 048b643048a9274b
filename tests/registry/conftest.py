"""Fixtures of the registry tests: a real SMTP server and settings that send mail to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.registry.smtp import Mailbox, smtp_server
from vigil.settings import Settings


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def settings(tmp_path: Path, mailbox: Mailbox) -> Settings:
    return make_settings(
        tmp_path / "data",
        mail={"host": "127.0.0.1", "port": mailbox.port, "link_base_url": "https://vigil.example.org"},
    )
