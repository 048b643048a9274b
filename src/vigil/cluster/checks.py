"""Cluster prerequisites, checked rather than assumed: PostgreSQL, Ray, a reachable cluster, a shared store.

SQLite is a file on one machine: under ``VIGIL_ENGINE=ray`` the database is refused unless it is PostgreSQL. The
footage store (``VIGIL_DATA_DIR``) must be the same folder on every node: the driver writes a probe file with a
random token into it and a task pinned to each alive node reads it back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from vigil.settings import Settings

PROBE_FOLDER = ".cluster-probe"


@dataclass(frozen=True)
class Finding:
    """One prerequisite: met or not, in words an operator can act on."""

    what: str
    ok: bool
    detail: str


def database_finding(settings: Settings) -> Finding:
    if settings.is_sqlite:
        return Finding(
            "database",
            False,
            "VIGIL_ENGINE=ray needs PostgreSQL (set VIGIL_DATABASE_URL=postgresql+psycopg://...): "
            "the embedded SQLite file cannot be shared by the machines of a cluster",
        )
    return Finding("database", True, "PostgreSQL")


def read_probe(path: str) -> str:
    """Task body: the probe file's text as this node sees it, or why it cannot be read."""
    try:
        return "ok:" + Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return f"error:{type(exc).__name__}: {exc.strerror or exc}"


def store_findings(settings: Settings, ray: object) -> list[Finding]:
    """One finding per alive node: can it read a probe file the driver just wrote into the footage store?"""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    folder = settings.data_dir / PROBE_FOLDER
    token = secrets.token_hex(16)
    probe = folder / f"{token}.txt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_text(token, encoding="utf-8")
    except OSError as exc:
        return [Finding("footage store", False, f"cannot write a probe file into {folder}: {exc}")]
    findings = []
    try:
        reader = ray.remote(read_probe)  # type: ignore[attr-defined]
        nodes = [node for node in ray.nodes() if node.get("Alive")]  # type: ignore[attr-defined]
        refs = [
            reader.options(
                num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            ).remote(str(probe))
            for node in nodes
        ]
        for node, answer in zip(nodes, ray.get(refs, timeout=120), strict=True):  # type: ignore[attr-defined]
            name = f"node {node['NodeManagerAddress']} ({node['NodeID'][:8]})"
            if answer == f"ok:{token}":
                findings.append(Finding("footage store", True, f"{name} reads {settings.data_dir}"))
            else:
                reason = answer.removeprefix("error:") if answer.startswith("error:") else "it holds other content"
                findings.append(
                    Finding(
                        "footage store",
                        False,
                        f"{name} cannot read the footage store {settings.data_dir} "
                        f"(probe {probe.name}: {reason}); mount the same shared folder at this path on every node",
                    )
                )
    finally:
        probe.unlink(missing_ok=True)
    return findings


def cluster_findings(settings: Settings) -> list[Finding]:
    """Every prerequisite of ``VIGIL_ENGINE=ray``, met or not (connects to the cluster to check the store)."""
    from vigil.cluster.engine import ClusterError, connect

    findings = [database_finding(settings)]
    try:
        ray = connect(settings)
    except ClusterError as exc:
        return [*findings, Finding("ray cluster", False, exc.message)]
    alive = [node for node in ray.nodes() if node.get("Alive")]
    findings.append(Finding("ray cluster", True, f"{settings.ray.address} with {len(alive)} alive node(s)"))
    return findings + store_findings(settings, ray)


def require_cluster(settings: Settings) -> None:
    """Raise :class:`~vigil.cluster.engine.ClusterError` naming every prerequisite that is missing."""
    from vigil.cluster.engine import ClusterError

    database = database_finding(settings)
    if not database.ok:  # refused before any connection is tried
        raise ClusterError(database.detail)
    missing = [finding for finding in cluster_findings(settings) if not finding.ok]
    if missing:
        raise ClusterError("the Ray cluster cannot be used:\n  " + "\n  ".join(f.detail for f in missing))
