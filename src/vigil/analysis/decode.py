"""The analysis frame source: PyAV decoding in a background thread, feeding a bounded queue.

Decoding (FFmpeg's own threads, ``thread_type="AUTO"``) and the BGR conversion run while the analyser
works on the previous frames. To resume at frame k the frames before it are decoded but not converted
and skipped: decoding from the start is the only frame-exact way for every container (AVI has no
reliable timestamps to seek by, and open-GOP streams decode differently after a seek).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vigil.domain.detections import Frame
from vigil.footage.video import open_video

END = object()
"""Put on a frame queue after the last frame."""


def _decode(path: Path, start_index: int, out: queue.Queue[object], stop: threading.Event) -> None:
    try:
        with open_video(path) as video:
            stream = video.stream
            by_index = video.container.format.name == "avi" or stream.time_base is None
            time_base = float(stream.time_base or 0)
            frame_s = 1.0 / video.fps if video.fps > 0 else 0.0
            origin = stream.start_time
            for index, picture in enumerate(video.container.decode(stream)):
                if origin is None:
                    origin = picture.pts
                if index < start_index:
                    continue
                if by_index or picture.pts is None or origin is None:
                    t = index * frame_s
                else:
                    t = float((picture.pts - origin) * time_base)
                frame = Frame(np.asarray(picture.to_ndarray(format="bgr24"), dtype=np.uint8), t, index)
                if not put_unless_stopped(out, frame, stop):
                    return
        put_unless_stopped(out, END, stop)
    except Exception as exc:  # handed to the consuming thread, which re-raises it
        put_unless_stopped(out, exc, stop)


def put_unless_stopped(out: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def frames(path: Path, start_index: int = 0, *, queue_size: int = 8) -> Iterator[Frame]:
    """Frames ``start_index``, ``start_index + 1``, ... of the video at ``path`` (a ``FrameSource``).

    Timestamps are those of :meth:`vigil.footage.video.OpenVideo.frames` (by index for AVI, else the
    presentation time from the first frame), so a resumed analysis sees exactly the frames and times of an
    uninterrupted one.
    """
    out: queue.Queue[object] = queue.Queue(maxsize=max(1, queue_size))
    stop = threading.Event()
    worker = threading.Thread(target=_decode, args=(path, start_index, out, stop), name="vigil-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is END:
                return
            if isinstance(item, Exception):
                raise item
            assert isinstance(item, Frame)
            yield item
    finally:
        stop.set()
        worker.join(timeout=5.0)
