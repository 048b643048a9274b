"""The access-log filter (finding F8, defence in depth): token-shaped strings are redacted, everything else kept."""

from __future__ import annotations

import logging

from vigil.registry.links import new_token
from vigil.web.logscrub import REDACTED, TokenScrubber


def access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it: (client, method, path, http version, status)."""
    args = ("127.0.0.1:5000", "GET", path, "1.1", 200)
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)


def test_tokens_in_old_style_links_and_queries_are_redacted_and_the_rest_of_the_line_kept() -> None:
    token = new_token()
    for path in (f"/upload/{token}", f"/register/manage/{token}/delete", f"/register/verify?t={token}"):
        record = access_record(path)
        assert TokenScrubber().filter(record) is True
        line = record.getMessage()
        assert token not in line and REDACTED in line and line.startswith('127.0.0.1:5000 - "GET /')


def test_ordinary_paths_are_untouched() -> None:
    record = access_record("/footage/12/tracks?case=CUM-2026-000417&page=2")
    TokenScrubber().filter(record)
    assert record.getMessage().endswith('"GET /footage/12/tracks?case=CUM-2026-000417&page=2 HTTP/1.1" 200')
