"""The reader of one open view (run as ``python -m vigil.registry.viewer``): an owner's stream to JPEG pictures.

It reads the stream URL from its standard input (never its command line, which other users of the machine can
see), decodes about ``--fps`` pictures a second, scaled to at most 640 px, and replaces one JPEG file with each
(written aside and renamed, so a reader never sees half a picture). It records nothing. It stops at ``--seconds``,
when its parent process is gone, or when terminated; a dropped stream is reopened until then.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import av
import cv2

from vigil.registry.streams import MAX_SIDE, open_stream


def write_picture(frame: av.VideoFrame, target: Path) -> None:
    scale = min(1.0, MAX_SIDE / max(frame.width, frame.height))
    width, height = max(2, int(frame.width * scale) // 2 * 2), max(2, int(frame.height * scale) // 2 * 2)
    image = frame.reformat(width=width, height=height, format="bgr24").to_ndarray()
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if ok:
        partial = target.with_suffix(".partial")
        partial.write_bytes(data.tobytes())
        partial.replace(target)


def read(url: str, *, target: Path, fps: float, deadline: float, timeout_s: float) -> None:
    parent = os.getppid()
    every = 1.0 / fps
    while time.monotonic() < deadline and os.getppid() == parent:
        next_at = 0.0
        try:
            with open_stream(url, timeout_s=timeout_s) as container:
                for frame in container.decode(container.streams.video[0]):
                    now = time.monotonic()
                    if now >= deadline or os.getppid() != parent:
                        return
                    if now >= next_at:
                        write_picture(frame, target)
                        next_at = now + every
        except (av.FFmpegError, OSError, ValueError, IndexError):
            time.sleep(1.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--picture", type=Path, required=True, help="JPEG file each picture replaces")
    parser.add_argument("--fps", type=float, default=2.0, help="pictures a second")
    parser.add_argument("--seconds", type=float, required=True, help="stop after this long")
    parser.add_argument("--timeout", type=float, default=10.0, help="connect and read timeout (s)")
    args = parser.parse_args(argv)
    url = sys.stdin.readline().strip()
    deadline = time.monotonic() + args.seconds
    try:
        read(url, target=args.picture, fps=args.fps, deadline=deadline, timeout_s=args.timeout)
    finally:
        args.picture.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
