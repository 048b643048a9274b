"""The retention scheduler: applies the retention rules every ``settings.retention.run_every_minutes``.

It runs as an asyncio task in the web app's lifespan; each run happens in a worker thread with its own
database session, the first one interval after start-up. Each run (and the app's start-up) first sweeps the
footage folder of partial files a killed upload or copy left behind (:func:`sweep_footage_folder`).
"""

from __future__ import annotations

import asyncio
import logging

from vigil.db.session import session_scope
from vigil.footage.custody import sweep_stale_files
from vigil.governance.retention import RetentionReport, default_rules, run_retention
from vigil.registry.housekeeping import run_scheduled_housekeeping
from vigil.system import System

log = logging.getLogger("vigil.retention")


def sweep_footage_folder(system: System) -> int:
    """Delete partial uploads and copies a killed process left behind, and unrecorded files (at start-up and
    before every retention run); the number of files deleted."""
    with session_scope(system.sessions) as db:
        removed = sweep_stale_files(db, settings=system.settings)
    if removed:
        log.info("removed %d stale partial or unrecorded file(s) from the footage folder", len(removed))
    return len(removed)


def run_scheduled_retention(system: System) -> RetentionReport:
    settings = system.settings
    with session_scope(system.sessions) as db:
        return run_retention(db, rules=default_rules(settings), data_dir=settings.data_dir)


async def retention_loop(system: System) -> None:
    """Run retention forever at the configured interval; a failed run is logged and retried next time."""
    interval_s = system.settings.retention.run_every_minutes * 60
    while True:
        await asyncio.sleep(interval_s)
        try:  # the registry's reminders, link expiry and purges of unconfirmed registrations (issue 5)
            await asyncio.to_thread(run_scheduled_housekeeping, system)
        except Exception:
            log.exception("scheduled registry housekeeping failed")
        try:
            await asyncio.to_thread(sweep_footage_folder, system)
        except Exception:
            log.exception("sweeping the footage folder failed")
        try:
            report = await asyncio.to_thread(run_scheduled_retention, system)
        except Exception:
            log.exception("scheduled retention run failed")
            continue
        deleted = {result.data_class: result.rows for result in report.results}
        log.info("retention run: deleted %s", deleted)
        for problem in report.file_errors:
            log.warning("retention: %s", problem)
