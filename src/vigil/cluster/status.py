"""`vigil cluster status`: the nodes of the Ray cluster and the bulk chunks queued or running on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.settings import Settings


@dataclass(frozen=True)
class NodeStatus:
    node_id: str
    address: str
    alive: bool
    cpus: float
    chunks_running: int


@dataclass(frozen=True)
class ClusterStatus:
    nodes: list[NodeStatus]
    chunks: list[dict[str, object]]

    @property
    def queued(self) -> int:
        return sum(1 for chunk in self.chunks if chunk["state"] == "queued")

    @property
    def running(self) -> int:
        return sum(1 for chunk in self.chunks if chunk["state"] == "running")


def cluster_status(settings: Settings) -> ClusterStatus:
    """Nodes (alive, CPUs) and the chunk board's queue, read from the configured cluster."""
    from vigil.cluster.engine import BOARD, connect

    ray = connect(settings)
    try:
        chunks: list[dict[str, object]] = ray.get(ray.get_actor(BOARD).snapshot.remote(), timeout=30)
    except ValueError:  # no bulk job has run on this cluster yet
        chunks = []
    nodes = [_node(node, chunks) for node in ray.nodes()]
    return ClusterStatus(nodes=sorted(nodes, key=lambda n: (not n.alive, n.address, n.node_id)), chunks=chunks)


def _node(node: dict[str, Any], chunks: list[dict[str, object]]) -> NodeStatus:
    node_id = str(node["NodeID"])
    return NodeStatus(
        node_id=node_id,
        address=str(node.get("NodeManagerAddress", "?")),
        alive=bool(node.get("Alive")),
        cpus=float(node.get("Resources", {}).get("CPU", 0.0)),
        chunks_running=sum(1 for c in chunks if c["state"] == "running" and c["node"] == node_id),
    )


def render(status: ClusterStatus) -> str:
    """Plain text for the terminal."""
    alive = [node for node in status.nodes if node.alive]
    lines = [f"nodes: {len(alive)} alive of {len(status.nodes)}, {sum(n.cpus for n in alive):g} CPUs"]
    for node in status.nodes:
        state = "alive" if node.alive else "dead"
        lines.append(
            f"  {node.address:<15} {node.node_id[:12]}  {state:<5}  {node.cpus:g} CPU  "
            f"{node.chunks_running} chunk(s) running  0 camera(s)"
        )
    lines.append(f"bulk chunks: {status.running} running, {status.queued} queued")
    for chunk in status.chunks:
        where = f" on {str(chunk['node'])[:12]}" if chunk["node"] else ""
        lines.append(f"  job {chunk['job']} chunk {chunk['chunk']}: {chunk['state']}{where}")
    lines.append("live cameras: run by the local supervisor (none on the cluster)")
    return "\n".join(lines)
