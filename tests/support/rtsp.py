"""A real RTSP server for tests, on 127.0.0.1: tests.support.rtsp_server run as a child process.

The server is vigil's own small RTSP/1.0 implementation (RTP over the RTSP TCP connection, RFC 2326 and
RFC 6184), so the tests need no Debian packages; PyAV's FFmpeg RTSP client is the real client under test.
``camera_clip`` re-encodes a shared video with a one-second keyframe interval, as CCTV cameras send.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RtspServer:
    port: int
    process: subprocess.Popen[bytes]

    def url(self, name: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def rtsp_server(
    streams: dict[str, Path],
    *,
    stall: dict[str, float] | None = None,
    garbage: tuple[str, ...] = (),
    switch: dict[str, Path] | None = None,
) -> Iterator[RtspServer]:
    """Serve each ``name -> H.264 file`` at rtsp://127.0.0.1:PORT/name, looped in real time, until the block ends;
    a stream in ``switch`` plays its file once and then the other file (e.g. another resolution), looped."""
    port = free_port()
    command = [sys.executable, "-m", "tests.support.rtsp_server", "--port", str(port)]
    command += [arg for name, path in streams.items() for arg in ("--stream", f"{name}={path}")]
    command += [arg for name, seconds in (stall or {}).items() for arg in ("--stall", f"{name}={seconds}")]
    command += [arg for name in garbage for arg in ("--garbage", name)]
    command += [arg for name, path in (switch or {}).items() for arg in ("--switch", f"{name}={path}")]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"the RTSP server did not start (exit code {process.poll()})")
        yield RtspServer(port, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def camera_clip(
    source: Path, dest: Path, *, gop: int = 10, max_frames: int | None = None, size: tuple[int, int] | None = None
) -> Path:
    """Re-encode ``source`` as H.264 (yuv420p) with a keyframe every ``gop`` frames (scaled to ``size``, width and
    height, if given), once per destination."""
    if dest.exists():
        return dest
    partial = dest.with_suffix(".partial.mp4")
    with av.open(str(source)) as src, av.open(str(partial), "w") as out:
        video = src.streams.video[0]
        rate = video.average_rate or 10
        stream = out.add_stream("libx264", rate=rate)
        width, height = size or (video.width, video.height)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "bf": "0", "sc_threshold": "0", "keyint_min": str(gop)}
        for index, frame in enumerate(src.decode(video)):
            if max_frames is not None and index >= max_frames:
                break
            picture = frame.reformat(width=width, height=height, format="yuv420p")
            picture.pts = None  # numbered afresh by the encoder at the stream's rate
            for packet in stream.encode(picture):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    partial.rename(dest)
    return dest


def wait_for(condition: object, *, timeout: float, every: float = 0.25, what: str = "condition") -> None:
    """Poll ``condition()`` until it is true, or fail naming ``what``."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
