"""The schedulers: retention rules every ``settings.retention.run_every_minutes``, and signed audit checkpoints
every ``settings.audit.checkpoint_every_minutes`` (and at start and shutdown, see :mod:`vigil.web.app`).

Each runs as an asyncio task in the web app's lifespan; each run happens in a worker thread with its own
database session, the first one interval after start-up. Each retention run (and the app's start-up) first sweeps
the footage folder of partial files a killed upload or copy left behind (:func:`sweep_footage_folder`).
"""

from __future__ import annotations

import asyncio
import logging

from vigil.db.session import session_scope
from vigil.domain.clock import SYSTEM_CLOCK, Clock
from vigil.footage.custody import sweep_stale_files
from vigil.governance.audit_anchor import AnchorError, checkpoint_now
from vigil.governance.retention import RetentionReport, run_retention
from vigil.registry.housekeeping import run_scheduled_housekeeping
from vigil.system import System, default_rules

log = logging.getLogger("vigil.retention")
anchor_log = logging.getLogger("vigil.audit")


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


async def retention_loop(system: System, *, clock: Clock = SYSTEM_CLOCK) -> None:
    """Run retention forever at the configured interval, the first one interval after start; a failed run is
    logged and retried next time."""
    interval_s = system.settings.retention.run_every_minutes * 60
    while True:
        await clock.sleep(interval_s)
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


def write_audit_checkpoint(system: System) -> None:
    """Sign and append an audit checkpoint (the key is made on first start); failures are logged, never raised.

    A chain that no longer continues the last checkpoint is logged as an error and not signed.
    """
    try:
        with session_scope(system.sessions) as db:
            checkpoint = checkpoint_now(db, settings=system.settings)
    except AnchorError as exc:
        anchor_log.error("%s", exc.message)
        return
    except Exception:
        anchor_log.exception("writing the audit checkpoint failed")
        return
    if checkpoint is not None:
        anchor_log.info("audit checkpoint %d: entry %d (%d entries)", checkpoint.n, checkpoint.seq, checkpoint.count)


async def checkpoint_loop(system: System, *, clock: Clock = SYSTEM_CLOCK) -> None:
    """Write an audit checkpoint every ``settings.audit.checkpoint_every_minutes`` (0: never; shutdown still does)."""
    minutes = system.settings.audit.checkpoint_every_minutes
    if minutes <= 0:
        return
    while True:
        await clock.sleep(minutes * 60)
        await asyncio.to_thread(write_audit_checkpoint, system)
