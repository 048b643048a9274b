"""What the live-camera benchmarks share: PETS09 re-encoded as a camera's stream at a chosen size, and the CPU time
of a worker process read from /proc."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
from bench._common import pets
from tests.support.rtsp import camera_clip

TICKS = os.sysconf("SC_CLK_TCK")


def pets_stream(dest: Path, seconds: float, *, size: tuple[int, int], bitrate: str) -> Path:
    """PETS09 scaled to ``size`` at 25 fps (each frame shown 2.5 times), H.264 with a 2 s keyframe interval."""
    if dest.exists():
        return dest
    small = camera_clip(pets() / "vtest.avi", dest.with_name("pets-small.mp4"))
    width, height = size
    with av.open(str(small)) as src, av.open(str(dest), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 50
        stream.options = {"preset": "ultrafast", "bf": "0", "sc_threshold": "0", "b": bitrate}
        decoded = [f.reformat(width=width, height=height, format="yuv420p") for f in src.decode(video=0)]
        for index in range(int(seconds * 25)):
            frame = decoded[int(index / 2.5) % len(decoded)]
            frame.pts, frame.time_base = index, Fraction(1, 25)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dest


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
