"""Defence in depth for secret link tokens: scrub anything shaped like one from the access log.

Emailed links carry their token after ``#`` (never sent to the server) and pages exchange it in a POST body for
an HttpOnly cookie, so no token should reach a URL the server logs. Should one arrive anyway (an old link, a
hand-typed URL), this filter replaces it before the access log line is written.
"""

from __future__ import annotations

import logging
import re

TOKEN_SHAPED = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
REDACTED = "[redacted]"
ACCESS_LOGGERS = ("uvicorn.access",)


def scrub(text: str) -> str:
    return TOKEN_SHAPED.sub(REDACTED, text)


class TokenScrubber(logging.Filter):
    """Rewrites a record's message and string arguments with token-shaped strings redacted (never drops it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install(scrubber: TokenScrubber) -> None:
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).addFilter(scrubber)


def uninstall(scrubber: TokenScrubber) -> None:
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).removeFilter(scrubber)
