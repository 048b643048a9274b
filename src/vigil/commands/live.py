"""`vigil live`: run the live-camera supervisor, and show the cameras' health."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer
from rich.console import Console

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, fail, prepare_quietly, settings, system_session
from vigil.db.live_models import LiveHealth
from vigil.live.sources import CameraSources
from vigil.live.store import camera_health
from vigil.system import open_system

live_app = typer.Typer(
    help="Live cameras: recording, live analysis, health and the supervisor (vigil live run).", no_args_is_help=True
)


@live_app.command("run")
def live_run() -> None:
    """Supervise a worker process per live camera (VIGIL_LIVE__CAMERAS, then every force camera's registered source,
    re-read every 10 s) until interrupted (Ctrl-C or SIGTERM).

    Each worker keeps its stream connected, records it into segments ingested as footage (as the user
    VIGIL_LIVE__RECORDER_USER), runs live analysis, rules and the live FR deployments on its camera, and reports its
    health; a worker that dies is restarted and the gap recorded. The appearance and similar watches run here too
    (keep VIGIL_LIVE__ENABLED off in the web app then).
    """
    config = settings()
    system = open_system(config)
    prepare_quietly(system)
    sources = CameraSources(config, system.sessions).sources()
    if not sources:
        system.close()
        fail(
            "no live cameras are configured: set VIGIL_LIVE__CAMERAS or register a camera's source "
            "(vigil camera source set; see README, 'Live cameras')"
        )
    if not config.live.recorder_user and any(source.recording == "continuous" for source in sources):
        system.close()
        fail("say which vigil user records the segments: set VIGIL_LIVE__RECORDER_USER")
    stopped = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console = Console(stderr=True)
    try:
        system.live.start()
        console.print(f"supervising {len(sources)} live camera(s); Ctrl-C stops", highlight=False)
        stopped.wait()
        console.print("stopping the camera workers (each finishes its segment)", highlight=False)
    finally:
        system.close()


@live_app.command("status")
def live_status(as_user: AsUser = None, as_json: JsonOut = False) -> None:
    """The health of every live camera: state and since when, why, fps, resolution, codec, last frame, lag, and
    its live analysis (on, off or no PIA; frames analysed per second; tracks so far)."""
    with system_session() as (system, db):
        user = acting_user(db, as_user)
        codes = [source.camera_code for source in system.live.resolver.sources()]
        rows = camera_health(db, user=user, codes=codes, context="cli")
        data = [health_facts(row) for row in rows]

    def render() -> None:
        from vigil.commands.common import table

        columns = ["camera", "state", "since", "reason", "fps", "resolution", "codec", "last frame", "drops", "lag s"]
        columns += ["analysis", "analysed fps", "tracks"]
        keys = ["camera", "state", "since", "reason", "fps", "resolution", "codec", "last_frame", "drops", "lag_s"]
        keys += ["analysis", "analysed_fps", "tracks"]
        table("live cameras", columns, [[str(item[key]) for key in keys] for item in data])

    emit(data, as_json, render)


def health_facts(row: LiveHealth) -> dict[str, object]:
    return {
        "camera": row.camera_code,
        "state": row.state,
        "since": row.since.isoformat(timespec="seconds"),
        "reason": row.reason or "",
        "recording": row.recording,
        "fps": row.fps,
        "resolution": f"{row.width}x{row.height}" if row.width else "",
        "codec": row.codec or "",
        "last_frame": row.last_frame_at.isoformat(timespec="seconds") if row.last_frame_at else "",
        "drops": row.drops,
        "lag_s": row.lag_s,
        "segments": row.segments,
        "restarts": row.restarts,
        "analysis": row.analysis or "off",
        "analysed_fps": row.analysed_fps or 0.0,
        "tracks": row.tracks or 0,
    }
