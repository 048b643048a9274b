"""Short alert clips cut from a camera's recorded segments by stream copy (no re-encode).

A clip starts at the keyframe at or before the wanted start (so it decodes on its own) and runs to the wanted end,
across segment boundaries when the moment straddles two segments. Written under a temporary name and renamed when
complete, so a failed cut leaves nothing that looks like a clip.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.container import InputContainer, OutputContainer
from av.packet import Packet


class ClipFailed(Exception):
    """The recording could not be read or the clip not written."""


@dataclass(frozen=True)
class SegmentFile:
    path: Path
    started_at: datetime


def cut_clip(segments: list[SegmentFile], *, start: datetime, end: datetime, target: Path) -> float:
    """Copy the packets between ``start`` and ``end`` from ``segments`` (in time order) into ``target`` (MP4);
    return the clip's length in seconds. Raises ClipFailed when no packet falls in the window."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".partial-{target.name}")
    output: OutputContainer | None = None
    written, first_at, last_at = 0, None, None
    try:
        output = av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"})
        out_stream = None
        for segment in segments:
            with av.open(str(segment.path)) as source:
                assert isinstance(source, InputContainer)
                stream = source.streams.video[0]
                tb: Fraction = stream.time_base or Fraction(1, 90_000)
                if out_stream is None:
                    out_stream = output.add_stream_from_template(stream)
                pending: list[Packet[Any]] = []  # from the last keyframe before the start
                for packet in source.demux(stream):
                    if packet.pts is None or packet.size == 0:
                        continue
                    at = segment.started_at.timestamp() + float(packet.pts * tb)
                    if at > end.timestamp():
                        break
                    if first_at is None and at < start.timestamp():
                        pending = [packet] if packet.is_keyframe else ([*pending, packet] if pending else [])
                        continue
                    if first_at is None and packet.is_keyframe:
                        pending = []  # the window opens on a keyframe: start there
                    elif first_at is None and not pending:
                        continue  # a clip must open on a keyframe
                    for held in [*pending, packet]:
                        pts = held.pts or 0
                        if first_at is None:
                            first_at = segment.started_at.timestamp() + float(pts * tb)
                        offset = round((segment.started_at.timestamp() - first_at) / tb)
                        dts = held.dts if held.dts is not None else pts
                        held.pts, held.dts = pts + offset, dts + offset
                        held.stream = out_stream
                        output.mux(held)
                        written, last_at = written + 1, segment.started_at.timestamp() + float(pts * tb)
                    pending = []
        if written < 2 or first_at is None or last_at is None:
            raise ClipFailed("no recorded video covers the alert's moment")
        output.close()
        output = None
        os.replace(partial, target)
        return last_at - first_at
    except (OSError, av.FFmpegError, IndexError) as exc:
        raise ClipFailed(f"the clip could not be cut: {exc}") from exc
    finally:
        if output is not None:
            with contextlib.suppress(Exception):
                output.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
