"""Checkpoint format of a :class:`~vigil.analysis.pipeline.TrackAnalyser`: one ``.npz`` archive, no pickle.

Entries: ``header`` (UTF-8 JSON: format, counters, each record's scalars), ``motion.background``,
``tracker`` (the tracker's own bytes) and ``record.<track id>.<field>`` arrays.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from vigil.analysis.summary import TrackRecord
from vigil.vision.track import ByteTracker

if TYPE_CHECKING:
    from vigil.analysis.pipeline import TrackAnalyser

FORMAT = "vigil-analyser/1"


def save_state(analyser: TrackAnalyser) -> bytes:
    """The analyser's whole state as bytes."""
    header: dict[str, Any] = {
        "format": FORMAT,
        "params": analyser.params.model_dump(mode="json"),
        "track_no": analyser.track_no,
        "detector_calls": analyser.detector_calls,
        "schedule": [analyser.scheduler.last_index, analyser.scheduler.idle_wait],
        "records": {},
    }
    arrays: dict[str, npt.NDArray[Any]] = {
        "tracker": np.frombuffer(analyser.tracker.to_bytes(), dtype=np.uint8),
    }
    arrays["sizing.heights"] = analyser.sizing.state()
    if analyser.motion is not None:
        arrays["motion.background"] = analyser.motion.state_arrays()["background"]
    for track_id, record in analyser.records.items():
        scalars, fields = record.to_state()
        header["records"][str(track_id)] = scalars
        arrays.update({f"record.{track_id}.{name}": value for name, value in fields.items()})
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def load_state(analyser: TrackAnalyser, data: bytes) -> None:
    """Restore ``analyser`` (built with the same setup and params) to a saved state."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop("header").tobytes().decode())
    if header.get("format") != FORMAT:
        raise ValueError(f"not a saved analysis state (format {header.get('format')!r})")
    # Validated rather than compared as saved: a checkpoint written before an option existed gets its default.
    saved = type(analyser.params).model_validate(header["params"])
    if saved != analyser.params:
        raise ValueError("the saved analysis state was made with different analysis parameters")
    analyser.track_no = int(header["track_no"])
    analyser.detector_calls = int(header["detector_calls"])
    analyser.scheduler.last_index, analyser.scheduler.idle_wait = (int(v) for v in header["schedule"])
    analyser.tracker = ByteTracker.from_bytes(arrays.pop("tracker").tobytes())
    heights = arrays.pop("sizing.heights", None)
    if heights is not None:
        analyser.sizing.load(heights)
    background = arrays.pop("motion.background", None)
    if analyser.motion is not None and background is not None:
        analyser.motion.load_state({"background": background})
    analyser.records = {}
    for key, scalars in header["records"].items():
        prefix = f"record.{key}."
        fields = {name[len(prefix) :]: value for name, value in arrays.items() if name.startswith(prefix)}
        analyser.records[int(key)] = TrackRecord.from_state(scalars, fields)
