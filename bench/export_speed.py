"""Evidence export speed on real footage: stream-copy cut vs re-encode, still extraction, bundle verification.

    .venv/bin/python -m bench.export_speed

For each shared video: a clip of its middle half cut by stream copy (what bundles use) and by re-encoding (the
fallback), with wall time and size; the time to decode one still at the middle; and the throughput of
``verify_bundle`` on a zip holding the stream-copied clip.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import av
from bench._common import shared_data

from vigil.search.export.bundle import file_sha256
from vigil.search.export.clips import cut_clip, frame_at
from vigil.search.export.manifest import FORMAT, MANIFEST_DIGEST, MANIFEST_JSON, digest_line, manifest_bytes
from vigil.search.export.verify import verify_bundle

T = TypeVar("T")
VIDEOS = (
    "pets09-s2l1/vtest.avi",
    "intel-sample-videos/car-detection.mp4",
    "intel-sample-videos/one-by-one-person-detection.mp4",
    "intel-sample-videos/person-bicycle-car-detection.mp4",
)


def duration_s(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return float((container.duration or 0) / 1_000_000)


def timed(action: Callable[[], T]) -> tuple[T, float]:
    began = time.perf_counter()
    result = action()
    return result, time.perf_counter() - began


def verify_speed(clip: Path, work: Path) -> tuple[float, float]:
    """Seconds to verify a bundle holding ``clip``, and MB/s."""
    bundle = work / "bundle.zip"
    manifest = {
        "format": FORMAT,
        "files": [{"path": "clips/" + clip.name, "sha256": file_sha256(clip), "size": clip.stat().st_size}],
        "audit": {"entries": [], "chain_head": {"seq": 0, "hash": "0" * 64}},
    }
    raw = manifest_bytes(manifest)
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.write(clip, "clips/" + clip.name)
        archive.writestr(MANIFEST_JSON, raw)
        archive.writestr(MANIFEST_DIGEST, digest_line(raw))
    report, seconds = timed(lambda: verify_bundle(bundle))
    assert report.ok, report.problems
    return seconds, bundle.stat().st_size / 1e6 / seconds


def main() -> None:
    print("| video | span s | copy ms | copy MB | copy starts | re-encode ms | re-encode MB | still ms | verify MB/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in VIDEOS:
        source = shared_data() / name
        if not source.exists():
            print(f"| {name} | (not available) |")
            continue
        length = duration_s(source)
        start, end = length / 4, 3 * length / 4
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            copy, copy_s = timed(lambda: cut_clip(source, work / "copy", start_s=start, end_s=end))  # noqa: B023
            encoded, encode_s = timed(
                lambda: cut_clip(source, work / "encoded", start_s=start, end_s=end, stream_copy=False)  # noqa: B023
            )
            _, still_s = timed(lambda: frame_at(source, length / 2))  # noqa: B023
            _, rate = verify_speed(copy.path, work)
            print(
                f"| {Path(name).name} | {end - start:.1f} | {copy_s * 1000:.0f} | {copy.path.stat().st_size / 1e6:.2f} "
                f"| {copy.start_s:.2f} (asked {start:.2f}) | {encode_s * 1000:.0f} "
                f"| {encoded.path.stat().st_size / 1e6:.2f} | {still_s * 1000:.0f} | {rate:.0f} |"
            )


if __name__ == "__main__":
    main()
