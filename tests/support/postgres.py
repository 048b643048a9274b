"""A throwaway PostgreSQL server on 127.0.0.1, started by the tests and removed afterwards."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_pg_bin() -> Path | None:
    override = os.environ.get("VIGIL_TEST_PG_BIN")
    if override:
        return Path(override)
    for directory in PG_BIN_DIRS:
        if (directory / "initdb").exists():
            return directory
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; on CI (root) the server runs as the Debian 'postgres' user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh database on a fresh server; stop and delete it afterwards."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        raise RuntimeError("PostgreSQL server binaries not found (make test installs Debian's postgresql)")
    root = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    try:
        subprocess.run(
            _as_server_user([str(pg_bin / "initdb"), "-D", str(data), "-U", "vigil", "--auth=trust", "-E", "UTF8"]),
            **run,  # type: ignore[call-overload]
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_server_user(
                [str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
            ),
            **run,  # type: ignore[call-overload]
        )
        subprocess.run(
            [str(pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "vigil", "vigil_test"],
            **run,  # type: ignore[call-overload]
        )
        yield f"postgresql+psycopg://vigil@127.0.0.1:{port}/vigil_test"
    finally:
        subprocess.run(
            _as_server_user([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
