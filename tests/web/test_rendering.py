"""How pages word what the system stores: audit details and capabilities in words, never raw JSON or internal
names."""

from __future__ import annotations

import pytest

from vigil.web.rendering import capability_label, details


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (
            '{"capability":"retrospective_fr","reason":"no training"}',
            "capability: Retrospective facial recognition; reason: no training",
        ),
        ('{"deleted":{"footage":3,"tracks":10},"dry_run":false}', "deleted: footage 3, tracks 10; dry run: no"),
        ('{"cameras":["PEN-01","KES-02"],"note":null}', "cameras: PEN-01, KES-02; note: —"),
        ("not json", "not json"),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_audit_details_read_as_words(stored: str, shown: str) -> None:
    assert details(stored) == shown


@pytest.mark.parametrize(
    ("name", "label"),
    [("retrospective_fr", "Retrospective facial recognition"), ("live_fr", "Live facial recognition"), ("x_y", "X y")],
)
def test_capabilities_have_human_names(name: str, label: str) -> None:
    assert capability_label(name) == label
