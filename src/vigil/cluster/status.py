"""`vigil cluster status`: the nodes of the Ray cluster, the bulk chunks queued or running on them, and each live
camera's node and lag (from its health row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from vigil.db.live_models import LiveHealth
from vigil.db.session import make_engine, make_session_factory, session_scope
from vigil.settings import Settings


@dataclass(frozen=True)
class NodeStatus:
    node_id: str
    address: str
    alive: bool
    cpus: float
    chunks_running: int
    cameras: tuple[str, ...] = ()


@dataclass(frozen=True)
class CameraStatus:
    """A live camera as its worker last reported it: state, lag behind the stream and the node it runs on."""

    code: str
    state: str
    lag_s: float
    node: str


@dataclass(frozen=True)
class ClusterStatus:
    nodes: list[NodeStatus]
    chunks: list[dict[str, object]]
    cameras_restarting: tuple[str, ...] = ()
    cameras: tuple[CameraStatus, ...] = ()

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
    placed = camera_nodes(ray)
    nodes = [_node(node, chunks, placed) for node in ray.nodes()]
    return ClusterStatus(
        nodes=sorted(nodes, key=lambda n: (not n.alive, n.address, n.node_id)),
        chunks=chunks,
        cameras_restarting=tuple(sorted(code for code, node in placed.items() if node is None)),
        cameras=camera_health(settings, sorted(placed)),
    )


def camera_health(settings: Settings, codes: list[str]) -> tuple[CameraStatus, ...]:
    """State, lag and node of the cameras ``codes`` from their health rows (a camera without one is ``unknown``)."""
    if not codes:
        return ()
    engine = make_engine(settings)
    try:
        with session_scope(make_session_factory(engine)) as db:
            rows = {
                row.camera_code: CameraStatus(row.camera_code, row.state, row.lag_s, row.node)
                for row in db.execute(select(LiveHealth).where(LiveHealth.camera_code.in_(codes))).scalars()
            }
    finally:
        engine.dispose()
    return tuple(rows.get(code) or CameraStatus(code, "unknown", 0.0, "") for code in codes)


def camera_nodes(ray: Any) -> dict[str, str | None]:
    """Camera code -> the node its actor runs on (None while Ray restarts it), for every camera actor."""
    from vigil.cluster.cameras import ACTOR_PREFIX

    found: dict[str, str | None] = {}
    for name in ray.util.list_named_actors():
        if not name.startswith(ACTOR_PREFIX):
            continue
        code = name.removeprefix(ACTOR_PREFIX)
        try:
            found[code] = str(ray.get(ray.get_actor(name).where.remote(), timeout=5)[0])
        except (ray.exceptions.RayError, TimeoutError, ValueError):
            found[code] = None
    return found


def _node(node: dict[str, Any], chunks: list[dict[str, object]], placed: dict[str, str | None]) -> NodeStatus:
    node_id = str(node["NodeID"])
    return NodeStatus(
        node_id=node_id,
        address=str(node.get("NodeManagerAddress", "?")),
        alive=bool(node.get("Alive")),
        cpus=float(node.get("Resources", {}).get("CPU", 0.0)),
        chunks_running=sum(1 for c in chunks if c["state"] == "running" and c["node"] == node_id),
        cameras=tuple(sorted(code for code, where in placed.items() if where == node_id)),
    )


def render(status: ClusterStatus) -> str:
    """Plain text for the terminal."""
    alive = [node for node in status.nodes if node.alive]
    lines = [f"nodes: {len(alive)} alive of {len(status.nodes)}, {sum(n.cpus for n in alive):g} CPUs"]
    for node in status.nodes:
        state = "alive" if node.alive else "dead"
        lines.append(
            f"  {node.address:<15} {node.node_id[:12]}  {state:<5}  {node.cpus:g} CPU  "
            f"{node.chunks_running} chunk(s) running  {len(node.cameras)} camera(s)"
            + (f": {', '.join(node.cameras)}" if node.cameras else "")
        )
    lines.append(f"bulk chunks: {status.running} running, {status.queued} queued")
    for chunk in status.chunks:
        where = f" on {str(chunk['node'])[:12]}" if chunk["node"] else ""
        lines.append(f"  job {chunk['job']} chunk {chunk['chunk']}: {chunk['state']}{where}")
    lines.append(f"cameras: {len(status.cameras)}")
    for camera in status.cameras:
        where = f"on {camera.node}" if camera.node else "node not reported yet"
        lines.append(f"  {camera.code:<12} {camera.state:<10} lag {camera.lag_s:.2f} s  {where}")
    if status.cameras_restarting:
        lines.append(f"cameras being restarted: {', '.join(status.cameras_restarting)}")
    return "\n".join(lines)
