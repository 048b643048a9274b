"""A throwaway two-node Ray cluster on 127.0.0.1 (head + one joined node, one CPU each), torn down afterwards.

The joined node runs in a private mount namespace with an empty tmpfs over ``blind``: a folder the head (and the
test) can read but that node cannot, as a store that is not shared with every machine of a real cluster.
Ray's session files go to a temporary folder; the dashboard stays off.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")
RAY_START = (
    "import sys, ray._private.services as services; "
    # `ray start` swaps a loopback --node-ip-address for the machine's outward address: keep 127.0.0.1.
    "services.resolve_ip_for_localhost = lambda host: host; "
    "from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()"
)


@dataclass(frozen=True)
class RayCluster:
    address: str
    blind: Path
    """A folder the joined node cannot read (see the module docstring)."""
    temp_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


DRIVER_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0"}
"""For a driver (a client, never `ray start`): with it Ray's "this machine" is 127.0.0.1 instead of the outward
address, so ``ray.init(address="127.0.0.1:...")`` reaches a cluster bound to the loopback. Set before ray is
imported (:func:`use_loopback`)."""


def use_loopback() -> None:
    """Make this process a loopback Ray driver (see :data:`DRIVER_ENV`); call before the first ``import ray``."""
    if "ray" in sys.modules:
        raise RuntimeError("ray was imported before the loopback driver environment was set")
    os.environ.update(DRIVER_ENV)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in DRIVER_ENV:
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(args: list[str], *, env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr[-2000:]}")


def _wait_for_nodes(address: str, count: int, env: dict[str, str]) -> None:
    probe = (
        "import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False, _node_ip_address='127.0.0.1'); "
        "sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) >= int(sys.argv[2]) else 1)"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        check = [sys.executable, "-c", probe, address, str(count)]
        if subprocess.run(check, env=env | DRIVER_ENV, capture_output=True, timeout=120, check=False).returncode == 0:
            return
        time.sleep(1.0)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {count} nodes")


@contextlib.contextmanager
def local_ray_cluster(*, joined: bool = True, pinned: bool = False) -> Iterator[RayCluster]:
    """Start the head and (unless not ``joined``) the joined node; kill this cluster's processes afterwards.

    ``pinned``: each node and everything it starts runs on a CPU core of its own (head on core 0, joined node on
    core 1, by ``taskset``), as two one-core machines would, rather than both sharing every core of this one.
    """
    if not RAY.exists():
        raise RuntimeError("Ray is not installed (pip install 'vigil[cluster]')")
    root = Path(tempfile.mkdtemp(prefix="vigil-ray-", dir="/tmp"))
    temp_dir, blind = root / "t", root / "blind"
    blind.mkdir()
    port, env = _free_port(), _env()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    head_cpu, node_cpu = (["taskset", "-c", "0"], ["taskset", "-c", "1"]) if pinned else ([], [])
    try:
        _run(
            [
                *head_cpu, sys.executable, "-c", RAY_START, "start", "--head", f"--port={port}",
                "--include-dashboard=false",
                f"--temp-dir={temp_dir}", *common,
            ],
            env=env,
        )  # fmt: skip
        if joined:
            node = [*node_cpu, sys.executable, "-c", RAY_START, "start", f"--address={address}", *common]
            join = f'mount -t tmpfs vigil-blind {blind} && exec "$@"'
            _run(["unshare", "--mount", "--propagation", "private", "sh", "-c", join, "sh", *node], env=env)
        _wait_for_nodes(address, 2 if joined else 1, env)
        yield RayCluster(address=address, blind=blind, temp_dir=temp_dir)
    finally:
        _stop(temp_dir, env)
        shutil.rmtree(root, ignore_errors=True)


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: its parent and command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        found[int(entry.name)] = (parent, command)
    return found


def _stop(temp_dir: Path, env: dict[str, str]) -> None:
    """Kill this cluster's processes only: those whose command line names its temp folder (GCS, raylets and
    their helpers) and all their descendants (the workers, whose titles are ``ray::...``)."""
    table = _processes()
    _kill_trees(table, {pid for pid, (_, command) in table.items() if str(temp_dir) in command})


def task_pids(name: str) -> list[int]:
    """Process ids of Ray workers now running a task called ``name`` (their title is ``ray::name``)."""
    return [pid for pid, (_, command) in _processes().items() if command.startswith(f"ray::{name}")]


def stop_node(node_id: str) -> int:
    """Stop a node as a machine that dies would: ``kill -9`` of its raylet (named by ``--node_id``) and of every
    process under it (its workers and agents). Returns the raylet's process id."""
    table = _processes()
    [raylet] = [pid for pid, (_, command) in table.items() if "raylet" in command and f"--node_id={node_id}" in command]
    _kill_trees(table, {raylet})
    return raylet


def _kill_trees(table: dict[int, tuple[int, str]], roots: set[int]) -> None:
    """``kill -9`` of ``roots`` and all their descendants in ``table`` (never this process)."""
    doomed, grew = roots - {os.getpid()}, True
    while grew:
        more = {pid for pid, (parent, _) in table.items() if parent in doomed} - doomed - {os.getpid()}
        doomed |= more
        grew = bool(more)
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
