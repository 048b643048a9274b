"""Draft ground truth for a benchmark scene, to be checked and corrected by eye (see bench/data/README.md).

Drafting uses the strongest configuration available offline, far too slow for the pipeline: both shipped
detectors on every whole frame at full resolution (input = the frame's long side) with a low threshold; a box
is kept when one detector is confident (>= 0.5) or both agree (IoU >= 0.5, each >= 0.25). Boxes are linked
into tracks offline (Hungarian on IoU, gaps up to 1.5 s bridged by linear interpolation, tracks under 1 s
dropped). ``--render`` draws the draft on every Nth frame into contact sheets for review; corrections are
listed in ``bench/data/<video>.edits.json`` (tracks to delete, ids to merge, frame ranges to cut, regions to
ignore where a person is only partly in the frame) and applied by ``--apply``, which writes ``<video>.gt.txt``
and ``<video>.ignore.txt`` (``first,last,x0,y0,x1,y1``: hypotheses mostly inside are not scored).

Usage::

    python bench/_scene_gt.py VIDEO --frames N --out draft.txt            # detect + link (slow)
    python bench/_scene_gt.py VIDEO --frames N --render DIR --every 25    # contact sheets of the draft
    python bench/_scene_gt.py VIDEO --apply EDITS --draft draft.txt --out bench/data/NAME.gt.txt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vigil.analysis.decode import frames
from vigil.vision.detect import build_detector
from vigil.vision.nms import batched_nms, iou_matrix

F32 = npt.NDArray[np.float32]


def detect_all(video: Path, count: int) -> list[F32]:
    """Per frame, the ensemble's person boxes (x0, y0, x1, y1, score)."""
    nets = [build_detector(n, threads=2, score_threshold=0.25, classes=[0]) for n in ("nanodet", "centernet")]
    out: list[F32] = []
    for frame in frames(video, 0):
        if frame.index >= count:
            break
        side = max(frame.width, frame.height)
        found = [net.detect(frame.image, input_size=side) for net in nets]
        out.append(ensemble(found[0].xyxy, found[0].score, found[1].xyxy, found[1].score))
        if frame.index % 50 == 0:
            print(f"frame {frame.index}: {len(out[-1])} people", file=sys.stderr)
    return out


def ensemble(a: F32, sa: F32, b: F32, sb: F32) -> F32:
    boxes = np.concatenate([a, b]).astype(np.float32)
    scores = np.concatenate([sa, sb]).astype(np.float32)
    agree = np.zeros(len(boxes), dtype=bool)
    if len(a) and len(b):
        overlap = iou_matrix(a.astype(np.float32), b.astype(np.float32)) >= 0.5
        agree[: len(a)] = overlap.any(axis=1)
        agree[len(a) :] = overlap.any(axis=0)
    keep = (scores >= 0.5) | agree
    boxes, scores = boxes[keep], scores[keep]
    kept = batched_nms(boxes, scores, np.zeros(len(boxes), dtype=np.int32), 0.5)
    return np.column_stack([boxes[kept], scores[kept]]).astype(np.float32)


def link(per_frame: list[F32], fps: float) -> list[tuple[int, int, F32]]:
    """Offline tracks: rows (frame from 1, id, box)."""
    max_gap, min_len = round(1.5 * fps), round(1.0 * fps)
    tracks: list[dict[int, F32]] = []
    last_seen: list[int] = []
    for f, dets in enumerate(per_frame):
        active = [t for t in range(len(tracks)) if f - last_seen[t] <= max_gap]
        prev = np.array([tracks[t][last_seen[t]] for t in active], dtype=np.float32).reshape(-1, 4)
        used: set[int] = set()
        if len(active) and len(dets):
            iou = iou_matrix(prev, dets[:, :4])
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols, strict=True):
                if iou[r, c] >= 0.3:
                    tracks[active[r]][f] = dets[c, :4]
                    last_seen[active[r]] = f
                    used.add(int(c))
        for c in range(len(dets)):
            if c not in used:
                tracks.append({f: dets[c, :4]})
                last_seen.append(f)
    rows: list[tuple[int, int, F32]] = []
    number = 0
    for track in tracks:
        if len(track) < min_len:
            continue
        number += 1
        keys = sorted(track)
        for k0, k1 in zip(keys, [*keys[1:], keys[-1] + 1], strict=True):
            for f in range(k0, min(k1, keys[-1] + 1)):
                t = (f - k0) / max(k1 - k0, 1)
                box = track[k0] if f == k0 or k1 not in track else (1 - t) * track[k0] + t * track[k1]
                rows.append((f + 1, number, box))
    return rows


def write_mot(rows: list[tuple[int, int, F32]], path: Path) -> None:
    lines = [
        f"{f},{i},{b[0]:.1f},{b[1]:.1f},{b[2] - b[0]:.1f},{b[3] - b[1]:.1f},1,-1,-1,-1"
        for f, i, b in sorted(rows, key=lambda r: (r[0], r[1]))
    ]
    path.write_text("\n".join(lines) + "\n")


def read_mot(path: Path) -> list[tuple[int, int, F32]]:
    data = np.loadtxt(path, delimiter=",", ndmin=2)
    return [(int(r[0]), int(r[1]), np.array([r[2], r[3], r[2] + r[4], r[3] + r[5]], dtype=np.float32)) for r in data]


def apply_edits(rows: list[tuple[int, int, F32]], edits: dict[str, object]) -> list[tuple[int, int, F32]]:
    """``delete``: ids; ``merge``: [[keep, into_it], ...]; ``cut``: [[id, first, last], ...] frames removed."""
    delete = {int(i) for i in edits.get("delete", [])}  # type: ignore[attr-defined]
    merge = {int(b): int(a) for a, b in edits.get("merge", [])}  # type: ignore[attr-defined]
    cuts = [(int(i), int(a), int(b)) for i, a, b in edits.get("cut", [])]  # type: ignore[attr-defined]
    out = []
    for f, i, box in rows:
        if i in delete or any(i == c and a <= f <= b for c, a, b in cuts):
            continue
        out.append((f, merge.get(i, i), box))
    return out


def render(video: Path, rows: list[tuple[int, int, F32]], directory: Path, every: int, count: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tiles: list[npt.NDArray[np.uint8]] = []
    sheet = 0
    for frame in frames(video, 0):
        if frame.index >= count:
            break
        if frame.index % every:
            continue
        image = frame.image.copy()
        for f, i, b in rows:
            if f == frame.index + 1:
                p0, p1 = (int(b[0]), int(b[1])), (int(b[2]), int(b[3]))
                cv2.rectangle(image, p0, p1, (0, 255, 0), 2)
                cv2.putText(image, str(i), (p0[0], max(12, p0[1] - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2)
        cv2.putText(image, f"#{frame.index + 1}", (5, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 0, 0), 2)
        tiles.append(image)
        if len(tiles) == 6:
            sheet = _flush(tiles, directory, sheet)
    if tiles:
        _flush(tiles, directory, sheet)


def _flush(tiles: list[npt.NDArray[np.uint8]], directory: Path, sheet: int) -> int:
    while len(tiles) < 6:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.vstack([np.hstack(tiles[0:2]), np.hstack(tiles[2:4]), np.hstack(tiles[4:6])])
    cv2.imwrite(str(directory / f"sheet_{sheet:03d}.png"), cv2.resize(grid, None, fx=0.6, fy=0.6))
    tiles.clear()
    return sheet + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--frames", type=int, default=10**9)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--draft", type=Path)
    parser.add_argument("--render", type=Path)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--apply", type=Path)
    args = parser.parse_args()
    if args.apply:
        edits = json.loads(args.apply.read_text())
        write_mot(apply_edits(read_mot(args.draft), edits), args.out)
        ignore = edits.get("ignore", [])
        if ignore:
            lines = [",".join(str(int(v)) for v in region) for region in ignore]
            args.out.with_name(args.out.name.replace(".gt.txt", ".ignore.txt")).write_text("\n".join(lines) + "\n")
    elif args.render:
        render(args.video, read_mot(args.draft), args.render, args.every, args.frames)
    else:
        write_mot(link(detect_all(args.video, args.frames), args.fps), args.out)


if __name__ == "__main__":
    main()
