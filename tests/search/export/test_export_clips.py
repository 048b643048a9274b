"""Cutting clips for evidence bundles: stream copies that keep the original's packets, from the keyframe at or
before the start; raw streams kept raw; a re-encode only when asked or needed; stills of the right frame."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import shared_data_dir
from vigil.search.export.clips import ClipError, cut_clip, frame_at

FPS, GOP, FRAMES = 10, 10, 80


def grey_video(path: Path, *, fmt: str | None = None) -> Path:
    """H.264 at 10 fps with a keyframe every 10 frames; frame k is a flat grey of level 2k (easy to identify)."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0", "bf": "2", "crf": "10"}
        for k in range(FRAMES):
            picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 2 * k + 20, np.uint8), format="rgb24")
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def levels(path: Path) -> list[int]:
    """The grey level of each decoded frame, in display order."""
    with av.open(str(path)) as container:
        return [round(float(f.to_ndarray(format="gray").mean())) for f in container.decode(video=0)]


def test_stream_copy_starts_at_the_keyframe_before_the_start_and_keeps_the_packets(tmp_path: Path) -> None:
    source = grey_video(tmp_path / "grey.mp4")
    clip = cut_clip(source, tmp_path / "clip", start_s=2.35, end_s=4.05)
    assert (clip.method, clip.codec, clip.container, clip.path.suffix) == ("stream copy", "h264", "mp4", ".mp4")
    assert clip.start_s == pytest.approx(2.0) and clip.end_s >= 4.1 - 1e-9  # keyframe at frame 20
    copied, original = packets(clip.path), packets(source)
    assert copied == original[20 : 20 + len(copied)]
    shown = levels(clip.path)
    expected = [2 * k + 20 for k in range(20, 42)]
    assert len(shown) >= len(expected)
    assert all(abs(a - b) <= 2 for a, b in zip(shown, expected, strict=False))  # frames 20.. in order, none lost


def test_a_codec_mp4_and_matroska_refuse_is_re_encoded_and_says_why(tmp_path: Path) -> None:
    """QuickTime Animation (qtrle) in a .mov goes into neither MP4 nor Matroska: the fallback re-encodes."""
    source = tmp_path / "animation.mov"
    with av.open(str(source), "w", format="mov") as out:
        stream = out.add_stream("qtrle", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        for k in range(30):
            picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * k + 20, np.uint8), format="rgb24")
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    clip = cut_clip(source, tmp_path / "clip", start_s=1.0, end_s=2.0)
    assert (clip.method, clip.codec, clip.container) == ("re-encode", "h264", "mp4")
    assert "'mp4' format does not support 'qtrle' codec" in clip.note and clip.note.startswith("Stream copy impossible")
    assert [abs(a - b) <= 3 for a, b in zip(levels(clip.path), range(60, 104, 4), strict=True)] == [True] * 11


def test_raw_h264_is_copied_raw(tmp_path: Path) -> None:
    source = grey_video(tmp_path / "grey.h264", fmt="h264")
    clip = cut_clip(source, tmp_path / "clip", start_s=0.0, end_s=1.0)
    assert (clip.method, clip.container, clip.path.suffix) == ("stream copy", "h264", ".h264")
    copied = packets(clip.path)
    assert copied == packets(source)[: len(copied)] and len(copied) >= 10


def test_a_re_encode_is_frame_exact_and_says_so(tmp_path: Path) -> None:
    source = grey_video(tmp_path / "grey.mp4")
    clip = cut_clip(source, tmp_path / "clip", start_s=2.35, end_s=4.05, stream_copy=False)
    assert clip.method == "re-encode" and "Re-encoded on request" in clip.note and clip.path.suffix == ".mp4"
    assert clip.start_s == pytest.approx(2.3) and clip.end_s == pytest.approx(4.1)  # frames 23 (on at 2.35) to 40
    assert [abs(a - b) <= 2 for a, b in zip(levels(clip.path), range(66, 102, 2), strict=True)] == [True] * 18


def test_still_frame_is_the_one_shown_at_that_time(tmp_path: Path) -> None:
    source = grey_video(tmp_path / "grey.mp4")
    for t, k in ((0.0, 0), (3.3, 33), (5.04, 50), (7.9, 79)):
        assert abs(round(float(frame_at(source, t).mean())) - (2 * k + 20)) <= 2, t


def test_bad_spans_and_files_are_clear_errors(tmp_path: Path) -> None:
    source = grey_video(tmp_path / "grey.mp4")
    with pytest.raises(ClipError, match="must end after it starts"):
        cut_clip(source, tmp_path / "clip", start_s=3.0, end_s=3.0)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ClipError, match="cannot be opened"):
        cut_clip(junk, tmp_path / "clip", start_s=0.0, end_s=1.0)
    with pytest.raises(ClipError, match=r"the frame at 1\.00 s could not be decoded"):
        frame_at(junk, 1.0)


@pytest.mark.data
@pytest.mark.parametrize(
    ("name", "span", "container"),
    [
        ("pets09-s2l1/vtest.avi", (30.0, 35.0), "avi"),
        ("intel-sample-videos/car-detection.mp4", (10.0, 12.0), "mp4"),
    ],
)
def test_real_footage_is_stream_copied(tmp_path: Path, name: str, span: tuple[float, float], container: str) -> None:
    source = shared_data_dir() / name
    if not source.exists():
        pytest.skip(f"{source} is not available")
    clip = cut_clip(source, tmp_path / "clip", start_s=span[0], end_s=span[1])
    assert clip.method == "stream copy" and clip.container == container
    assert clip.start_s <= span[0] and clip.end_s >= span[1]
    copied, original = packets(clip.path), packets(source)
    start = original.index(copied[0])
    assert original[start : start + len(copied)] == copied
    with av.open(str(clip.path)) as out:
        assert sum(1 for _ in out.decode(video=0)) == len(copied)
