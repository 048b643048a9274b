"""Which process runs an analysis job, and whether that process still lives.

A job records its owner as ``host|boot id|pid|process start time`` when it starts. At start-up a running job
whose owner was on this machine and is gone (another boot, no such process, or the pid now belongs to a newer
process) is resumed at once, however fresh its heartbeat: a server killed and restarted within a minute no
longer leaves its jobs "running" for ever. An owner on another machine (a shared PostgreSQL database) cannot
be checked from here, so its heartbeat decides, as before.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_PROC = Path("/proc")
_SEP = "|"


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or '' if unknown."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces; fields after it are fixed
    return fields[19] if len(fields) > 19 else ""


def process_identity(pid: int | None = None) -> str:
    """This (or ``pid``'s) process as a job owner: ``host|boot id|pid|start ticks``."""
    pid = os.getpid() if pid is None else pid
    return _SEP.join((socket.gethostname()[:100], _boot_id(), str(pid), _start_ticks(pid)))


def owner_is_alive(owner: str | None) -> bool | None:
    """True if the owner process still runs, False if it is certainly gone, None if this cannot be told here."""
    if not owner:
        return None
    parts = owner.split(_SEP)
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    host, boot, pid, ticks = parts
    if host != socket.gethostname()[:100] or not boot or not ticks:
        return None
    if boot != _boot_id():
        return False  # the machine has restarted since
    return _start_ticks(int(pid)) == ticks
