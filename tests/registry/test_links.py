"""Emailed links follow the address vigil actually serves on (issue 10, item 3): they pointed at :8000 while vigil
ran on :8765. Only a configured mail.link_base_url overrides it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.registry.builders import deliver_mail, registration_data
from tests.registry.smtp import Mailbox, links_in
from vigil.cli import served_settings
from vigil.registry.links import link_base
from vigil.registry.owners import parse_registration, register


@pytest.mark.parametrize(
    ("web", "mail", "expected"),
    [
        ({"port": 8765}, {}, "http://127.0.0.1:8765"),
        ({"host": "0.0.0.0", "port": 8080}, {}, "http://localhost:8080"),
        ({"host": "::1", "port": 9000}, {}, "http://[::1]:9000"),
        ({"port": 8765}, {"link_base_url": "https://cctv.example.police.uk"}, "https://cctv.example.police.uk"),
    ],
)
def test_the_link_base_is_the_served_address_unless_configured(
    tmp_path: Path, web: dict[str, object], mail: dict[str, object], expected: str
) -> None:
    assert link_base(make_settings(tmp_path, web=web, mail=mail)) == expected


def test_serving_on_another_port_moves_the_links_with_it(tmp_path: Path) -> None:
    served = served_settings(make_settings(tmp_path), host=None, port=8765)
    assert (served.web.host, served.web.port) == ("127.0.0.1", 8765)
    assert link_base(served) == "http://127.0.0.1:8765"


def test_a_registration_email_links_to_the_port_vigil_serves_on(db: Session, tmp_path: Path, mailbox: Mailbox) -> None:
    settings = make_settings(tmp_path / "data", web={"port": 8765}, mail={"port": mailbox.port})
    data = parse_registration(registration_data())
    registered = register(db, settings=settings, data=data)
    deliver_mail(db, settings)
    assert links_in(mailbox.wait_for(data.email)[0]) == [f"http://127.0.0.1:8765/register/verify#{registered.token}"]
